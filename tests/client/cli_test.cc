#include "client/cli.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseStreamLineTest, AcceptsRequestAndBareMessage) {
  auto request = ParseStreamLine(
      R"({"message": {"id": "m1", "text": "hi", "channel_id": "c"}})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->id(), "m1");
  EXPECT_EQ(request->text(), "hi");
  EXPECT_EQ(request->channel_id(), "c");
  auto bare = ParseStreamLine(
      R"({"id": "m2", "text": "yo", "sentAt": "2026-01-02T03:04:05Z"})");
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(bare->id(), "m2");
  EXPECT_EQ(bare->sent_at().seconds(), 1767323045);
}

TEST(ParseStreamLineTest, RejectsBrokenJsonAndUnknownFieldsWithoutQuotingText) {
  for (const char* line :
       {R"({"id": "m1", "text": "secret stuff")",
        R"({"id": "m1", "txet": "secret stuff"})", "[1, 2]"}) {
    auto parsed = ParseStreamLine(line);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << line;
    EXPECT_THAT(parsed.status().message(), Not(HasSubstr("secret")));
  }
}

TEST(StreamLineErrorJsonTest, NamesTheLineAndCode) {
  const std::string json =
      StreamLineErrorJson(7, absl::InvalidArgumentError("bad json"));
  EXPECT_THAT(json, HasSubstr(R"("line":7)"));
  EXPECT_THAT(json, HasSubstr(R"("code":3)"));
  EXPECT_THAT(json, HasSubstr("line 7 is not a valid message: bad json"));
}

TEST(RunCliTest, UnknownCommandIsUsageErrorWithExitCode2) {
  const char* argv[] = {"lantern", "frobnicate"};
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(RunCli(2, argv, "127.0.0.1:1", in, out, err), kExitUsage);
  EXPECT_THAT(err.str(), HasSubstr("frobnicate"));
}

TEST(RunCliTest, UnreachableServerIsExitCode1WithCodeName) {
  const char* argv[] = {"lantern", "--timeout-ms", "2000", "analyze", "hello"};
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(RunCli(5, argv, "127.0.0.1:1", in, out, err), kExitFailure);
  EXPECT_THAT(err.str(), HasSubstr("error: UNAVAILABLE"));
  EXPECT_EQ(out.str(), "");
}

TEST(ParseCommandLineTest, TlsAndTokenFilesAreRead) {
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/ca.pem") << "CA PEM";
  std::ofstream(dir + "/token") << "  tok-123\n";
  const std::string ca = dir + "/ca.pem", token = dir + "/token";
  const char* argv[] = {"lantern",          "--tls-ca",    ca.c_str(),
                        "--token-file",     token.c_str(), "--tls-server-name",
                        "lantern.internal", "health"};
  auto parsed = ParseCommandLine(8, argv, "127.0.0.1:1");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->client.tls.enabled);
  EXPECT_EQ(parsed->client.tls.root_certs_pem, "CA PEM");
  EXPECT_EQ(parsed->client.tls.server_name, "lantern.internal");
  EXPECT_EQ(parsed->client.token, "tok-123");
}

TEST(ParseCommandLineTest, BadSecurityOptionsAreUsageErrors) {
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/two_tokens") << "one two\n";
  const std::string missing = dir + "/missing.pem", two = dir + "/two_tokens";
  struct Case {
    std::vector<const char*> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"lantern", "--tls-ca", missing.c_str(), "health"},
       "--tls-ca: cannot read"},
      {{"lantern", "--tls-cert", missing.c_str(), "health"},
       "--tls-cert and --tls-key go together"},
      {{"lantern", "--token-file", two.c_str(), "health"},
       "one token on one line"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseCommandLine(static_cast<int>(c.args.size()),
                                   c.args.data(), "127.0.0.1:1");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << c.expected;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.expected));
    EXPECT_THAT(parsed.status().message(), Not(HasSubstr("two")));
  }
}

TEST(ParseCommandLineTest, MaxAttemptsIsCheckedAndLandsInTheClient) {
  const char* three[] = {"lantern", "--max-attempts", "3", "status"};
  auto parsed = ParseCommandLine(4, three, "127.0.0.1:1");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->client.max_attempts, 3);
  const char* none[] = {"lantern", "status"};
  parsed = ParseCommandLine(2, none, "127.0.0.1:1");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->client.max_attempts, ClientOptions::kMaxCallAttempts);
  for (const char* bad : {"0", "6"}) {
    const char* argv[] = {"lantern", "--max-attempts", bad, "status"};
    parsed = ParseCommandLine(4, argv, "127.0.0.1:1");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(),
              absl::StrCat("--max-attempts must be from 1 to 5, got ", bad));
  }
}

}  // namespace
}  // namespace lantern::client
