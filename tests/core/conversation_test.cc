#include "core/conversation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Thresholds 0.2 / 0.4 / 0.6 / 0.8, as in the fake model directories.
Level LevelOf(float score) {
  if (score >= 0.8f) return Level::kCritical;
  if (score >= 0.6f) return Level::kHigh;
  if (score >= 0.4f) return Level::kMedium;
  if (score >= 0.2f) return Level::kLow;
  return Level::kNone;
}

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

PriorScore At(absl::Duration before, float score) {
  return {kNow - before, score};
}

class ContextRulesTest : public ::testing::Test {
 protected:
  ContextRules rules_{ContextOptions(), LevelOf};
};

TEST_F(ContextRulesTest, NoHistoryKeepsTheMessageLevel) {
  const ConversationContext c = rules_.Evaluate({}, kNow, 0.3f);
  EXPECT_EQ(c.prior_messages, 0);
  EXPECT_EQ(c.message_level, Level::kLow);
  EXPECT_EQ(c.level, Level::kLow);
  EXPECT_EQ(c.trend, Trend::kUnspecified);
  EXPECT_THAT(c.factors, IsEmpty());
  EXPECT_THAT(c.raise_reason, IsEmpty());
}

TEST_F(ContextRulesTest, TwoMediumMessagesInSixHoursRaiseLowToHigh) {
  const ConversationContext c = rules_.Evaluate(
      {At(absl::Hours(5), 0.5f), At(absl::Hours(2), 0.45f)}, kNow, 0.25f);
  EXPECT_EQ(c.message_level, Level::kLow);
  EXPECT_EQ(c.level, Level::kHigh);
  EXPECT_EQ(c.raise_reason,
            "2 earlier messages at medium or above in the last 6 hours");
}

TEST_F(ContextRulesTest, MediumMessagesOlderThanSixHoursDoNotRaise) {
  const ConversationContext c = rules_.Evaluate(
      {At(absl::Hours(8), 0.5f), At(absl::Hours(7), 0.45f)}, kNow, 0.25f);
  EXPECT_EQ(c.prior_messages, 2);
  EXPECT_EQ(c.level, Level::kLow);
}

TEST_F(ContextRulesTest, MediumAfterAHighRiskMessageIsHigh) {
  const ConversationContext c =
      rules_.Evaluate({At(absl::Minutes(40), 0.7f)}, kNow, 0.5f);
  EXPECT_EQ(c.level, Level::kHigh);
  EXPECT_EQ(c.raise_reason, "still distressed after a high-risk message");
  EXPECT_THAT(c.factors,
              ElementsAre("second distressed message in 40 minutes",
                          "follows a high-risk message 40 minutes ago"));
}

TEST_F(ContextRulesTest, SteadyRiseOverADayRaisesMediumToHigh) {
  const ConversationContext c =
      rules_.Evaluate({At(absl::Hours(20), 0.05f), At(absl::Hours(14), 0.15f),
                       At(absl::Hours(9), 0.25f), At(absl::Hours(7), 0.3f)},
                      kNow, 0.45f);
  // Scores 0.05, 0.15, 0.25, 0.3, 0.45 against 0..4: slope 0.095.
  EXPECT_NEAR(c.trend_slope, 0.095f, 1e-5);
  EXPECT_EQ(c.trend, Trend::kRising);
  EXPECT_EQ(c.level, Level::kHigh);
  EXPECT_EQ(c.raise_reason, "rising distress over 5 messages");
  EXPECT_THAT(c.factors, ElementsAre("rising over the last 5 messages"));
}

TEST_F(ContextRulesTest, ARiseThroughDistressedMessagesRaisesLowToHigh) {
  // "rough day", "nothing ever gets better", "I've made up my mind".
  const ConversationContext c = rules_.Evaluate(
      {At(absl::Minutes(80), 0.25f), At(absl::Minutes(60), 0.32f)}, kNow,
      0.39f);
  EXPECT_EQ(c.message_level, Level::kLow);
  EXPECT_EQ(c.trend, Trend::kRising);
  EXPECT_EQ(c.level, Level::kHigh);
  EXPECT_EQ(c.raise_reason, "rising distress over 3 messages");
}

TEST_F(ContextRulesTest, ARiseFromACalmMessageNeedsThreeEarlierOnes) {
  const ConversationContext two = rules_.Evaluate(
      {At(absl::Minutes(80), 0.05f), At(absl::Minutes(60), 0.25f)}, kNow,
      0.39f);
  EXPECT_EQ(two.trend, Trend::kRising);
  EXPECT_EQ(two.level, Level::kLow);
  const ConversationContext three = rules_.Evaluate(
      {At(absl::Minutes(90), 0.05f), At(absl::Minutes(80), 0.05f),
       At(absl::Minutes(60), 0.25f)},
      kNow, 0.39f);
  EXPECT_EQ(three.level, Level::kHigh);
}

TEST_F(ContextRulesTest, ThirdDistressedMessageInAnHourRaisesLowToMedium) {
  const ConversationContext c = rules_.Evaluate(
      {At(absl::Minutes(20), 0.3f), At(absl::Minutes(10), 0.25f)}, kNow, 0.3f);
  EXPECT_EQ(c.level, Level::kMedium);
  EXPECT_EQ(c.raise_reason, "third distressed message within an hour");
  EXPECT_THAT(c.factors, ElementsAre("third distressed message in 20 minutes"));
}

TEST_F(ContextRulesTest, CalmMessageAfterACrisisIsNotRaisedButRemembers) {
  const ConversationContext c =
      rules_.Evaluate({At(absl::Minutes(30), 0.9f)}, kNow, 0.05f);
  EXPECT_EQ(c.level, Level::kNone);
  EXPECT_EQ(c.prior_messages, 1);
  EXPECT_FLOAT_EQ(c.peak_score, 0.9f);
  EXPECT_EQ(c.since_peak, absl::Minutes(30));
  EXPECT_EQ(c.trend, Trend::kFalling);
  EXPECT_THAT(c.factors,
              ElementsAre("follows a high-risk message 30 minutes ago"));
}

TEST_F(ContextRulesTest, NeverMakesCriticalAndNeverLowers) {
  const std::vector<PriorScore> crisis = {At(absl::Minutes(30), 0.9f),
                                          At(absl::Minutes(20), 0.9f)};
  EXPECT_EQ(rules_.Evaluate(crisis, kNow, 0.65f).level, Level::kHigh);
  EXPECT_EQ(rules_.Evaluate(crisis, kNow, 0.85f).level, Level::kCritical);
  EXPECT_EQ(rules_.Evaluate({At(absl::Minutes(5), 0.0f)}, kNow, 0.85f).level,
            Level::kCritical);
}

TEST_F(ContextRulesTest, OnlyTheLatestMessagesWithinTheWindowCount) {
  ContextOptions options;
  options.max_messages = 2;
  options.window = absl::Hours(1);
  const ContextRules rules(options, LevelOf);
  const ConversationContext c =
      rules.Evaluate({At(absl::Hours(2), 0.9f),     // outside the window
                      At(absl::Minutes(50), 0.5f),  // beyond max_messages
                      At(absl::Minutes(40), 0.1f), At(absl::Minutes(30), 0.1f),
                      At(-absl::Minutes(5), 0.9f)},  // sent after the message
                     kNow, 0.1f);
  EXPECT_EQ(c.prior_messages, 2);
  EXPECT_FLOAT_EQ(c.peak_score, 0.1f);
}

TEST(ApplyContextTest, RaisesVerdictWithReasonReviewAndAction) {
  Verdict verdict;
  verdict.level = Level::kLow;
  verdict.score = 0.3f;
  ConversationContext context;
  context.message_level = Level::kLow;
  context.level = Level::kHigh;
  context.raise_reason = "rising distress over 4 messages";
  ApplyContext(context, &verdict);
  EXPECT_EQ(verdict.level, Level::kHigh);
  EXPECT_FLOAT_EQ(verdict.score, 0.3f);  // The message's own score stays.
  EXPECT_TRUE(verdict.requires_review);
  EXPECT_EQ(verdict.recommended_action, RecommendedAction(Level::kHigh));
  ASSERT_EQ(verdict.factors.size(), 1u);
  EXPECT_EQ(verdict.factors[0].source, "context");
  EXPECT_EQ(verdict.factors[0].description,
            "raised to high by conversation context: rising distress over 4 "
            "messages");
}

TEST(ApplyContextTest, LeavesAVerdictAtOrAboveTheContextLevel) {
  Verdict verdict;
  verdict.level = Level::kCritical;
  ConversationContext context;
  context.level = Level::kHigh;
  ApplyContext(context, &verdict);
  EXPECT_EQ(verdict.level, Level::kCritical);
  EXPECT_THAT(verdict.factors, IsEmpty());
}

TEST(ContextOptionsTest, RejectsBoundsOutOfRange) {
  ContextOptions options;
  EXPECT_TRUE(options.Validate().ok());
  options.max_messages = 0;
  EXPECT_THAT(options.Validate().message(), HasSubstr("1..256"));
  options = ContextOptions();
  options.window = absl::Hours(24 * 8);
  EXPECT_EQ(options.Validate().code(), absl::StatusCode::kInvalidArgument);
  options = ContextOptions();
  options.max_people = 0;
  EXPECT_EQ(options.Validate().code(), absl::StatusCode::kInvalidArgument);
}

class ContextStoreTest : public ::testing::Test {
 protected:
  static CacheKey Person(const std::string& user) {
    return ContextStore::PersonKey("channel", user);
  }
  ContextBudget budget_{100};
};

TEST_F(ContextStoreTest, KeepsEachPersonsScoresInTimeOrder) {
  ContextStore store(ContextOptions(), &budget_);
  store.Record(Person("a"), At(absl::Minutes(10), 0.1f));
  store.Record(Person("a"), At(absl::Minutes(30), 0.3f));  // arrives late
  store.Record(Person("b"), At(absl::Minutes(5), 0.9f));
  const std::vector<PriorScore> a = store.History(Person("a"), kNow);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_FLOAT_EQ(a[0].score, 0.3f);
  EXPECT_FLOAT_EQ(a[1].score, 0.1f);
  EXPECT_EQ(store.History(Person("b"), kNow).size(), 1u);
  EXPECT_THAT(store.History(Person("c"), kNow), IsEmpty());
  EXPECT_EQ(budget_.stats().people, 2u);
  EXPECT_EQ(budget_.stats().records, 3u);
}

TEST_F(ContextStoreTest, SameUserInAnotherChannelIsAnotherPerson) {
  EXPECT_NE(ContextStore::PersonKey("c1", "u"),
            ContextStore::PersonKey("c2", "u"));
  EXPECT_NE(ContextStore::PersonKey("c", "1u"),
            ContextStore::PersonKey("c1", "u"));
}

TEST_F(ContextStoreTest, DropsTheOldestBeyondMaxMessagesAndExpiresOld) {
  ContextOptions options;
  options.max_messages = 2;
  options.window = absl::Hours(1);
  ContextStore store(options, &budget_);
  store.Record(Person("a"), At(absl::Minutes(50), 0.1f));
  store.Record(Person("a"), At(absl::Minutes(40), 0.2f));
  store.Record(Person("a"), At(absl::Minutes(30), 0.3f));
  EXPECT_EQ(budget_.stats().records_evicted, 1u);
  const std::vector<PriorScore> later =
      store.History(Person("a"), kNow + absl::Minutes(25));
  ASSERT_EQ(later.size(), 1u);  // 0.2 is now over an hour old
  EXPECT_FLOAT_EQ(later[0].score, 0.3f);
  EXPECT_EQ(budget_.stats().records_expired, 1u);
  EXPECT_EQ(budget_.stats().records, 1u);
}

TEST_F(ContextStoreTest, ForgetsTheLeastRecentlySeenPersonFirst) {
  ContextOptions options;
  options.max_people = 2;
  ContextStore store(options, &budget_);
  store.Record(Person("a"), At(absl::Minutes(3), 0.5f));
  store.Record(Person("b"), At(absl::Minutes(2), 0.5f));
  store.History(Person("a"), kNow);  // a is now more recent than b
  store.Record(Person("c"), At(absl::Minutes(1), 0.5f));
  EXPECT_EQ(store.people(), 2);
  EXPECT_EQ(store.History(Person("a"), kNow).size(), 1u);
  EXPECT_THAT(store.History(Person("b"), kNow), IsEmpty());
  EXPECT_EQ(budget_.stats().people_evicted, 1u);
}

TEST_F(ContextStoreTest, ServerWideBudgetBoundsAllStoresTogether) {
  ContextBudget budget(2);
  auto first = std::make_unique<ContextStore>(ContextOptions(), &budget);
  ContextStore second(ContextOptions(), &budget);
  first->Record(Person("a"), At(absl::Minutes(2), 0.5f));
  first->Record(Person("b"), At(absl::Minutes(2), 0.5f));
  // The budget is full and `second` has nobody to forget: not remembered.
  second.Record(Person("c"), At(absl::Minutes(1), 0.5f));
  EXPECT_THAT(second.History(Person("c"), kNow), IsEmpty());
  EXPECT_EQ(budget.stats().people_evicted, 1u);
  // A store that ends gives its room back.
  first.reset();
  EXPECT_EQ(budget.stats().people, 0u);
  EXPECT_EQ(budget.stats().records, 0u);
  second.Record(Person("c"), At(absl::Minutes(1), 0.5f));
  EXPECT_EQ(second.History(Person("c"), kNow).size(), 1u);
}

}  // namespace
}  // namespace lantern::core
