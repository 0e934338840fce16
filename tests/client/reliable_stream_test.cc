// The pure parts of ReliableStream: backoff delays, option checks, the
// "not analysed" response, the resend bookkeeping (ResendQueue) and the
// parsing of a server's retry pushback. The helper against real servers is
// in tests/server/reconnect_test.cc and retry_pushback_test.cc.
#include "client/reliable_stream.h"

#include <string>
#include <utility>
#include <vector>

#include "client/resend_queue.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

lantern::v1::ChatMessage Message(const std::string& id) {
  lantern::v1::ChatMessage message;
  message.set_id(id);
  message.set_text("hello");
  return message;
}

ReliableStreamOptions NoJitter() {
  ReliableStreamOptions options;
  options.initial_backoff = absl::Milliseconds(100);
  options.max_backoff = absl::Seconds(1);
  options.jitter = 0;
  return options;
}

TEST(ReconnectDelayTest, DoublesFromTheInitialBackoffUpToTheCap) {
  const ReliableStreamOptions options = NoJitter();
  std::vector<absl::Duration> delays;
  for (int attempt = 0; attempt < 6; ++attempt) {
    delays.push_back(ReconnectDelay(options, attempt, 0.5));
  }
  EXPECT_THAT(delays,
              ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200),
                          absl::Milliseconds(400), absl::Milliseconds(800),
                          absl::Seconds(1), absl::Seconds(1)));
  // Far past the cap nothing overflows.
  EXPECT_EQ(ReconnectDelay(options, 1 << 30, 0.5), absl::Seconds(1));
}

TEST(ReconnectDelayTest, JitterStaysInItsBandAndNeverPassesTheCap) {
  ReliableStreamOptions options = NoJitter();
  options.jitter = 0.2;
  EXPECT_EQ(ReconnectDelay(options, 0, 0.0), absl::Milliseconds(80));
  EXPECT_EQ(ReconnectDelay(options, 0, 0.5), absl::Milliseconds(100));
  EXPECT_EQ(ReconnectDelay(options, 0, 0.75), absl::Milliseconds(110));
  EXPECT_EQ(ReconnectDelay(options, 10, 0.0), absl::Milliseconds(800));
  EXPECT_EQ(ReconnectDelay(options, 10, 0.999), absl::Seconds(1));
}

TEST(ReconnectDelayTest, ZeroBackoffIsZero) {
  ReliableStreamOptions options;
  options.initial_backoff = absl::ZeroDuration();
  options.max_backoff = absl::ZeroDuration();
  EXPECT_EQ(ReconnectDelay(options, 3, 0.9), absl::ZeroDuration());
}

TEST(ParseRetryPushbackTest, MillisecondsOrInfiniteForDoNotRetry) {
  EXPECT_EQ(ParseRetryPushback("1000"), absl::Seconds(1));
  EXPECT_EQ(ParseRetryPushback("0"), absl::ZeroDuration());
  // gRFC A6: negative or unparsable means "do not retry".
  for (const char* value : {"-1", "", "1s", "1.5", "99999999999999999999"}) {
    EXPECT_EQ(ParseRetryPushback(value), absl::InfiniteDuration()) << value;
  }
}

TEST(ValidateOptionsTest, DefaultsAreValidAndEachBadFieldIsNamed) {
  EXPECT_TRUE(ValidateOptions(ReliableStreamOptions()).ok());
  const std::vector<std::pair<void (*)(ReliableStreamOptions&), std::string>>
      cases = {
          {[](ReliableStreamOptions& o) { o.max_unanswered = 0; },
           "max_unanswered"},
          {[](ReliableStreamOptions& o) { o.max_attempts = -1; },
           "max_attempts"},
          {[](ReliableStreamOptions& o) {
             o.max_retry_time = absl::Seconds(-1);
           },
           "max_retry_time"},
          {[](ReliableStreamOptions& o) {
             o.initial_backoff = absl::Seconds(20);
           },
           "initial_backoff must not exceed max_backoff"},
          {[](ReliableStreamOptions& o) { o.jitter = 1.0; }, "jitter"},
      };
  for (const auto& [breaks, named] : cases) {
    ReliableStreamOptions options;
    breaks(options);
    const absl::Status status = ValidateOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << named;
    EXPECT_THAT(status.message(), HasSubstr(named));
  }
}

TEST(ValidateOptionsTest, CreateRefusesBadOptionsAndAnEmptyCallback) {
  Client client(ClientOptions{});  // Never called: nothing connects.
  ReliableStreamOptions bad;
  bad.max_unanswered = 0;
  EXPECT_EQ(
      ReliableStream::Create(client, bad, [](StreamAnswer) {}).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReliableStream::Create(client, ReliableStreamOptions(), nullptr)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ReliableStreamTest, FinishWithNothingSentIsOkAndOpensNoStream) {
  Client client(ClientOptions{});
  auto stream = ReliableStream::Create(
      client, ReliableStreamOptions(),
      [](StreamAnswer) { ADD_FAILURE() << "nothing was sent"; });
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_TRUE((*stream)->Finish().ok());
  EXPECT_EQ((*stream)->stats().streams, 0);
  EXPECT_EQ((*stream)->Send(Message("late")).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(NotAnalysedResponseTest, CarriesIndexIdAndCode) {
  const lantern::v1::StreamAnalyzeResponse response = NotAnalysedResponse(
      7, "m7", absl::UnavailableError("server is shutting down"));
  EXPECT_EQ(response.message_id(), "m7");
  EXPECT_EQ(response.sequence(), 7u);
  EXPECT_EQ(response.error().code(), 14);
  EXPECT_EQ(response.error().message(),
            "not analysed: UNAVAILABLE: server is shutting down");
}

TEST(ResendQueueTest, WritesInIndexOrderAndMapsSequencesBack) {
  ResendQueue queue;
  EXPECT_FALSE(queue.HasUnwritten());
  EXPECT_EQ(queue.Add(Message("a")), 0u);
  EXPECT_EQ(queue.Add(Message("b")), 1u);
  queue.StartStream();
  auto first = queue.NextWrite();
  auto second = queue.NextWrite();
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(first->index, 0u);
  EXPECT_EQ(first->sequence, 0u);
  EXPECT_EQ(first->message.id(), "a");
  EXPECT_FALSE(first->resend);
  EXPECT_EQ(second->index, 1u);
  EXPECT_EQ(second->sequence, 1u);
  EXPECT_FALSE(queue.NextWrite().has_value());
  // Answers may come in any order.
  EXPECT_EQ(queue.Answer(1), 1u);
  EXPECT_EQ(queue.Answer(0), 0u);
  EXPECT_TRUE(queue.empty());
}

TEST(ResendQueueTest, UnknownOrRepeatedSequenceChangesNothing) {
  ResendQueue queue;
  queue.Add(Message("a"));
  queue.StartStream();
  queue.NextWrite();
  EXPECT_FALSE(queue.Answer(5).has_value());
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.Answer(0), 0u);
  EXPECT_FALSE(queue.Answer(0).has_value());
  EXPECT_FALSE(queue.Requeue(0).has_value());
}

TEST(ResendQueueTest, NewStreamResendsUnansweredFirstWithNewSequences) {
  ResendQueue queue;
  for (const char* id : {"a", "b", "c", "d"}) queue.Add(Message(id));
  queue.StartStream();
  for (int i = 0; i < 3; ++i) queue.NextWrite();  // a, b, c written.
  EXPECT_EQ(queue.Answer(1), 1u);                 // b answered.
  queue.StartStream();                            // The first stream ended.
  queue.Add(Message("e"));
  std::vector<std::pair<std::string, uint64_t>> writes;  // id, sequence
  std::vector<bool> resends;
  while (auto write = queue.NextWrite()) {
    writes.emplace_back(write->message.id(), write->sequence);
    resends.push_back(write->resend);
  }
  EXPECT_THAT(writes, ElementsAre(Pair("a", 0), Pair("c", 1), Pair("d", 2),
                                  Pair("e", 3)));
  EXPECT_THAT(resends, ElementsAre(true, true, false, false));
  // Sequences of the old stream mean nothing now.
  EXPECT_EQ(queue.Answer(2), 3u);  // d
}

TEST(ResendQueueTest, RequeuedMessageWaitsForTheNextStream) {
  ResendQueue queue;
  queue.Add(Message("a"));
  queue.Add(Message("b"));
  queue.StartStream();
  queue.NextWrite();
  EXPECT_EQ(queue.Requeue(0), 0u);
  EXPECT_EQ(queue.size(), 2u);
  auto next = queue.NextWrite();  // Not a again on this stream.
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->message.id(), "b");
  EXPECT_FALSE(queue.HasUnwritten());
  queue.StartStream();
  next = queue.NextWrite();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->message.id(), "a");
  EXPECT_TRUE(next->resend);
}

TEST(ResendQueueTest, TakeAllEmptiesInIndexOrder) {
  ResendQueue queue;
  for (const char* id : {"a", "b", "c"}) queue.Add(Message(id));
  queue.StartStream();
  queue.NextWrite();
  queue.Answer(0);
  EXPECT_THAT(queue.TakeAll(), ElementsAre(Pair(1, "b"), Pair(2, "c")));
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(queue.HasUnwritten());
  EXPECT_EQ(queue.next_index(), 3u);
}

}  // namespace
}  // namespace lantern::client
