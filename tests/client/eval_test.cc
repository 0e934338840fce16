#include "client/eval.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::client {
namespace {

using ::lantern::v1::CrisisLevel;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
constexpr CrisisLevel kNone = lantern::v1::CRISIS_LEVEL_NONE;
constexpr CrisisLevel kLow = lantern::v1::CRISIS_LEVEL_LOW;
constexpr CrisisLevel kMedium = lantern::v1::CRISIS_LEVEL_MEDIUM;
constexpr CrisisLevel kHigh = lantern::v1::CRISIS_LEVEL_HIGH;
constexpr CrisisLevel kCritical = lantern::v1::CRISIS_LEVEL_CRITICAL;
constexpr CrisisLevel kError = lantern::v1::CRISIS_LEVEL_UNSPECIFIED;

TEST(EvalTest, NoLabelAcceptsEveryLevel) {
  for (CrisisLevel l : {kNone, kLow, kMedium, kHigh, kCritical}) {
    const auto accepted = DefaultAccepted(l);
    EXPECT_LT(accepted.size(), 5u);
    EXPECT_NE(std::find(accepted.begin(), accepted.end(), l), accepted.end());
  }
  EXPECT_THAT(DefaultAccepted(kHigh), ElementsAre(kHigh, kCritical));
  EXPECT_THAT(DefaultAccepted(kNone), ElementsAre(kNone, kLow));
}

TEST(EvalTest, ParsesLevelTagsAndExpectedOverride) {
  auto c = ParseEvalLine(
      R"({"id": "t1", "text": "hi", "level": "Medium", "tags": ["a", "b"]})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id, "t1");
  EXPECT_EQ(c->labelled, kMedium);
  EXPECT_THAT(c->accepted, ElementsAre(kLow, kMedium, kHigh));
  EXPECT_THAT(c->tags, ElementsAre("a", "b"));
  auto strict = ParseEvalLine(
      R"({"text": "x", "level": "high", "expected": ["critical"]})");
  ASSERT_TRUE(strict.ok());
  EXPECT_THAT(strict->accepted, ElementsAre(kCritical));
}

TEST(EvalTest, BadLinesAreInvalidArgumentWithoutText) {
  for (const char* line :
       {"{", R"({"level": "high"})", R"({"text": "secret", "level": "huge"})",
        R"({"text": "secret"})"}) {
    auto c = ParseEvalLine(line);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << line;
    EXPECT_THAT(c.status().message(), Not(HasSubstr("secret")));
  }
}

EvalCase Case(CrisisLevel level, std::vector<std::string> tags) {
  EvalCase c;
  c.text = "t";
  c.labelled = level;
  c.accepted = DefaultAccepted(level);
  c.tags = std::move(tags);
  return c;
}

TEST(EvalTest, SummarizeCountsRecallFalseAlarmsAndFamilies) {
  const std::vector<EvalCase> cases = {
      Case(kCritical, {"plan"}),
      Case(kHigh, {"plan"}),
      Case(kHigh, {"plan"}),
      Case(kNone, {"gaming", "false_alarm"}),
      Case(kNone, {"gaming", "false_alarm"}),
      Case(kNone, {"everyday"}),
      Case(kLow, {"everyday", "false_alarm"}),
  };
  const std::vector<CrisisLevel> predicted = {kCritical, kMedium, kHigh, kNone,
                                              kMedium,   kNone,   kError};
  const EvalReport r = Summarize(cases, predicted);
  EXPECT_EQ(r.total, 7);
  EXPECT_EQ(r.errors, 1);
  EXPECT_EQ(r.passed, 4);
  EXPECT_EQ(r.high_labelled, 3);
  EXPECT_EQ(r.high_caught, 2);
  EXPECT_FALSE(r.high_recall_met);
  EXPECT_EQ(r.none_labelled, 3);
  EXPECT_EQ(r.none_alarmed, 1);
  EXPECT_FALSE(r.none_alarm_met);
  EXPECT_EQ(r.confusion[kHigh][kMedium], 1);
  EXPECT_EQ(r.confusion[kLow][0], 1);
  // gaming: every message is a false alarm -> a family; everyday is not.
  EXPECT_TRUE(r.tags.at("gaming").false_alarm_family);
  EXPECT_EQ(r.tags.at("gaming").low_or_none, 1);
  EXPECT_FALSE(r.tags.at("gaming").met);
  EXPECT_FALSE(r.tags.at("everyday").false_alarm_family);
  EXPECT_FALSE(r.tags.at("false_alarm").false_alarm_family);
  EXPECT_EQ(r.tags.at("plan").passed, 2);
  EXPECT_FALSE(r.all_met);
  const std::string text = FormatReport(r, EvalTargets(), "cases");
  EXPECT_THAT(text, HasSubstr("recall of high+critical"));
  EXPECT_THAT(text, HasSubstr("66.7%"));
  EXPECT_THAT(text, HasSubstr("all targets: NOT met"));
}

TEST(EvalTest, SummarizeCountsMediumAndLanguages) {
  const std::vector<EvalCase> cases = {
      Case(kMedium, {"depression"}),
      Case(kMedium, {"panic"}),
      Case(kMedium, {"depression", "lang_es"}),
      Case(kHigh, {"ideation", "lang_es"}),
      Case(kNone, {"everyday", "lang_de"}),
  };
  const EvalReport r =
      Summarize(cases, {kHigh, kLow, kCritical, kHigh, kMedium});
  // Medium rated medium or high: only the first (critical is too much).
  EXPECT_EQ(r.medium_labelled, 3);
  EXPECT_EQ(r.medium_flagged, 1);
  EXPECT_FALSE(r.medium_met);
  ASSERT_EQ(r.languages.size(), 3u);
  EXPECT_EQ(r.languages.at("en").total, 2);
  EXPECT_EQ(r.languages.at("en").medium_flagged, 1);
  EXPECT_EQ(r.languages.at("es").high_caught, 1);
  EXPECT_EQ(r.languages.at("es").medium_flagged, 0);
  EXPECT_EQ(r.languages.at("de").none_alarmed, 1);
  const std::string text = FormatReport(r, EvalTargets(), "cases");
  EXPECT_THAT(text, HasSubstr("medium rated medium or high"));
  EXPECT_THAT(text, HasSubstr("33.3%"));
  EXPECT_THAT(text, HasSubstr("es              2"));
}

TEST(EvalTest, PerfectRunMeetsEveryTarget) {
  const std::vector<EvalCase> cases = {Case(kCritical, {"plan"}),
                                       Case(kNone, {"gaming", "false_alarm"})};
  const EvalReport r = Summarize(cases, {kHigh, kLow});
  EXPECT_TRUE(r.high_recall_met);
  EXPECT_TRUE(r.none_alarm_met);
  EXPECT_TRUE(r.all_met);
}

}  // namespace
}  // namespace lantern::client
