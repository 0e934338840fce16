// ReliableStream (client/reliable_stream.h) against real servers on real
// ports with fake models: a drain mid-stream with a second server taking
// over the port, no reconnect, an unreachable server, errors that are not
// retried, warm-up, cancel; and `lantern stream` on top of it. Refusals over
// --max-streams are in retry_pushback_test.cc.
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/cli.h"
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

using ::lantern::client::Client;
using ::lantern::client::ReliableStream;
using ::lantern::client::ReliableStreamOptions;
using ::lantern::client::StreamAnswer;
using ::lantern::testing::FakeDeps;
using ::lantern::testing::FakeModelState;
using ::lantern::testing::WriteModelDir;
using ::testing::HasSubstr;

// A fake model whose verdict tells servers apart: signals(0).score is about
// 0.12 for Calm() and 0.88 for Alarmed().
std::shared_ptr<FakeModelState> Model(float calm, float danger) {
  auto model = std::make_shared<FakeModelState>();
  model->logits = {calm, danger};
  return model;
}
std::shared_ptr<FakeModelState> Calm() { return Model(2.0f, 0.0f); }
std::shared_ptr<FakeModelState> Alarmed() { return Model(0.0f, 2.0f); }

// Backoffs that end only when the server reports SERVING (or after a
// minute), so the number of reconnects does not depend on timing.
ReliableStreamOptions WaitForServing() {
  ReliableStreamOptions options;
  options.initial_backoff = absl::Minutes(1);
  options.max_backoff = absl::Minutes(1);
  options.max_retry_time = absl::Minutes(5);
  options.jitter = 0;
  options.max_attempts = 3;
  return options;
}

// Polls until the server at `port` reports draining or stops answering.
void AwaitDraining(int port) {
  Client probe(LocalClient(port, absl::Seconds(2)));
  while (true) {
    const auto status = probe.GetStatus();
    if (!status.ok() || status->draining()) return;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

// Sends messages 0..count-1 from a new thread (with `filler` bytes of text
// each, if nonzero), then Finish(), whose status goes to `*finished`.
std::thread Feed(ReliableStream& stream, int count, absl::Status* finished,
                 size_t filler = 0) {
  return std::thread([&stream, count, finished, filler] {
    for (int i = 0; i < count; ++i) {
      v1::ChatMessage message = Message(i);
      if (filler > 0) {
        message.set_text(absl::StrCat(std::string(filler, 'x'), " ", i));
      }
      const absl::Status sent = stream.Send(std::move(message));
      EXPECT_TRUE(sent.ok()) << i << ": " << sent;
      if (!sent.ok()) break;
    }
    *finished = stream.Finish();
  });
}

class ReconnectTest : public ::testing::Test {
 protected:
  ReconnectTest()
      : dir_(WriteModelDir({{"only", {{"calm", 0.0f}, {"danger", 1.0f}}}})) {}

  // A server on `port` (0 = any) with `model`. A stream reads at most
  // `window` messages ahead of its answers; models never run on gRPC's
  // threads, so a closed gate cannot block the server's callbacks.
  std::unique_ptr<Server> Start(int port, std::shared_ptr<FakeModelState> model,
                                int window = 4, int max_streams = 256,
                                int http2_window_bytes = 64 * 1024) {
    ServerOptions options;
    options.listen = absl::StrCat("127.0.0.1:", port);
    options.engine.model_dir = dir_;
    options.shutdown_grace = absl::ZeroDuration();
    options.streams.window = window;
    options.streams.max_streams = max_streams;
    options.transport.http2_window_bytes = http2_window_bytes;
    options.engine.batching.max_delay = absl::Microseconds(100);
    auto server = Server::Create(options, FakeDeps(dir_, {{"only", model}}));
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  // Drains `a` while its model holds what it read at `gate`, letting the
  // model go once the drain has begun, then starts a server with `model`
  // on the same port; returns it SERVING.
  std::unique_ptr<Server> DrainAndReplace(
      std::unique_ptr<Server> a, absl::Notification& gate,
      std::shared_ptr<FakeModelState> model) {
    const int port = a->port();
    std::thread drainer([&a] { a->Shutdown(); });
    AwaitDraining(port);
    gate.Notify();  // A answers what it read, then ends the stream.
    drainer.join();
    a.reset();
    auto b = Start(port, std::move(model));
    EXPECT_TRUE(b != nullptr && b->WaitForWarmup().ok());
    return b;
  }

  std::string dir_;
};

TEST_F(ReconnectTest, DrainMidStreamResendsToTheNextServerEachMessageOnce) {
  constexpr int kMessages = 200;
  auto calm = Calm();
  auto a = Start(0, calm);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->WaitForWarmup().ok());
  absl::Notification gate;  // A's model holds what A has read.
  calm->gate = &gate;
  absl::Notification read;  // A slow reader: nothing is read until B is up.
  Client client(LocalClient(a->port()));
  Recorder recorder;
  auto stream = ReliableStream::Create(
      client, WaitForServing(),
      [&read, record = recorder.Callback()](StreamAnswer answer) {
        read.WaitForNotification();
        record(std::move(answer));
      });
  ASSERT_TRUE(stream.ok()) << stream.status();
  absl::Status finished = absl::UnknownError("not finished");
  std::thread feeder = Feed(**stream, kMessages, &finished);
  // A full window written, A's model busy with what A read: drain now.
  const int window = WaitForServing().max_unanswered;
  while (calm->at_gate.load() == 0 || (*stream)->stats().written < window) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  auto b = DrainAndReplace(std::move(a), gate, Alarmed());
  read.Notify();
  feeder.join();

  EXPECT_TRUE(finished.ok()) << finished;
  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, kMessages);
  int from_a = 0;
  int from_b = 0;
  for (const StreamAnswer& answer : answers) {
    ASSERT_TRUE(answer.status.ok()) << answer.status;
    ASSERT_TRUE(answer.response.has_analysis()) << answer.index;
    const v1::Analysis& analysis = answer.response.analysis();
    EXPECT_TRUE(analysis.has_context()) << answer.index;
    const bool by_a = analysis.signals(0).score() < 0.5f;
    EXPECT_EQ(answer.stream, by_a ? 0 : 1) << answer.index;
    ++(by_a ? from_a : from_b);
  }
  EXPECT_GT(from_a, 0);
  EXPECT_EQ(from_a + from_b, kMessages);
  const auto stats = (*stream)->stats();
  EXPECT_EQ(stats.reconnects, 1);
  EXPECT_EQ(stats.refused_full, 0);  // A drain, not a full server.
  EXPECT_EQ(stats.streams, 2);
  EXPECT_GT(stats.resent, 0);  // A never read most of the window.
  EXPECT_EQ(stats.answered, kMessages);
  EXPECT_EQ(stats.failed, 0);
}

TEST_F(ReconnectTest, DrainWhileAWriteIsBlockedOnFlowControl) {
  constexpr int kMessages = 40;
  auto calm = Calm();
  // A reads one message ahead and lets a client send only 8 KiB beyond
  // what it has read: with 3 KB messages the helper's writer blocks.
  auto a = Start(0, calm, /*window=*/1, /*max_streams=*/256,
                 /*http2_window_bytes=*/8 * 1024);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->WaitForWarmup().ok());
  absl::Notification gate;
  calm->gate = &gate;
  Client client(LocalClient(a->port()));
  Recorder recorder;
  auto stream =
      ReliableStream::Create(client, WaitForServing(), recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();
  absl::Status finished = absl::UnknownError("not finished");
  std::thread feeder = Feed(**stream, kMessages, &finished, /*filler=*/3000);
  // A holds the first message; the second and third fill its window, and
  // the third write stays blocked (checked once by hand: written stays at 3
  // of 32 accepted for as long as A holds the first).
  while (calm->at_gate.load() == 0 || (*stream)->stats().written < 3) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  auto b = DrainAndReplace(std::move(a), gate, Alarmed());
  feeder.join();

  EXPECT_TRUE(finished.ok()) << finished;
  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, kMessages);
  for (const StreamAnswer& answer : answers) {
    EXPECT_TRUE(answer.response.has_analysis()) << answer.index;
  }
  EXPECT_EQ((*stream)->stats().reconnects, 1);
}

TEST_F(ReconnectTest, WithoutReconnectTheUnreadMessagesGetTheDrainStatus) {
  auto calm = Calm();
  auto a = Start(0, calm);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->WaitForWarmup().ok());
  absl::Notification gate;
  calm->gate = &gate;
  Client client(LocalClient(a->port()));
  Recorder recorder;
  ReliableStreamOptions options;
  options.max_attempts = 0;
  options.max_unanswered = 10;
  auto stream = ReliableStream::Create(client, options, recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*stream)->Send(Message(i)).ok());
  while (calm->at_gate.load() == 0 || (*stream)->stats().written < 10) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  std::thread drainer([&] { a->Shutdown(); });
  AwaitDraining(a->port());
  gate.Notify();
  const absl::Status status = (*stream)->Wait();
  drainer.join();

  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, 10);
  int answered = 0;
  for (const StreamAnswer& answer : answers) {
    if (answer.status.ok()) {
      ++answered;
      continue;
    }
    EXPECT_EQ(answer.status.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(answer.response.error().message(),
                HasSubstr("not analysed: UNAVAILABLE"));
  }
  EXPECT_GT(answered, 0);
  EXPECT_LT(answered, 10);  // A reads at most 4 ahead.
  EXPECT_EQ((*stream)->stats().reconnects, 0);
  EXPECT_EQ((*stream)->Send(Message(10)).code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(ReconnectTest, UnreachableServerGivesUpAfterMaxAttempts) {
  Client client(LocalClient(1));  // Nothing listens on port 1.
  Recorder recorder;
  ReliableStreamOptions options;
  options.max_attempts = 2;
  options.initial_backoff = absl::Milliseconds(1);
  options.max_backoff = absl::Milliseconds(1);
  auto stream = ReliableStream::Create(client, options, recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();
  // The first message is always accepted: no stream opens before it.
  const int accepted =
      SendUntilRefused(**stream, 5, absl::StatusCode::kUnavailable);
  const absl::Status status = (*stream)->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("gave up after 2 reconnect"));
  ASSERT_GE(accepted, 1);
  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, accepted);
  for (const StreamAnswer& answer : answers) {
    EXPECT_EQ(answer.status, status);
    EXPECT_EQ(answer.response.error().code(), 14);
  }
  const auto stats = (*stream)->stats();
  EXPECT_EQ(stats.streams, 3);
  EXPECT_EQ(stats.reconnects, 2);
  EXPECT_EQ(stats.failed, accepted);
}

TEST_F(ReconnectTest, PerMessageErrorIsTheAnswerAndNotRetried) {
  auto server = Start(0, Calm());
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->WaitForWarmup().ok());
  Client client(LocalClient(server->port()));
  Recorder recorder;
  auto stream = ReliableStream::Create(client, ReliableStreamOptions(),
                                       recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (int i = 0; i < 3; ++i) {
    v1::ChatMessage message = Message(i);
    if (i == 1) message.set_text("   ");  // INVALID_ARGUMENT, per message.
    ASSERT_TRUE((*stream)->Send(message).ok());
  }
  EXPECT_TRUE((*stream)->Finish().ok());
  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, 3);
  for (const StreamAnswer& answer : answers) {
    EXPECT_TRUE(answer.status.ok()) << answer.index;
    EXPECT_EQ(answer.response.has_error(), answer.index == 1);
  }
  EXPECT_EQ((*stream)->stats().reconnects, 0);
}

TEST_F(ReconnectTest, MessagesRefusedDuringWarmUpAreResentOnceServing) {
  absl::Notification loaded;
  auto model = Calm();
  model->block_load = &loaded;
  auto server = Start(0, model);
  ASSERT_NE(server, nullptr);
  Client client(LocalClient(server->port()));
  Recorder recorder;
  auto stream =
      ReliableStream::Create(client, WaitForServing(), recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*stream)->Send(Message(i)).ok());
  // The server answered with per-message UNAVAILABLE ("still loading").
  while (true) {
    const auto status = client.GetStatus();
    ASSERT_TRUE(status.ok()) << status.status();
    if (status->errors().count("UNAVAILABLE") > 0) break;
    absl::SleepFor(absl::Milliseconds(1));
  }
  loaded.Notify();
  EXPECT_TRUE((*stream)->Finish().ok());
  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, 3);
  for (const StreamAnswer& answer : answers) {
    EXPECT_TRUE(answer.response.has_analysis()) << answer.index;
  }
  EXPECT_EQ((*stream)->stats().reconnects, 1);
  EXPECT_GE((*stream)->stats().resent, 1);
}

TEST_F(ReconnectTest, CancelReportsEveryUnansweredMessageCancelled) {
  auto model = Calm();
  auto server = Start(0, model);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->WaitForWarmup().ok());
  absl::Notification gate;
  model->gate = &gate;
  Client client(LocalClient(server->port()));
  Recorder recorder;
  auto stream = ReliableStream::Create(client, ReliableStreamOptions(),
                                       recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*stream)->Send(Message(i)).ok());
  while (model->at_gate.load() == 0) absl::SleepFor(absl::Milliseconds(1));
  (*stream)->Cancel();
  EXPECT_EQ((*stream)->Wait().code(), absl::StatusCode::kCancelled);
  gate.Notify();
  const std::vector<StreamAnswer> answers = recorder.answers();
  ExpectEachIndexOnce(answers, 3);
  for (const StreamAnswer& answer : answers) {
    EXPECT_EQ(answer.status.code(), absl::StatusCode::kCancelled);
  }
  EXPECT_EQ((*stream)->Send(Message(3)).code(), absl::StatusCode::kCancelled);
}

TEST(ReconnectCliTest, NoReconnectFlagIsParsed) {
  const char* plain[] = {"lantern", "stream"};
  const char* off[] = {"lantern", "stream", "--no-reconnect"};
  auto parsed = client::ParseCommandLine(2, plain, "127.0.0.1:1");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->reconnect);
  parsed = client::ParseCommandLine(3, off, "127.0.0.1:1");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->reconnect);
  EXPECT_THAT(client::UsageText(), HasSubstr("--no-reconnect"));
}

TEST_F(ReconnectTest, StreamCommandPrintsContextAndSummarisesReconnects) {
  auto server = Start(0, Calm());
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->WaitForWarmup().ok());
  const std::string target = absl::StrCat("127.0.0.1:", server->port());
  const char* argv[] = {"lantern", "--target", target.c_str(), "stream"};
  std::istringstream in(
      R"({"id":"a","user_id":"u","channel_id":"c","text":"rough day"})"
      "\n"
      R"({"id":"b","user_id":"u","channel_id":"c","text":"still rough"})"
      "\n");
  std::ostringstream out, err;
  EXPECT_EQ(client::RunCli(4, argv, "", in, out, err), client::kExitOk)
      << err.str();
  EXPECT_THAT(out.str(), HasSubstr(R"("message_id":"a","sequence":"0")"));
  EXPECT_THAT(out.str(), HasSubstr(R"("message_id":"b","sequence":"1")"));
  EXPECT_THAT(out.str(), HasSubstr(R"("context":{"prior_messages":1)"));
  EXPECT_EQ(err.str(),
            "stream: 2 sent, 2 answered, 0 errors, 0 reconnects, 0 resent, 0 "
            "refused while full\n");
}

}  // namespace
}  // namespace lantern::server
