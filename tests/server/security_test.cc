// TLS, mutual TLS and bearer tokens on the real server (fake models), with
// certificates made by openssl for each run (tests/testing/make_certs.sh).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth.h"
#include "server/server.h"
#include "tests/server/local_client.h"
#include "tests/testing/fakes.h"

namespace lantern::server {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::lantern::client::Client;
using ::lantern::client::ClientOptions;
using ::lantern::testing::FakeDeps;
using ::lantern::testing::FakeModelState;
using ::lantern::testing::WriteModelDir;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// What an operator puts in the tokens file: sha256sum of the token.
std::string Digest(const std::string& token) {
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/token") << token;
  const std::string command = absl::StrCat(
      "sha256sum ", dir, "/token | cut -d' ' -f1 > ", dir, "/digest");
  EXPECT_EQ(std::system(command.c_str()), 0);
  std::string digest = ReadFile(dir + "/digest");
  while (!digest.empty() && digest.back() == '\n') digest.pop_back();
  return digest;
}

v1::ChatMessage Message(const std::string& id) {
  v1::ChatMessage message;
  message.set_id(id);
  message.set_text("hello there");
  return message;
}

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new std::string(::testing::TempDir() + "/lantern_certs");
    std::filesystem::create_directories(*certs_);
    const std::string command = absl::StrCat(
        LANTERN_TEST_SOURCE_DIR, "/testing/make_certs.sh ", *certs_);
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static void TearDownTestSuite() { delete certs_; }

  SecurityTest() : model_(std::make_shared<FakeModelState>()) {
    model_->logits = {2.0f, 0.0f};
    dir_ = WriteModelDir({{"only", {{"calm", 0.0f}, {"danger", 1.0f}}}});
  }

  static std::string Cert(const char* name) {
    return absl::StrCat(*certs_, "/", name);
  }

  void Start(ServerOptions options) {
    options.listen = "127.0.0.1:0";
    options.engine.model_dir = dir_;
    options.shutdown_grace = absl::ZeroDuration();
    auto server = Server::Create(options, FakeDeps(dir_, {{"only", model_}}));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->WaitForWarmup().ok());
  }

  ServerOptions TlsOptions() const {
    ServerOptions options;
    options.tls.cert = Cert("server.pem");
    options.tls.key = Cert("server.key");
    return options;
  }

  ClientOptions TlsClient(const char* ca = "ca.pem") const {
    ClientOptions options = LocalClient(server_->port(), absl::Seconds(5));
    options.tls.enabled = true;
    options.tls.root_certs_pem = ReadFile(Cert(ca));
    return options;
  }

  std::string WriteTokens(const std::string& lines) const {
    const std::string path = dir_ + "/tokens";
    std::ofstream(path) << lines;
    return path;
  }

  static std::string* certs_;
  std::shared_ptr<FakeModelState> model_;
  std::string dir_;
  std::unique_ptr<Server> server_;
};

std::string* SecurityTest::certs_ = nullptr;

TEST_F(SecurityTest, TlsServerAnswersTlsClientsAndRefusesPlaintext) {
  Start(TlsOptions());
  Client tls(TlsClient());
  auto analysis = tls.Analyze(Message("over-tls"));
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  EXPECT_EQ(analysis->message_id(), "over-tls");
  EXPECT_EQ(tls.CheckHealth().value(), HealthCheckResponse::SERVING);

  Client plaintext(LocalClient(server_->port(), absl::Seconds(5)));
  EXPECT_EQ(plaintext.Analyze(Message("plain")).status().code(),
            absl::StatusCode::kUnavailable);
  // A client that does not trust the server's CA does not get through.
  Client distrustful(TlsClient("other_ca.pem"));
  EXPECT_EQ(distrustful.Analyze(Message("other")).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(SecurityTest, MutualTlsRefusesClientsWithoutACertificate) {
  ServerOptions options = TlsOptions();
  options.tls.client_ca = Cert("ca.pem");
  Start(options);
  Client anonymous(TlsClient());
  EXPECT_EQ(anonymous.Analyze(Message("anon")).status().code(),
            absl::StatusCode::kUnavailable);

  ClientOptions with_cert = TlsClient();
  with_cert.tls.cert_chain_pem = ReadFile(Cert("client.pem"));
  with_cert.tls.private_key_pem = ReadFile(Cert("client.key"));
  Client known(with_cert);
  auto analysis = known.Analyze(Message("known"));
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  EXPECT_EQ(analysis->message_id(), "known");
}

TEST_F(SecurityTest, UnreadableCertificateIsInvalidArgumentAtCreate) {
  ServerOptions options = TlsOptions();
  options.tls.key = Cert("missing.key");
  options.listen = "127.0.0.1:0";
  options.engine.model_dir = dir_;
  auto server = Server::Create(options, FakeDeps(dir_, {{"only", model_}}));
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("--tls-key: cannot read"));
}

TEST_F(SecurityTest, AnalyzerCallsNeedAKnownTokenWhileHealthStaysOpen) {
  ServerOptions options;
  options.auth_tokens = WriteTokens(
      absl::StrCat("# callers\nbot ", Digest("s3cret-token"), "\n"));
  Start(options);
  ClientOptions anonymous = LocalClient(server_->port());
  Client no_token(anonymous);
  const absl::Status refused = no_token.Analyze(Message("a")).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(refused.message(), HasSubstr("requires a bearer token"));
  EXPECT_EQ(no_token.GetStatus().status().code(),
            absl::StatusCode::kUnauthenticated);
  auto stream = no_token.OpenStream();
  v1::StreamAnalyzeResponse response;
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(no_token.CheckHealth().value(), HealthCheckResponse::SERVING);

  ClientOptions wrong = anonymous;
  wrong.token = "not-the-token";
  const absl::Status unknown = Client(wrong).Analyze(Message("b")).status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(unknown.message(), Not(HasSubstr("not-the-token")));

  ClientOptions right = anonymous;
  right.token = "s3cret-token";
  Client bot(right);
  ASSERT_TRUE(bot.Analyze(Message("c")).ok());
  auto bot_stream = bot.OpenStream();
  ASSERT_TRUE(bot_stream->Write(Message("d")));
  ASSERT_TRUE(bot_stream->Write(Message("e")));
  bot_stream->WritesDone();
  int answers = 0;
  while (bot_stream->Read(&response)) ++answers;
  EXPECT_TRUE(bot_stream->Finish().ok());
  EXPECT_EQ(answers, 2);
  auto status = bot.GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->messages_by_caller().at("bot"), 3u);
  EXPECT_EQ(status->errors().at("UNAUTHENTICATED"), 4u);
}

TEST_F(SecurityTest, ReloadSwapsTokensAndKeepsThemWhenTheFileIsBad) {
  ServerOptions options;
  options.auth_tokens =
      WriteTokens(absl::StrCat("bot ", Digest("s3cret-token"), "\n"));
  Start(options);
  ClientOptions first = LocalClient(server_->port());
  first.token = "s3cret-token";
  ClientOptions second = first;
  second.token = "next-token";
  ASSERT_TRUE(Client(first).Analyze(Message("a")).ok());

  WriteTokens(absl::StrCat("pipeline ", Digest("next-token"), "\n"));
  ASSERT_TRUE(server_->ReloadAuthTokens().ok());
  EXPECT_EQ(Client(first).Analyze(Message("b")).status().code(),
            absl::StatusCode::kUnauthenticated);
  ASSERT_TRUE(Client(second).Analyze(Message("c")).ok());

  WriteTokens(
      "pipeline next-token\n");  // A token pasted in place of its digest.
  const absl::Status bad = server_->ReloadAuthTokens();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("tokens:1: expected '<caller> <sha256"));
  EXPECT_THAT(bad.message(), Not(HasSubstr("next-token")));
  EXPECT_TRUE(Client(second).Analyze(Message("d")).ok());
}

TEST(TokenAuthTest, BearerSchemeIsCaseInsensitiveAndOtherSchemesAreRefused) {
  const std::string path = ::testing::TempDir() + "/tokens_scheme";
  std::ofstream(path) << "bot " << Digest("s3cret-token") << "\n";
  auto auth = TokenAuth::Load(path);
  ASSERT_TRUE(auth.ok()) << auth.status();
  auto check = [&](const std::string& value) {
    std::multimap<grpc::string_ref, grpc::string_ref> metadata;
    metadata.emplace("authorization", value);
    return (*auth)->Authenticate(metadata);
  };
  EXPECT_EQ(check("Bearer s3cret-token").value(), "bot");
  EXPECT_EQ(check("bearer s3cret-token").value(), "bot");
  EXPECT_EQ(check("Basic s3cret-token").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(check("Bearer ").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(TokenAuth::Load(path + ".missing").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lantern::server
