#include "client/stories.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/cli.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::client {
namespace {

using ::lantern::v1::CrisisLevel;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
constexpr CrisisLevel kNone = lantern::v1::CRISIS_LEVEL_NONE;
constexpr CrisisLevel kLow = lantern::v1::CRISIS_LEVEL_LOW;
constexpr CrisisLevel kMedium = lantern::v1::CRISIS_LEVEL_MEDIUM;
constexpr CrisisLevel kHigh = lantern::v1::CRISIS_LEVEL_HIGH;
constexpr CrisisLevel kCritical = lantern::v1::CRISIS_LEVEL_CRITICAL;
constexpr CrisisLevel kError = lantern::v1::CRISIS_LEVEL_UNSPECIFIED;

constexpr char kGoodLine[] =
    R"({"id": "s1", "language": "en", "kind": "escalation", "split": "dev",)"
    R"( "voice": "v", "note": "n", "messages": [)"
    R"({"user": "u1", "channel": "c1", "minute": 0, "text": "secret one"},)"
    R"({"user": "u2", "channel": "c1", "minute": 3, "text": "secret two"},)"
    R"({"user": "u1", "channel": "c1", "minute": 90, "text": "secret 3"}],)"
    R"( "alert": [{"user": "u1", "at": 2}]})";

// A story of `users.size()` messages (one a minute) by these users in one
// channel, with the given expected alerts.
Story MakeStory(const std::vector<std::string>& users,
                std::vector<ExpectedAlert> alerts, std::string kind = "k") {
  Story story;
  story.id = "s";
  story.kind = std::move(kind);
  story.source = "f:1";
  for (size_t i = 0; i < users.size(); ++i) {
    story.messages.push_back({users[i], "c", static_cast<int64_t>(i), "t"});
  }
  story.alerts = std::move(alerts);
  return story;
}

MessageVerdict Verdict(CrisisLevel level, CrisisLevel alone, float score = 0) {
  MessageVerdict v;
  v.level = level;
  v.message_level = alone;
  v.score = score;
  return v;
}

TEST(StoriesParseTest, ReadsAStory) {
  absl::StatusOr<Story> story = ParseStoryLine(kGoodLine);
  ASSERT_TRUE(story.ok()) << story.status();
  EXPECT_EQ(story->id, "s1");
  EXPECT_EQ(story->kind, "escalation");
  EXPECT_EQ(story->split, "dev");
  EXPECT_EQ(story->language, "en");
  ASSERT_EQ(story->messages.size(), 3u);
  EXPECT_EQ(story->messages[2].user, "u1");
  EXPECT_EQ(story->messages[2].channel, "c1");
  EXPECT_EQ(story->messages[2].minute, 90);
  ASSERT_EQ(story->alerts.size(), 1u);
  EXPECT_EQ(story->alerts[0].user, "u1");
  EXPECT_EQ(story->alerts[0].at, 2);
}

TEST(StoriesParseTest, BadStoriesNameTheFieldWithoutQuotingText) {
  const std::string good = kGoodLine;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string line = good;
    line.replace(line.find(from), from.size(), to);
    return line;
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{secret", "not a JSON object"},
      {with(R"("id": "s1")", R"("id": 7)"), "id"},
      {with(R"("minute": 3)", R"("minute": 2.5)"), "messages[1].minute"},
      {with(R"("minute": 90)", R"("minute": 1)"), "messages[2].minute"},
      {with(R"("text": "secret two")", R"("text": "")"), "messages[1].text"},
      {with(R"("at": 2)", R"("at": 3)"), "alert[0].at"},
      {with(R"("user": "u1", "at")", R"("user": "u9", "at")"), "alert[0].user"},
      {with(R"("alert": [)", R"("alerts": [)"), "alert"},
  };
  for (const auto& [line, field] : cases) {
    absl::StatusOr<Story> story = ParseStoryLine(line);
    EXPECT_EQ(story.status().code(), absl::StatusCode::kInvalidArgument)
        << field;
    EXPECT_THAT(story.status().message(), HasSubstr(field));
    EXPECT_THAT(story.status().message(), Not(HasSubstr("secret")));
  }
}

TEST(StoriesParseTest, FileErrorsNameFileAndLine) {
  std::istringstream in(absl::StrCat(kGoodLine, "\n\n", kGoodLine, "\n",
                                     R"({"id": "x", "text": "secret"})", "\n"));
  absl::StatusOr<std::vector<Story>> stories = ParseStories(in, "a.jsonl");
  EXPECT_EQ(stories.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(stories.status().message(), HasSubstr("a.jsonl:4: "));
  EXPECT_THAT(stories.status().message(), Not(HasSubstr("secret")));

  std::istringstream ok(absl::StrCat(kGoodLine, "\n\n", kGoodLine, "\n"));
  stories = ParseStories(ok, "a.jsonl");
  ASSERT_TRUE(stories.ok()) << stories.status();
  ASSERT_EQ(stories->size(), 2u);
  EXPECT_EQ((*stories)[1].source, "a.jsonl:3");
}

TEST(StoriesRequestTest, MessagesCarryStoryIdsAndTimes) {
  const Story story = *ParseStoryLine(kGoodLine);
  const lantern::v1::ChatMessage m = StoryChatMessage(story, 2);
  EXPECT_EQ(m.id(), "s1#2");
  EXPECT_EQ(m.user_id(), "u1");
  EXPECT_EQ(m.channel_id(), "c1");
  EXPECT_EQ(m.sent_at().seconds(), kStoryStartUnixSeconds + 90 * 60);
}

TEST(StoriesRequestTest, UnaryHistoryIsTheSamePersonWithScoresAndNoText) {
  Story story = MakeStory({"u1", "u2", "u1", "u1", "u1"}, {});
  story.messages[3].channel = "other";
  std::vector<MessageVerdict> earlier = {
      Verdict(kLow, kLow, 0.3f), Verdict(kHigh, kHigh, 0.9f),
      VerdictFromError(absl::InvalidArgumentError("x")),
      Verdict(kMedium, kMedium, 0.5f)};
  const lantern::v1::AnalyzeRequest request =
      StoryUnaryRequest(story, 4, earlier);
  EXPECT_EQ(request.message().id(), "s#4");
  // Message 1 is u2's, 2 got an error, 3 is in another channel.
  ASSERT_EQ(request.history_size(), 1);
  EXPECT_EQ(request.history(0).message().id(), "s#0");
  EXPECT_TRUE(request.history(0).message().text().empty());
  EXPECT_FLOAT_EQ(request.history(0).score(), 0.3f);
  EXPECT_EQ(request.history(0).message().sent_at().seconds(),
            kStoryStartUnixSeconds);
}

TEST(StoriesRequestTest, UnaryHistoryKeepsTheLatestSixteen) {
  const Story story = MakeStory(std::vector<std::string>(20, "u1"), {});
  std::vector<MessageVerdict> earlier;
  for (int i = 0; i < 19; ++i) earlier.push_back(Verdict(kNone, kNone, i));
  const lantern::v1::AnalyzeRequest request =
      StoryUnaryRequest(story, 19, earlier);
  ASSERT_EQ(request.history_size(), kMaxUnaryHistory);
  EXPECT_EQ(request.history(0).message().id(), "s#3");
  EXPECT_EQ(request.history(15).message().id(), "s#18");
}

TEST(StoriesScoreTest, OnTimeLateAndMissed) {
  const Story story = MakeStory({"u1", "u1", "u1", "u1"}, {{"u1", 2}});
  auto outcome = [&](std::vector<CrisisLevel> levels) {
    return ScoreStory(story, levels, kHigh).alerts.at(0);
  };
  AlertResult r = outcome({kLow, kHigh, kMedium, kNone});
  EXPECT_EQ(r.outcome, AlertOutcome::kOnTime);
  EXPECT_EQ(r.first_flagged, 1);
  r = outcome({kLow, kMedium, kCritical, kNone});
  EXPECT_EQ(r.outcome, AlertOutcome::kOnTime);
  r = outcome({kLow, kMedium, kMedium, kHigh});
  EXPECT_EQ(r.outcome, AlertOutcome::kLate);
  EXPECT_EQ(r.first_flagged, 3);
  r = outcome({kLow, kMedium, kError, kMedium});
  EXPECT_EQ(r.outcome, AlertOutcome::kMissed);
  EXPECT_EQ(r.highest, kMedium);
  // The alert level decides what counts.
  EXPECT_EQ(
      ScoreStory(story, {kLow, kMedium, kLow, kLow}, kMedium).alerts[0].outcome,
      AlertOutcome::kOnTime);
}

TEST(StoriesScoreTest, FalseAlertOnlyInBenignStories) {
  const Story benign = MakeStory({"u1", "u2", "u1"}, {});
  StoryOutcome o = ScoreStory(benign, {kLow, kMedium, kMedium}, kHigh);
  EXPECT_FALSE(o.false_alert);
  o = ScoreStory(benign, {kLow, kHigh, kCritical}, kHigh);
  EXPECT_TRUE(o.false_alert);
  EXPECT_THAT(o.unexpected_flags, ElementsAre(1, 2));
  // Medium is an alert only when the alert level is medium.
  EXPECT_TRUE(ScoreStory(benign, {kLow, kMedium, kLow}, kMedium).false_alert);
}

TEST(StoriesScoreTest, InterleavedUsersAreScoredApart) {
  // u3 needs an alert by message 4; u1's flagged message 1 does not count
  // for u3, and is listed as unexpected but is not a false alert.
  const Story story =
      MakeStory({"u1", "u1", "u2", "u3", "u3", "u3"}, {{"u3", 4}});
  StoryOutcome o =
      ScoreStory(story, {kNone, kHigh, kNone, kLow, kMedium, kHigh}, kHigh);
  EXPECT_EQ(o.alerts[0].outcome, AlertOutcome::kLate);
  EXPECT_EQ(o.alerts[0].first_flagged, 5);
  EXPECT_THAT(o.unexpected_flags, ElementsAre(1));
  EXPECT_FALSE(o.false_alert);
  o = ScoreStory(story, {kNone, kHigh, kNone, kLow, kMedium, kLow}, kHigh);
  EXPECT_EQ(o.alerts[0].outcome, AlertOutcome::kMissed);
}

TEST(StoriesSummaryTest, MessageAloneColumnReadsMessageLevel) {
  const Story alert = MakeStory({"u1", "u1", "u1"}, {{"u1", 1}}, "escalation");
  const Story benign = MakeStory({"u1", "u2"}, {}, "banter");
  const std::vector<std::vector<MessageVerdict>> verdicts = {
      // Context raises message 1 to high; alone it is medium until 2.
      {Verdict(kLow, kLow), Verdict(kHigh, kMedium), Verdict(kHigh, kHigh)},
      // Context raises u2's message to high: a false alert with context only.
      {Verdict(kNone, kNone), Verdict(kHigh, kMedium)}};
  const StoriesReport r = Summarize({alert, benign}, verdicts, kHigh);
  EXPECT_EQ(r.messages, 5);
  EXPECT_EQ(r.errors, 0);
  EXPECT_EQ(r.overall.stories, 2);
  EXPECT_EQ(r.overall.alerts, 1);
  EXPECT_EQ(r.overall.benign, 1);
  EXPECT_EQ(r.overall.with_context.on_time, 1);
  EXPECT_EQ(r.overall.with_context.false_alerts, 1);
  EXPECT_EQ(r.overall.message_alone.on_time, 0);
  EXPECT_EQ(r.overall.message_alone.late, 1);
  EXPECT_EQ(r.overall.message_alone.false_alerts, 0);
  ASSERT_EQ(r.kinds.size(), 2u);
  EXPECT_EQ(r.kinds.at("banter").benign, 1);
  EXPECT_EQ(r.kinds.at("escalation").message_alone.late, 1);
  const std::string table = FormatStoriesTable(r, "title");
  EXPECT_THAT(table, HasSubstr("alerts on time: 1/1 with context, 0/1"));
  EXPECT_THAT(table, HasSubstr("false alerts:   1/1 benign"));
}

TEST(StoriesSummaryTest, ErrorsAreCountedAndListedWithoutText) {
  const Story story = MakeStory({"u1", "u1"}, {{"u1", 0}});
  const std::vector<std::vector<MessageVerdict>> verdicts = {
      {VerdictFromError(absl::ResourceExhaustedError("queue full")),
       Verdict(kHigh, kHigh)}};
  EXPECT_EQ(Summarize({story}, verdicts, kHigh).errors, 1);
  const std::vector<std::string> lines =
      StoryFailureLines({story}, verdicts, kHigh, "stream");
  const std::string all = absl::StrJoin(lines, "\n");
  EXPECT_THAT(all, HasSubstr("stream s#0 (f:1): error RESOURCE_EXHAUSTED"));
  EXPECT_THAT(all, HasSubstr("with context late (#1 high)"));
  EXPECT_THAT(all, Not(HasSubstr(": t")));
}

TEST(StoriesSummaryTest, PerfectStoriesHaveNoFailureLines) {
  const Story story = MakeStory({"u1", "u2"}, {{"u1", 0}});
  EXPECT_THAT(
      StoryFailureLines({story}, {{Verdict(kHigh, kHigh), Verdict(kLow, kLow)}},
                        kHigh, "unary"),
      IsEmpty());
}

TEST(StoriesSummaryTest, ComparePathsCountsDifferentLevels) {
  const Story story = MakeStory({"u1", "u1", "u1"}, {});
  const PathComparison c = ComparePaths(
      {story},
      {{Verdict(kLow, kLow), Verdict(kHigh, kMedium),
        VerdictFromError(absl::InternalError("x"))}},
      {{Verdict(kLow, kLow), Verdict(kMedium, kMedium), Verdict(kLow, kLow)}});
  EXPECT_EQ(c.compared, 2);
  EXPECT_EQ(c.level_differences, 1);
  EXPECT_EQ(c.message_level_differences, 0);
  EXPECT_THAT(c.lines, ElementsAre(HasSubstr("s#1 (u1): stream high, unary "
                                             "medium")));
}

TEST(StoriesSummaryTest, JsonHoldsTheNumbers) {
  const Story story = MakeStory({"u1"}, {{"u1", 0}}, "crisis");
  StoriesJsonInput input;
  input.alert_level = "high";
  input.split = "all";
  input.stories = 1;
  input.paths["stream"] =
      Summarize({story}, {{Verdict(kHigh, kMedium)}}, kHigh);
  const std::string json = StoriesJson(input);
  EXPECT_THAT(json, HasSubstr(R"("alert_level":"high")"));
  EXPECT_THAT(json, HasSubstr(R"("crisis":{)"));
  EXPECT_THAT(json, HasSubstr(R"("with_context":{"on_time":1,"late":0,)"
                              R"("missed":0,"false_alerts":0})"));
  EXPECT_THAT(json, Not(HasSubstr("comparison")));
  input.failures.push_back("a \"quoted\"\\ line\n");
  EXPECT_THAT(StoriesJson(input),
              HasSubstr(R"("failures":["a \"quoted\"\\ line\u000a"]})"));
}

TEST(StoriesCliTest, UsageErrorsExitWith2) {
  for (std::vector<const char*> args :
       {std::vector<const char*>{"lantern", "stories"},
        {"lantern", "stories", "f.jsonl", "--via", "carrier-pigeon"},
        {"lantern", "stories", "f.jsonl", "--alert-level", "low"},
        {"lantern", "stories", "f.jsonl", "--split", "train"}}) {
    std::istringstream in;
    std::ostringstream out, err;
    EXPECT_EQ(
        RunCli(static_cast<int>(args.size()), args.data(), "x:1", in, out, err),
        kExitUsage)
        << args.back();
  }
  absl::StatusOr<CliOptions> options =
      ParseCommandLine(7,
                       std::vector<const char*>{"lantern", "stories", "a", "b",
                                                "--via", "both", "--json"}
                           .data(),
                       "x:1");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->command, Command::kStories);
  EXPECT_THAT(options->stories.files, ElementsAre("a", "b"));
  EXPECT_EQ(options->stories.via, StoriesVia::kBoth);
  EXPECT_TRUE(options->stories.json);
  EXPECT_THAT(UsageText(), HasSubstr("stories FILE..."));
}

}  // namespace
}  // namespace lantern::client
