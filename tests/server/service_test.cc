// The real server on a free port with the real default models, called
// through the real client library.
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/server/local_client.h"

namespace lantern::server {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::lantern::client::Client;
using ::lantern::client::ClientOptions;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kMaxChars = 500;

v1::ChatMessage Message(const std::string& id, const std::string& text) {
  v1::ChatMessage message;
  message.set_id(id);
  message.set_text(text);
  message.set_channel_id("c1");
  return message;
}

class ServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServerOptions options;
    options.shutdown_grace = absl::ZeroDuration();
    options.listen = "127.0.0.1:0";
    options.engine.model_dir = LANTERN_TEST_MODEL_DIR;
    options.engine.max_message_chars = kMaxChars;
    auto server = Server::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    ASSERT_TRUE(server_->WaitForWarmup().ok());
    client_ = new Client(LocalClient(server_->port()));
  }
  static void TearDownTestSuite() {
    delete client_;
    delete server_;
  }
  static std::string target() {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  static Server* server_;
  static Client* client_;
};

Server* ServiceTest::server_ = nullptr;
Client* ServiceTest::client_ = nullptr;

TEST_F(ServiceTest, HealthIsServingForServerAndService) {
  EXPECT_EQ(client_->CheckHealth("").value(), HealthCheckResponse::SERVING);
  EXPECT_EQ(client_->CheckHealth("lantern.v1.Analyzer").value(),
            HealthCheckResponse::SERVING);
}

TEST_F(ServiceTest, PlainlyCriticalMessageIsHighOrCritical) {
  auto analysis = client_->Analyze(
      Message("m1", "I have the pills and I'm doing it tonight"));
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  EXPECT_EQ(analysis->message_id(), "m1");
  EXPECT_GE(analysis->level(), v1::CRISIS_LEVEL_HIGH);
  EXPECT_TRUE(analysis->requires_review());
  EXPECT_GE(analysis->score(), 0.5f);
  EXPECT_FALSE(analysis->degraded());
  EXPECT_GT(analysis->processing_time_us(), 0);
  EXPECT_THAT(analysis->recommended_action(), HasSubstr("Crisis team"));
  ASSERT_GE(analysis->signals_size(), 2);
  for (const auto& signal : analysis->signals()) {
    EXPECT_FALSE(signal.model().empty());
    EXPECT_FALSE(signal.version().empty());
    EXPECT_GT(signal.label_probability(), 0.0f);
  }
  ASSERT_FALSE(analysis->key_factors().empty());
  for (const std::string& factor : analysis->key_factors()) {
    EXPECT_THAT(factor, Not(HasSubstr("pills")));
  }
}

TEST_F(ServiceTest, GamingQuestionIsNone) {
  auto analysis =
      client_->Analyze(Message("m2", "what time is the raid tonight?"));
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  EXPECT_EQ(analysis->level(), v1::CRISIS_LEVEL_NONE);
  EXPECT_FALSE(analysis->requires_review());
  EXPECT_EQ(analysis->recommended_action(), "No action needed.");
}

TEST_F(ServiceTest, MissingMessageIsInvalidArgument) {
  auto stub = v1::Analyzer::NewStub(
      grpc::CreateChannel(target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::AnalyzeRequest request;
  v1::AnalyzeResponse response;
  const grpc::Status status = stub->Analyze(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "request.message is required");
}

TEST_F(ServiceTest, BadTextGetsInvalidArgumentThatNamesTheProblem) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"", "message.text is empty"},
      {"   \t \n  ", "no visible characters"},
      {std::string(kMaxChars + 1, 'x'),
       "501 characters long; the limit is 500"},
      // Raw invalid bytes: proto2 lets them through to the server.
      {"private words \xC3\x28 more", "message.text is not valid UTF-8"},
  };
  for (const Case& c : cases) {
    auto analysis = client_->Analyze(Message("bad", c.text));
    EXPECT_EQ(analysis.status().code(), absl::StatusCode::kInvalidArgument)
        << c.expected;
    EXPECT_THAT(analysis.status().message(), HasSubstr(c.expected));
    EXPECT_THAT(analysis.status().message(), Not(HasSubstr("private")));
  }
  // The server is unaffected.
  EXPECT_TRUE(client_->Analyze(Message("ok", "good morning everyone")).ok());
}

TEST_F(ServiceTest, StreamAnswersEveryMessageOnceWithMatchingIds) {
  constexpr int kMessages = 100;
  auto stream = client_->OpenStream();
  std::thread writer([&] {
    for (int i = 0; i < kMessages; ++i) {
      ASSERT_TRUE(stream->Write(
          Message(absl::StrCat("s", i), i % 2 ? "gg that match was close"
                                              : "i feel so alone lately")));
    }
    stream->WritesDone();
  });
  std::set<std::string> ids;
  std::set<uint64_t> sequences;
  v1::StreamAnalyzeResponse response;
  int answers = 0;
  while (stream->Read(&response)) {
    ++answers;
    EXPECT_TRUE(response.has_analysis()) << response.error().message();
    EXPECT_EQ(response.analysis().message_id(), response.message_id());
    EXPECT_TRUE(ids.insert(response.message_id()).second) << "answered twice";
    EXPECT_TRUE(sequences.insert(response.sequence()).second);
    EXPECT_EQ(response.message_id(), absl::StrCat("s", response.sequence()));
  }
  writer.join();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answers, kMessages);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kMessages));
}

TEST_F(ServiceTest, StreamBadMessagesGetPerMessageErrorsAndStreamContinues) {
  auto stream = client_->OpenStream();
  ASSERT_TRUE(stream->Write(Message("g1", "good luck on your exam")));
  ASSERT_TRUE(stream->Write(Message("b1", "")));
  ASSERT_TRUE(stream->Write(Message("g2", "see you at practice")));
  ASSERT_TRUE(stream->Write(Message("b2", "oops \xFF")));
  ASSERT_TRUE(stream->Write(Message("g3", "thanks for the help")));
  ASSERT_TRUE(stream->WritesDone());
  std::map<std::string, v1::StreamAnalyzeResponse> by_id;
  v1::StreamAnalyzeResponse response;
  while (stream->Read(&response)) by_id[response.message_id()] = response;
  EXPECT_TRUE(stream->Finish().ok());
  ASSERT_EQ(by_id.size(), 5u);
  for (const char* id : {"g1", "g2", "g3"})
    EXPECT_TRUE(by_id[id].has_analysis()) << id;
  EXPECT_EQ(by_id["b1"].error().code(),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(by_id["b1"].error().message(), "message.text is empty");
  EXPECT_EQ(by_id["b1"].sequence(), 1u);
  EXPECT_EQ(by_id["b2"].error().code(),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(by_id["b2"].error().message(), HasSubstr("not valid UTF-8"));
}

TEST_F(ServiceTest, ClientCancelMidStreamLeavesServerServing) {
  auto stream = client_->OpenStream();
  for (int i = 0; i < 40; ++i) {
    if (!stream->Write(
            Message(absl::StrCat("c", i), "is anyone online right now")))
      break;
  }
  v1::StreamAnalyzeResponse response;
  ASSERT_TRUE(stream->Read(&response));
  stream->Cancel();
  while (stream->Read(&response)) {
  }
  EXPECT_EQ(stream->Finish().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(client_->Analyze(Message("after", "still there?")).ok());
  // The server closes its side once in-flight work returns.
  int active = -1;
  for (int i = 0; i < 500 && active != 0; ++i) {
    active = client_->GetStatus().value().active_streams();
    if (active != 0) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(active, 0);
}

TEST_F(ServiceTest, ConcurrentCallersAreAllAnswered) {
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (client_
                ->Analyze(
                    Message(absl::StrCat(t, "-", i), "anyone up for ranked?"))
                .ok()) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(ok.load(), 100);
}

TEST_F(ServiceTest, GetStatusReportsWarmModelsAndCounters) {
  ASSERT_TRUE(client_->Analyze(Message("s1", "hello")).ok());
  ASSERT_TRUE(
      client_->Analyze(Message("s1-again", "hello")).ok());  // a cache hit
  ASSERT_FALSE(client_->Analyze(Message("s2", "")).ok());
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->version(), ServerVersion());
  EXPECT_TRUE(status->ready());
  EXPECT_FALSE(status->draining());
  EXPECT_GT(status->started_at().seconds(), 0);
  EXPECT_GT(status->startup_time_us(), 0);
  EXPECT_GE(status->requests_served(), 1u);
  EXPECT_GE(status->errors().at("INVALID_ARGUMENT"), 1u);
  EXPECT_EQ(status->worker_threads(),
            2 * status->models_size());  // 2 handles each
  EXPECT_EQ(status->torch_threads(), 1);
  EXPECT_THAT(status->blas(), HasSubstr("blas"));
  EXPECT_FALSE(status->blas_is_reference());  // setup installs OpenBLAS
  EXPECT_EQ(status->cache().capacity(), 16384u);
  EXPECT_GE(status->cache().hits(), 1u);
  ASSERT_GE(status->models_size(), 2);
  int64_t queued_us = 0;
  for (const v1::ModelStatus& model : status->models()) {
    EXPECT_TRUE(model.loaded()) << model.name();
    EXPECT_TRUE(model.warmed()) << model.name();
    EXPECT_GT(model.warmup_time_us(), 0);
    EXPECT_GE(model.handles(), 1);
    EXPECT_GE(model.inferences(), 1u);
    EXPECT_GE(model.batches(), 1u);
    EXPECT_LE(model.batches(), model.inferences());
    // Real forward passes take time.
    EXPECT_GT(model.compute_time_us(), 0) << model.name();
    queued_us += model.queue_time_us();
    EXPECT_EQ(model.failures(), 0u);
    EXPECT_EQ(model.error(), "");
  }
  // A message alone runs its slowest model on the receiving thread (no
  // wait) and hands the others to runner threads, which takes time.
  EXPECT_GT(queued_us, 0);
}

}  // namespace
}  // namespace lantern::server
