// Refusals over capacity carry gRPC's retry pushback (gRFC A6): trailing
// metadata grpc-retry-pushback-ms on RESOURCE_EXHAUSTED for --max-streams
// and --max-queue; and ReliableStream retries a RESOURCE_EXHAUSTED only when
// it carries one. Real servers on real ports, fake models, the real client.
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "client/client.h"
#include "client/reliable_stream.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/server/local_client.h"
#include "tests/server/reliable_stream_testing.h"
#include "tests/testing/fakes.h"

namespace lantern::server {
namespace {

using ::lantern::client::AnalyzeStream;
using ::lantern::client::Client;
using ::lantern::client::ReliableStream;
using ::lantern::client::ReliableStreamOptions;
using ::lantern::client::RetryPushback;
using ::lantern::client::StreamAnswer;
using ::lantern::testing::FakeDeps;
using ::lantern::testing::FakeModelState;
using ::lantern::testing::WriteModelDir;
using ::testing::HasSubstr;

// The pushback the server sends, as the wire carries it.
constexpr absl::Duration kPushback = absl::Milliseconds(1000);

class RetryPushbackTest : public ::testing::Test {
 protected:
  RetryPushbackTest()
      : dir_(WriteModelDir({{"only", {{"calm", 0.0f}, {"danger", 1.0f}}}})),
        model_(std::make_shared<FakeModelState>()) {
    model_->logits = {2.0f, 0.0f};
  }

  // A SERVING server on any port. With a batch delay, models never run on
  // gRPC's threads, so a closed gate cannot block the server's callbacks.
  std::unique_ptr<Server> Start(int max_streams = 256, int max_queue = 1024) {
    ServerOptions options;
    options.engine.batching.max_delay = absl::Microseconds(100);
    options.listen = "127.0.0.1:0";
    options.engine.model_dir = dir_;
    options.engine.max_queue = max_queue;
    options.shutdown_grace = absl::ZeroDuration();
    options.streams.max_streams = max_streams;
    auto server = Server::Create(options, FakeDeps(dir_, {{"only", model_}}));
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    EXPECT_TRUE((*server)->WaitForWarmup().ok());
    return *std::move(server);
  }

  // A stream that holds one slot of --max-streams: the server has answered
  // on it, so it is registered.
  static std::unique_ptr<AnalyzeStream> HoldSlot(Client& client) {
    auto holder = client.OpenStream();
    v1::StreamAnalyzeResponse response;
    EXPECT_TRUE(holder->Write(TextMessage("holder", "hello")));
    EXPECT_TRUE(holder->Read(&response));
    return holder;
  }

  // Half-closes `holder` and reads it to its end: its slot is free after.
  static void Release(AnalyzeStream& holder) {
    v1::StreamAnalyzeResponse response;
    EXPECT_TRUE(holder.WritesDone());
    EXPECT_FALSE(holder.Read(&response));
    EXPECT_TRUE(holder.Finish().ok());
  }

  // Waits until the server has refused `count` calls with
  // RESOURCE_EXHAUSTED.
  static void AwaitRefusals(Client& client, uint64_t count) {
    while (true) {
      const auto status = client.GetStatus();
      ASSERT_TRUE(status.ok()) << status.status();
      const auto it = status->errors().find("RESOURCE_EXHAUSTED");
      if (it != status->errors().end() && it->second >= count) return;
      absl::SleepFor(absl::Milliseconds(1));
    }
  }

  std::string dir_;
  std::shared_ptr<FakeModelState> model_;
};

TEST_F(RetryPushbackTest, StreamRefusedOverMaxStreamsCarriesThePushback) {
  auto server = Start(/*max_streams=*/1);
  ASSERT_NE(server, nullptr);
  Client client(LocalClient(server->port()));
  auto holder = HoldSlot(client);
  auto refused = client.OpenStream();
  v1::StreamAnalyzeResponse response;
  EXPECT_FALSE(refused->Read(&response));
  const absl::Status status = refused->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(),
            "server has 1 streams open, its limit; retry with backoff");
  EXPECT_EQ(refused->retry_pushback(), std::optional(kPushback));
  Release(*holder);
  EXPECT_EQ(holder->retry_pushback(), std::nullopt);  // Ended OK: no hint.
}

TEST_F(RetryPushbackTest, AnalyzeRefusedForAFullQueueCarriesThePushback) {
  auto server = Start(/*max_streams=*/256, /*max_queue=*/1);
  ASSERT_NE(server, nullptr);
  absl::Notification gate;
  model_->gate = &gate;
  Client client(LocalClient(server->port()));
  absl::Status first = absl::UnknownError("not finished");
  std::thread holder([&] {
    first = client.Analyze(TextMessage("first", "hello there")).status();
  });
  while (model_->at_gate.load() == 0) absl::SleepFor(absl::Milliseconds(1));
  // With the retry policy in the path, as shipped: RESOURCE_EXHAUSTED is
  // not retried, and its pushback still reaches the caller.
  client::ClientOptions retrying = LocalClient(server->port());
  retrying.max_attempts = client::ClientOptions::kMaxCallAttempts;
  const absl::Status refused =
      Client(retrying).Analyze(TextMessage("second", "another text")).status();
  gate.Notify();
  holder.join();
  EXPECT_EQ(client.GetStatus()->errors().at("RESOURCE_EXHAUSTED"), 1u);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.message(),
            "server is at capacity (1 messages in flight); retry with backoff");
  EXPECT_EQ(RetryPushback(refused), std::optional(kPushback));
  EXPECT_TRUE(first.ok()) << first;
  // A refusal without the hint carries none.
  const absl::Status invalid =
      client.Analyze(TextMessage("third", " ")).status();
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RetryPushback(invalid), std::nullopt);
}

TEST_F(RetryPushbackTest, ReliableStreamRetriesARefusedStreamOnceASlotFrees) {
  constexpr int kMessages = 20;
  auto server = Start(/*max_streams=*/1);
  ASSERT_NE(server, nullptr);
  Client client(LocalClient(server->port()));
  auto holder = HoldSlot(client);
  Recorder recorder;
  ReliableStreamOptions options;
  options.initial_backoff = absl::Milliseconds(10);
  const absl::Time began = absl::Now();
  auto stream = ReliableStream::Create(client, options, recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE((*stream)->Send(Message(i)).ok()) << i;
  }
  AwaitRefusals(client, 1);  // The helper's first stream was refused.
  Release(*holder);
  EXPECT_TRUE((*stream)->Finish().ok());
  const absl::Duration took = absl::Now() - began;

  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, kMessages);
  for (const StreamAnswer& answer : answers) {
    EXPECT_TRUE(answer.status.ok()) << answer.index << ": " << answer.status;
    EXPECT_TRUE(answer.response.has_analysis()) << answer.index;
    EXPECT_GE(answer.stream, 1) << answer.index;  // None on the refused one.
  }
  const auto stats = (*stream)->stats();
  EXPECT_GE(stats.reconnects, 1);
  EXPECT_EQ(stats.streams, stats.reconnects + 1);
  EXPECT_EQ(stats.refused_full, stats.reconnects);  // All but the last.
  EXPECT_EQ(stats.accepted, kMessages);
  EXPECT_EQ(stats.answered, kMessages);
  EXPECT_EQ(stats.failed, 0);
  // It waited out the pushback, not its 10 ms backoff; a generous budget.
  EXPECT_GE(took, kPushback);
  EXPECT_LT(took, absl::Seconds(30));
}

TEST_F(RetryPushbackTest, MaxAttemptsBoundsRetriesOfAFullServer) {
  auto server = Start(/*max_streams=*/1);
  ASSERT_NE(server, nullptr);
  Client client(LocalClient(server->port()));
  auto holder = HoldSlot(client);  // Never released.
  Recorder recorder;
  ReliableStreamOptions options;
  options.max_attempts = 1;
  options.initial_backoff = absl::Milliseconds(10);
  auto stream = ReliableStream::Create(client, options, recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE((*stream)->Send(Message(0)).ok());
  const absl::Status status = (*stream)->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("gave up after 1 reconnect"));
  EXPECT_THAT(status.message(),
              HasSubstr("last error: RESOURCE_EXHAUSTED: server has 1 "
                        "streams open, its limit; retry with backoff"));
  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, 1);
  EXPECT_EQ(answers[0].status, status);
  EXPECT_EQ(answers[0].response.error().code(), 14);
  const auto stats = (*stream)->stats();
  EXPECT_EQ(stats.streams, 2);
  EXPECT_EQ(stats.reconnects, 1);
  EXPECT_EQ(stats.refused_full, 2);
  EXPECT_EQ(stats.failed, 1);
  Release(*holder);
}

TEST_F(RetryPushbackTest, PushbackLongerThanTheRetryTimeLeftGivesUpAtOnce) {
  auto server = Start(/*max_streams=*/1);
  ASSERT_NE(server, nullptr);
  Client client(LocalClient(server->port()));
  auto holder = HoldSlot(client);
  Recorder recorder;
  ReliableStreamOptions options;
  options.max_retry_time = absl::Milliseconds(500);
  options.initial_backoff = absl::Milliseconds(10);
  auto stream = ReliableStream::Create(client, options, recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE((*stream)->Send(Message(0)).ok());
  const absl::Status status = (*stream)->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("gave up after 0 reconnect"));
  EXPECT_THAT(status.message(), HasSubstr("the server asked to wait 1s"));
  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, 1);
  EXPECT_EQ(answers[0].status, status);
  EXPECT_EQ((*stream)->stats().streams, 1);
  EXPECT_EQ((*stream)->stats().refused_full, 1);
  Release(*holder);
}

TEST_F(RetryPushbackTest, WithoutReconnectARefusedStreamIsFinal) {
  auto server = Start(/*max_streams=*/1);
  ASSERT_NE(server, nullptr);
  Client client(LocalClient(server->port()));
  auto holder = HoldSlot(client);
  Recorder recorder;
  ReliableStreamOptions options;
  options.max_attempts = 0;
  auto stream = ReliableStream::Create(client, options, recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();
  // The refusal may come before the last sends: those are not accepted.
  const int accepted =
      SendUntilRefused(**stream, 3, absl::StatusCode::kResourceExhausted);
  const absl::Status status = (*stream)->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("1 streams open"));
  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, accepted);
  for (const StreamAnswer& answer : answers) {
    EXPECT_EQ(answer.status.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(answer.response.error().code(), 8);
  }
  EXPECT_EQ((*stream)->stats().streams, 1);
  Release(*holder);
}

// gRPC itself ends a stream with RESOURCE_EXHAUSTED, without a pushback,
// when a frame is over the size limit (4 x --max-message-chars + 64 KiB,
// 80 KiB here): resending it would fail again, so it is final.
TEST_F(RetryPushbackTest, OversizedFrameIsFinalWithoutRetry) {
  auto server = Start();
  ASSERT_NE(server, nullptr);
  Client client(LocalClient(server->port()));
  v1::ChatMessage oversized = Message(1);
  oversized.set_text(std::string(200 * 1024, 'x'));

  auto plain = client.OpenStream();
  plain->Write(oversized);  // May fail once gRPC has ended the call.
  v1::StreamAnalyzeResponse response;
  EXPECT_FALSE(plain->Read(&response));
  EXPECT_EQ(plain->Finish().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(plain->retry_pushback(), std::nullopt);

  Recorder recorder;
  ReliableStreamOptions options;
  options.initial_backoff = absl::Milliseconds(10);
  auto stream = ReliableStream::Create(client, options, recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();
  // The stream may end before the last send: then it is not accepted.
  int accepted = 0;
  for (int i = 0; i < 3; ++i) {
    const absl::Status sent = (*stream)->Send(i == 1 ? oversized : Message(i));
    if (!sent.ok()) {
      EXPECT_EQ(sent.code(), absl::StatusCode::kResourceExhausted);
      break;
    }
    ++accepted;
  }
  ASSERT_GE(accepted, 2);  // Nothing ends the stream before the big frame.
  const absl::Status status = (*stream)->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, accepted);
  int answered = 0;
  for (const StreamAnswer& answer : answers) {
    if (answer.status.ok()) {  // Message 0 may be answered before the end.
      EXPECT_EQ(answer.index, 0u);
      ++answered;
      continue;
    }
    EXPECT_EQ(answer.status.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(answer.response.error().code(), 8);
    EXPECT_THAT(answer.response.error().message(),
                HasSubstr("not analysed: RESOURCE_EXHAUSTED"));
  }
  const auto stats = (*stream)->stats();
  EXPECT_EQ(stats.streams, 1);
  EXPECT_EQ(stats.reconnects, 0);
  EXPECT_EQ(stats.refused_full, 0);  // gRPC's refusal has no pushback.
  EXPECT_EQ(stats.answered, answered);
  EXPECT_EQ(stats.failed, accepted - answered);
}

}  // namespace
}  // namespace lantern::server
