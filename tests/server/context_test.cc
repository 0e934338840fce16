// Conversation context through the real server and client, with a fake
// model whose score depends only on the number of words: 1 word scores
// 0.12 (none), 2 words 0.27 (low), 3 words 0.50 (medium), 4 words 0.73
// (high), 5 words 0.88 (critical), against thresholds 0.2/0.4/0.6/0.8.
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/server/local_client.h"
#include "tests/testing/fakes.h"

namespace lantern::server {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::lantern::client::AnalyzeStream;
using ::lantern::client::Client;
using ::lantern::testing::FakeDeps;
using ::lantern::testing::FakeModelState;
using ::lantern::testing::WriteModelDir;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr int64_t kStart = 1800000000;  // seconds since the epoch

v1::ChatMessage Message(const std::string& id, const std::string& user,
                        const std::string& channel, int minute,
                        const std::string& text) {
  v1::ChatMessage m;
  m.set_id(id);
  m.set_user_id(user);
  m.set_channel_id(channel);
  m.set_text(text);
  *m.mutable_sent_at() = TimeUtil::SecondsToTimestamp(kStart + minute * 60);
  return m;
}

class ContextTest : public ::testing::Test {
 protected:
  ContextTest() : model_(std::make_shared<FakeModelState>()) {
    model_->logits = {-3.0f, 0.0f};
    model_->logits_follow_length = true;
    dir_ = WriteModelDir({{"only", {{"danger", 1.0f}, {"calm", 0.0f}}}});
  }

  std::unique_ptr<Server> Start(ServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    options.engine.model_dir = dir_;
    options.shutdown_grace = absl::ZeroDuration();
    auto server = Server::Create(options, FakeDeps(dir_, {{"only", model_}}));
    EXPECT_TRUE(server.ok()) << server.status();
    EXPECT_TRUE((*server)->WaitForWarmup().ok());
    return *std::move(server);
  }

  // Sends `messages` on one stream and returns the answers by sequence.
  static std::vector<v1::StreamAnalyzeResponse> Stream(
      Client& client, const std::vector<v1::ChatMessage>& messages) {
    std::unique_ptr<AnalyzeStream> stream = client.OpenStream();
    for (const v1::ChatMessage& m : messages) EXPECT_TRUE(stream->Write(m));
    EXPECT_TRUE(stream->WritesDone());
    std::vector<v1::StreamAnalyzeResponse> answers(messages.size());
    v1::StreamAnalyzeResponse response;
    while (stream->Read(&response)) answers.at(response.sequence()) = response;
    EXPECT_TRUE(stream->Finish().ok());
    return answers;
  }

  std::shared_ptr<FakeModelState> model_;
  std::string dir_;
};

TEST_F(ContextTest, EscalationAcrossMessagesRaisesTheLevelWithAReason) {
  auto server = Start();
  Client client(LocalClient(server->port()));
  const auto answers =
      Stream(client, {Message("1", "u", "c", 0, "not great today"),
                      Message("2", "u", "c", 30, "nothing ever changes"),
                      Message("3", "u", "c", 60, "decided now")});
  ASSERT_TRUE(answers[2].has_analysis()) << answers[2].DebugString();
  const v1::Analysis& third = answers[2].analysis();
  EXPECT_EQ(third.context().prior_messages(), 2);
  EXPECT_EQ(third.context().message_level(), v1::CRISIS_LEVEL_LOW);
  EXPECT_EQ(third.level(), v1::CRISIS_LEVEL_HIGH);
  EXPECT_TRUE(third.context().escalated());
  EXPECT_TRUE(third.requires_review());
  EXPECT_THAT(third.key_factors(),
              Contains("raised to high by conversation context: 2 earlier "
                       "messages at medium or above in the last 6 hours"));
  EXPECT_THAT(third.context().factors(),
              Contains("third distressed message in 60 minutes"));
  // The first message had nothing before it.
  EXPECT_EQ(answers[0].analysis().context().prior_messages(), 0);
  EXPECT_EQ(answers[0].analysis().context().trend(), v1::TREND_UNSPECIFIED);
  EXPECT_FALSE(answers[0].analysis().context().escalated());
}

TEST_F(ContextTest, ContextIsPerChannelAndUserWhenTheyInterleave) {
  auto server = Start();
  Client client(LocalClient(server->port()));
  std::vector<v1::ChatMessage> messages;
  // Three people (u1 in c1, u2 in c1, u1 in c2), their messages interleaved.
  const std::vector<std::pair<std::string, std::string>> people = {
      {"u1", "c1"}, {"u2", "c1"}, {"u1", "c2"}};
  for (int round = 0; round < 4; ++round) {
    for (const auto& [user, channel] : people) {
      messages.push_back(Message(absl::StrCat(user, channel, round), user,
                                 channel, round, "fine thanks"));
    }
  }
  const auto answers = Stream(client, messages);
  for (size_t i = 0; i < answers.size(); ++i) {
    ASSERT_TRUE(answers[i].has_analysis()) << i;
    EXPECT_EQ(answers[i].analysis().context().prior_messages(),
              static_cast<int>(i / people.size()))
        << "message " << i;
  }
  // The stream's context goes when the server has closed the call, which
  // may be just after the client saw its end.
  uint64_t remembered = 1;
  for (int i = 0; i < 2000 && remembered != 0; ++i) {
    auto status = client.GetStatus();
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(status->context().capacity(), 100000u);
    remembered = status->context().people();
    if (remembered != 0) absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(remembered, 0u);
}

TEST_F(ContextTest, UnaryWithHistoryAnswersExactlyAsTheStream) {
  auto server = Start();
  Client client(LocalClient(server->port()));
  const std::vector<v1::ChatMessage> messages = {
      Message("1", "u", "c", 0, "tired"),
      Message("2", "u", "c", 10, "so very tired"),
      Message("3", "u", "c", 20, "cannot keep going"),
      Message("4", "u", "c", 25, "ok"),
      Message("5", "u", "c", 40, "why bother")};
  const auto streamed = Stream(client, messages);
  for (size_t i = 0; i < messages.size(); ++i) {
    v1::AnalyzeRequest request;
    *request.mutable_message() = messages[i];
    for (size_t j = 0; j < i; ++j) {
      v1::PriorMessage* prior = request.add_history();
      *prior->mutable_message() = messages[j];
      // Half the history comes with its earlier score, half is re-analysed.
      if (j % 2 == 0) prior->set_score(streamed[j].analysis().score());
    }
    auto unary = client.Analyze(request, absl::Seconds(30));
    ASSERT_TRUE(unary.ok()) << unary.status();
    v1::Analysis expected = streamed[i].analysis();
    v1::Analysis actual = *unary;
    expected.clear_processing_time_us();
    actual.clear_processing_time_us();
    EXPECT_EQ(actual.SerializeAsString(), expected.SerializeAsString())
        << "message " << i << "\nunary: " << actual.DebugString()
        << "\nstream: " << expected.DebugString();
  }
}

TEST_F(ContextTest, ACachedVerdictIsNeverServedWithoutItsContext) {
  auto server = Start();
  Client client(LocalClient(server->port()));
  v1::AnalyzeRequest alone;
  *alone.mutable_message() = Message("a", "u", "c", 60, "decided now");
  auto first = client.Analyze(alone, absl::Seconds(30));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->level(), v1::CRISIS_LEVEL_LOW);

  v1::AnalyzeRequest with_history = alone;
  for (int minute : {0, 30}) {
    v1::PriorMessage* prior = with_history.add_history();
    *prior->mutable_message() =
        Message("p", "u", "c", minute, "nothing ever changes");
  }
  const uint64_t hits_before = client.GetStatus()->cache().hits();
  auto second = client.Analyze(with_history, absl::Seconds(30));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->level(), v1::CRISIS_LEVEL_HIGH);
  // The message's own verdict came from the cache; the context was still
  // applied.
  EXPECT_GE(client.GetStatus()->cache().hits(), hits_before + 1);

  auto third = client.Analyze(alone, absl::Seconds(30));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->level(), v1::CRISIS_LEVEL_LOW);
}

TEST_F(ContextTest, BadHistoryIsInvalidArgumentNamingTheEntry) {
  ServerOptions options;
  options.engine.context.max_messages = 2;
  auto server = Start(options);
  Client client(LocalClient(server->port()));
  auto analyze = [&](const v1::AnalyzeRequest& r) {
    return client.Analyze(r, absl::Seconds(30)).status();
  };
  v1::AnalyzeRequest request;
  *request.mutable_message() = Message("m", "u", "c", 10, "hello there");
  *request.add_history()->mutable_message() = Message("p", "u", "c", 20, "hi");
  EXPECT_THAT(analyze(request).message(),
              HasSubstr("history[0] was sent after the message"));

  request.mutable_history(0)->mutable_message()->clear_sent_at();
  EXPECT_THAT(analyze(request).message(),
              HasSubstr("history[0].message.sent_at is required"));

  *request.mutable_history(0)->mutable_message() =
      Message("p", "u", "c", 0, "");
  EXPECT_THAT(analyze(request).message(),
              HasSubstr("history[0].message.text is required unless score"));
  request.mutable_history(0)->set_score(1.5f);
  EXPECT_THAT(analyze(request).message(),
              HasSubstr("history[0].score must be within 0..1"));
  request.mutable_history(0)->set_score(0.5f);
  EXPECT_TRUE(analyze(request).ok());

  request.mutable_message()->clear_sent_at();
  EXPECT_THAT(analyze(request).message(),
              HasSubstr("message.sent_at is required when history is given"));

  *request.mutable_message() = Message("m", "u", "c", 10, "hello there");
  for (int i = 0; i < 2; ++i) *request.add_history() = request.history(0);
  const absl::Status too_many = analyze(request);
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_many.message(), HasSubstr("history has 3 messages"));

  // A history entry whose text the engine refuses names its index.
  request.mutable_history()->DeleteSubrange(1, 2);
  request.mutable_history(0)->clear_score();
  request.mutable_history(0)->mutable_message()->set_text(" \t ");
  const absl::Status blank = analyze(request);
  EXPECT_EQ(blank.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(blank.message(), HasSubstr("history[0]: "));
}

TEST_F(ContextTest, PeopleBeyondTheStreamBoundAreForgottenAndCounted) {
  ServerOptions options;
  options.engine.context.max_people = 2;
  auto server = Start(options);
  Client client(LocalClient(server->port()));
  const auto answers = Stream(
      client,
      {Message("1", "a", "c", 0, "hi"), Message("2", "b", "c", 1, "hi"),
       Message("3", "c", "c", 2, "hi"),  // forgets a
       Message("4", "a", "c", 3, "hi"), Message("5", "c", "c", 4, "hi")});
  EXPECT_EQ(answers[3].analysis().context().prior_messages(), 0);
  EXPECT_EQ(answers[4].analysis().context().prior_messages(), 1);
  auto status = client.GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->context().people_evicted(), 2u);  // a, then b
}

TEST_F(ContextTest, SharedContextCarriesAcrossStreams) {
  ServerOptions options;
  options.streams.shared_context = true;
  auto server = Start(options);
  Client client(LocalClient(server->port()));
  Stream(client, {Message("1", "u", "c", 0, "rough day")});
  const auto second = Stream(client, {Message("2", "u", "c", 5, "rough day")});
  EXPECT_EQ(second[0].analysis().context().prior_messages(), 1);
  EXPECT_EQ(client.GetStatus()->context().people(), 1u);
}

TEST_F(ContextTest, ABusyChannelCannotHoldAQuietOneBehindIt) {
  ServerOptions options;
  options.streams.channel_in_flight = 4;
  options.streams.window = 32;
  options.engine.batching.max_batch = 1;
  options.engine.batching.max_delay =
      absl::Microseconds(100);  // No message runs on the stream's thread.
  auto server = Start(options);
  absl::Notification gate;
  model_->gate = &gate;
  Client client(LocalClient(server->port()));
  std::unique_ptr<AnalyzeStream> stream = client.OpenStream();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(stream->Write(
        Message(absl::StrCat("a", i), "u", "busy", i, "hello there")));
  }
  ASSERT_TRUE(stream->Write(Message("q", "v", "quiet", 0, "hello")));
  // The engine holds 4 of the busy channel's messages and the quiet one;
  // the other 16 wait in the stream.
  int depth = 0;
  for (int i = 0; i < 2000 && depth != 5; ++i) {
    depth = client.GetStatus()->queue_depth();
    if (depth != 5) absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(depth, 5);
  gate.Notify();
  ASSERT_TRUE(stream->WritesDone());
  std::map<std::string, std::vector<uint64_t>> order;
  v1::StreamAnalyzeResponse response;
  int answered = 0;
  while (stream->Read(&response)) {
    ASSERT_TRUE(response.has_analysis()) << response.DebugString();
    order[response.message_id().substr(0, 1)].push_back(response.sequence());
    ++answered;
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answered, 21);
  // Within the busy channel, answers came in the order sent.
  ASSERT_EQ(order["a"].size(), 20u);
  for (size_t i = 0; i < order["a"].size(); ++i) EXPECT_EQ(order["a"][i], i);
}

}  // namespace
}  // namespace lantern::server
