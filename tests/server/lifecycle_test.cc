// Server start-up, warm-up and draining, with fake models so each phase can
// be held open on demand.
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

class LifecycleTest : public ::testing::Test {
 protected:
  LifecycleTest() : model_(std::make_shared<FakeModelState>()) {
    model_->logits = {2.0f, 0.0f};
    dir_ = WriteModelDir({{"only", {{"calm", 0.0f}, {"danger", 1.0f}}}});
  }

  std::unique_ptr<Server> Start(int drain_timeout_ms = 10000, int max_batch = 8,
                                int shutdown_grace_ms = 0,
                                int max_streams = 256) {
    ServerOptions options;
    options.shutdown_grace = absl::Milliseconds(shutdown_grace_ms);
    options.streams.max_streams = max_streams;
    options.engine.batching.max_batch = max_batch;
    options.listen = "127.0.0.1:0";
    options.engine.model_dir = dir_;
    options.drain_timeout = absl::Milliseconds(drain_timeout_ms);
    auto server = Server::Create(options, FakeDeps(dir_, {{"only", model_}}));
    EXPECT_TRUE(server.ok()) << server.status();
    return *std::move(server);
  }

  static std::unique_ptr<Client> Connect(const Server& server) {
    return std::make_unique<Client>(LocalClient(server.port()));
  }

  std::shared_ptr<FakeModelState> model_;
  std::string dir_;
};

TEST_F(LifecycleTest, CallBeforeWarmUpIsUnavailableAndHealthNotServing) {
  absl::Notification release;
  model_->block_load = &release;
  auto server = Start();
  auto client = Connect(*server);
  EXPECT_EQ(client->CheckHealth().value(), HealthCheckResponse::NOT_SERVING);
  auto early = client->Analyze(TextMessage("e", "hello"));
  EXPECT_EQ(early.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(early.status().message(), HasSubstr("warming up"));
  auto status = client->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->ready());
  EXPECT_FALSE(status->models(0).warmed());

  release.Notify();
  ASSERT_TRUE(server->WaitForWarmup().ok());
  EXPECT_EQ(client->CheckHealth().value(), HealthCheckResponse::SERVING);
  auto analysis = client->Analyze(TextMessage("l", "hello"));
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  EXPECT_EQ(analysis->level(), v1::CRISIS_LEVEL_NONE);
}

TEST_F(LifecycleTest, ClientRetriesRefusalsDuringWarmUp) {
  // The refusal ends the call before any response header, so gRPC may retry
  // it (a call that had received headers could not be).
  absl::Notification release;
  model_->block_load = &release;
  auto server = Start();
  ClientOptions options = LocalClient(server->port());
  options.max_attempts = 3;
  Client client(options);
  auto early = client.Analyze(TextMessage("e", "hello"));
  EXPECT_EQ(early.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(early.status().message(), HasSubstr("warming up"));
  const auto status = client.GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->errors().at("UNAVAILABLE"), 3u);
  release.Notify();
  ASSERT_TRUE(server->WaitForWarmup().ok());
}

TEST_F(LifecycleTest, WarmUpFailureEndsRunWithTheError) {
  model_->load_error = absl::InvalidArgumentError("broken model file");
  auto server = Start();
  EXPECT_EQ(server->WaitForWarmup().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server->Run().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(LifecycleTest, ExpiredDeadlineIsDeadlineExceededAndNeverComputed) {
  // Two handles, one message per forward pass: two slow calls occupy both.
  auto server = Start(/*drain_timeout_ms=*/10000, /*max_batch=*/1);
  ASSERT_TRUE(server->WaitForWarmup().ok());
  auto client = Connect(*server);
  const int warm_calls = model_->forward_calls.load();
  model_->forward_delay_ms = 500;
  // Occupy both workers so the short call has to wait in the queue.
  std::vector<std::thread> slow;
  for (int i = 0; i < 2; ++i) {
    slow.emplace_back([&, i] {
      EXPECT_TRUE(
          client->Analyze(TextMessage("slow", absl::StrCat("slow ", i))).ok());
    });
  }
  while (model_->concurrent.load() < 2) absl::SleepFor(absl::Milliseconds(1));
  // 100 ms: enough to reach the server, not to wait out a slow call.
  auto hurried = client->Analyze(TextMessage("hurried", "hurried"),
                                 absl::Milliseconds(100));
  EXPECT_EQ(hurried.status().code(), absl::StatusCode::kDeadlineExceeded);
  for (auto& t : slow) t.join();
  model_->forward_delay_ms = 0;
  // The server keeps serving, and the expired message was dropped, not
  // computed: only the two slow calls and this one reached the model.
  EXPECT_TRUE(client->Analyze(TextMessage("after", "after")).ok());
  EXPECT_EQ(model_->forward_calls.load() - warm_calls, 3);
  auto status = client->GetStatus();
  ASSERT_TRUE(status.ok());
  const auto expired = status->errors().find("DEADLINE_EXCEEDED");
  ASSERT_NE(expired, status->errors().end()) << "the server never saw it";
  EXPECT_EQ(expired->second, 1u);
}

TEST_F(LifecycleTest, ShutdownLetsCallsInFlightFinish) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForWarmup().ok());
  auto client = Connect(*server);
  model_->forward_delay_ms = 300;
  absl::StatusOr<v1::Analysis> in_flight = absl::UnknownError("not run");
  std::thread caller(
      [&] { in_flight = client->Analyze(TextMessage("slow", "hello")); });
  // Wait until the call is being computed, then drain.
  while (model_->concurrent.load() == 0) absl::SleepFor(absl::Milliseconds(1));
  server->Shutdown();
  caller.join();
  EXPECT_TRUE(in_flight.ok()) << in_flight.status();
  // The port is closed: the client cannot connect.
  EXPECT_EQ(client->Analyze(TextMessage("late", "hello"), absl::Seconds(2))
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(LifecycleTest,
       GracePeriodAnswersHealthAndRefusesCallsBeforeThePortCloses) {
  auto server = Start(/*drain_timeout_ms=*/10000, /*max_batch=*/8,
                      /*shutdown_grace_ms=*/60000);
  ASSERT_TRUE(server->WaitForWarmup().ok());
  auto client = Connect(*server);
  ASSERT_TRUE(client->Analyze(TextMessage("before", "hello")).ok());
  std::thread stopper([&] { server->Shutdown(); });
  // Health turns NOT_SERVING while the port is open, and stays so.
  absl::StatusOr<HealthCheckResponse::ServingStatus> health;
  do {
    health = client->CheckHealth("");
    ASSERT_TRUE(health.ok()) << health.status();
  } while (*health == HealthCheckResponse::SERVING);
  EXPECT_EQ(*health, HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(client->CheckHealth("lantern.v1.Analyzer").value(),
            HealthCheckResponse::NOT_SERVING);
  // A new call is answered, with UNAVAILABLE, not refused by the transport.
  auto late = client->Analyze(TextMessage("late", "hello"));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(late.status().message(), HasSubstr("shutting down"));
  auto stream = client->OpenStream();
  v1::StreamAnalyzeResponse response;
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish().code(), absl::StatusCode::kUnavailable);
  // A second request (a second SIGTERM) ends the 60 s grace period early.
  server->RequestShutdown();
  stopper.join();
  EXPECT_EQ(client->CheckHealth("").status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(LifecycleTest,
       StreamsPastTheLimitGetResourceExhaustedAndCountAgainWhenClosed) {
  auto server = Start(/*drain_timeout_ms=*/10000, /*max_batch=*/8,
                      /*shutdown_grace_ms=*/0, /*max_streams=*/2);
  ASSERT_TRUE(server->WaitForWarmup().ok());
  auto client = Connect(*server);
  v1::StreamAnalyzeResponse response;
  auto first = client->OpenStream();
  auto second = client->OpenStream();
  for (auto* stream : {first.get(), second.get()}) {
    ASSERT_TRUE(stream->Write(TextMessage("open", "hello")));
    ASSERT_TRUE(stream->Read(&response));  // Both are registered now.
  }
  auto third = client->OpenStream();
  EXPECT_FALSE(third->Read(&response));
  const absl::Status refused = third->Finish();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("2 streams open"));
  EXPECT_EQ(client->GetStatus()->errors().at("RESOURCE_EXHAUSTED"), 1u);

  first->WritesDone();
  EXPECT_FALSE(first->Read(&response));
  EXPECT_TRUE(first->Finish().ok());
  // The server frees the slot before it ends the call, so it is free by the
  // time the client sees the end.
  EXPECT_EQ(client->GetStatus()->active_streams(), 1);
  auto fourth = client->OpenStream();
  ASSERT_TRUE(fourth->Write(TextMessage("again", "hello")));
  ASSERT_TRUE(fourth->Read(&response));
  EXPECT_EQ(response.message_id(), "again");
}

TEST_F(LifecycleTest, DrainEndsOpenStreamWithUnavailableAfterAnsweringIt) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForWarmup().ok());
  auto client = Connect(*server);
  auto stream = client->OpenStream();
  ASSERT_TRUE(stream->Write(TextMessage("a", "hello")));
  v1::StreamAnalyzeResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.message_id(), "a");
  EXPECT_TRUE(response.has_analysis());

  std::thread drainer([&] { server->Shutdown(); });
  EXPECT_FALSE(stream->Read(&response));
  const absl::Status status = stream->Finish();
  drainer.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("shutting down"));
}

TEST_F(LifecycleTest, DrainEndsHealthWatchInsteadOfWaitingOutTheTimeout) {
  auto server = Start(/*drain_timeout_ms=*/60000);
  ASSERT_TRUE(server->WaitForWarmup().ok());
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port()),
                          grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  auto watch = stub->Watch(&context, request);
  grpc::health::v1::HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);

  std::thread drainer([&] { server->Shutdown(); });
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  while (watch->Read(&update)) {
  }
  const grpc::Status status = watch->Finish();
  drainer.join();
  // Ended by the drain itself, not cancelled when the 60 s timeout ran out.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "server is shutting down");
}

TEST_F(LifecycleTest, HealthFollowsTheHealthProtocolForUnknownServices) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForWarmup().ok());
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port()),
                          grpc::InsecureChannelCredentials()));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("no.such.Service");
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext check_context;
  const grpc::Status check = stub->Check(&check_context, request, &response);
  EXPECT_EQ(check.error_code(), grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext watch_context;
  auto watch = stub->Watch(&watch_context, request);
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  watch_context.TryCancel();
  while (watch->Read(&response)) {
  }
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(LifecycleTest, RequestShutdownMakesRunReturnOk) {
  auto server = Start();
  ASSERT_TRUE(server->WaitForWarmup().ok());
  std::thread stopper([&] { server->RequestShutdown(); });
  EXPECT_TRUE(server->Run().ok());
  stopper.join();
}

}  // namespace
}  // namespace lantern::server
