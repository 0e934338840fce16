#include "core/ensemble.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;

config::v1::ModelSpec Spec(const std::string& name, std::vector<float> risks,
                           float weight = 1.0f) {
  config::v1::ModelSpec spec;
  spec.set_name(name);
  spec.set_version("3");
  spec.set_role("severity");
  spec.set_weight(weight);
  for (size_t i = 0; i < risks.size(); ++i) {
    auto* label = spec.add_labels();
    label->set_name("l" + std::to_string(i));
    label->set_risk(risks[i]);
  }
  return spec;
}

config::v1::Thresholds Thresholds() {
  config::v1::Thresholds t;
  t.set_low(0.2f);
  t.set_medium(0.4f);
  t.set_high(0.6f);
  t.set_critical(0.8f);
  return t;
}

Signal MakeTestSignal(const std::string& model, float score, float prob,
                      float weight = 1.0f) {
  Signal s;
  s.model = model;
  s.label = "x";
  s.score = score;
  s.label_probability = prob;
  s.weight = weight;
  return s;
}

TEST(MakeSignalTest, SoftmaxWeightsRisksAndPicksTopLabel) {
  // logits (0, ln 3) -> probabilities (0.25, 0.75).
  auto signal = MakeSignal(Spec("sev", {0.0f, 1.0f}), {0.0f, std::log(3.0f)});
  ASSERT_TRUE(signal.ok());
  EXPECT_EQ(signal->model, "sev");
  EXPECT_EQ(signal->version, "3");
  EXPECT_EQ(signal->label, "l1");
  EXPECT_THAT(signal->label_probability, FloatNear(0.75f, 1e-5));
  EXPECT_THAT(signal->score, FloatNear(0.75f, 1e-5));
}

TEST(MakeSignalTest, LargeLogitsDoNotOverflow) {
  auto signal = MakeSignal(Spec("sev", {0.0f, 0.5f, 1.0f}), {1000.0f, 0.0f, -1000.0f});
  ASSERT_TRUE(signal.ok());
  EXPECT_EQ(signal->label, "l0");
  EXPECT_THAT(signal->score, FloatNear(0.0f, 1e-5));
}

TEST(MakeSignalTest, WrongNumberOfLogitsIsInvalidArgument) {
  auto signal = MakeSignal(Spec("sev", {0.0f, 1.0f}), {0.1f, 0.2f, 0.3f});
  EXPECT_EQ(signal.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(signal.status().message(), HasSubstr("returned 3 logits"));
}

TEST(EnsembleTest, LevelForUsesInclusiveLowerBounds) {
  Ensemble e(Thresholds(), "v");
  EXPECT_EQ(e.LevelFor(0.0f), Level::kNone);
  EXPECT_EQ(e.LevelFor(0.1999f), Level::kNone);
  EXPECT_EQ(e.LevelFor(0.2f), Level::kLow);
  EXPECT_EQ(e.LevelFor(0.4f), Level::kMedium);
  EXPECT_EQ(e.LevelFor(0.6f), Level::kHigh);
  EXPECT_EQ(e.LevelFor(0.8f), Level::kCritical);
  EXPECT_EQ(e.LevelFor(1.0f), Level::kCritical);
}

TEST(EnsembleTest, CombinesWithWeightedMean) {
  Ensemble e(Thresholds(), "v");
  // (3 * 0.95 + 1 * 0.55) / 4 = 0.85 -> critical.
  auto v = e.Combine({MakeTestSignal("a", 0.95f, 0.9f, 3.0f),
                      MakeTestSignal("b", 0.55f, 0.8f, 1.0f)},
                     {});
  ASSERT_TRUE(v.ok());
  EXPECT_THAT(v->score, FloatNear(0.85f, 1e-5));
  EXPECT_EQ(v->level, Level::kCritical);
  EXPECT_TRUE(v->requires_review);
  EXPECT_FALSE(v->degraded);
  EXPECT_EQ(v->signals.size(), 2u);
  EXPECT_THAT(v->recommended_action, HasSubstr("act now"));
  // mean top prob 0.85 x (1 - spread 0.4) = 0.51
  EXPECT_THAT(v->confidence, FloatNear(0.51f, 1e-5));
  EXPECT_THAT(v->key_factors,
              ElementsAre("a model: x (90%)", "b model: x (80%)",
                          "models disagree; a is the most concerned"));
}

TEST(EnsembleTest, AgreeingConfidentModelsGiveHighConfidence) {
  Ensemble e(Thresholds(), "v");
  auto v = e.Combine({MakeTestSignal("a", 0.05f, 0.95f), MakeTestSignal("b", 0.1f, 0.9f)}, {});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->level, Level::kNone);
  EXPECT_FALSE(v->requires_review);
  EXPECT_THAT(v->confidence, FloatNear(0.925f * 0.95f, 1e-5));
  EXPECT_EQ(v->key_factors.back(), "models agree");
}

TEST(EnsembleTest, LowLevelNeedsReviewOnlyWhenUnsure) {
  Ensemble e(Thresholds(), "v");
  auto sure = e.Combine({MakeTestSignal("a", 0.3f, 0.9f)}, {});
  auto unsure = e.Combine({MakeTestSignal("a", 0.3f, 0.4f)}, {});
  ASSERT_TRUE(sure.ok() && unsure.ok());
  EXPECT_EQ(sure->level, Level::kLow);
  EXPECT_FALSE(sure->requires_review);
  EXPECT_EQ(unsure->level, Level::kLow);
  EXPECT_TRUE(unsure->requires_review);
}

TEST(EnsembleTest, SkippedModelMarksDegradedAndIsExplained) {
  Ensemble e(Thresholds(), "v");
  auto v = e.Combine({MakeTestSignal("a", 0.5f, 0.9f)}, {{"b", "INTERNAL"}});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->degraded);
  EXPECT_EQ(v->level, Level::kMedium);
  EXPECT_EQ(v->key_factors.back(), "b model skipped (INTERNAL)");
}

TEST(EnsembleTest, NoSignalsIsFailedPrecondition) {
  Ensemble e(Thresholds(), "v");
  EXPECT_EQ(e.Combine({}, {{"a", "INTERNAL"}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(EnsembleTest, LevelNamesAndActions) {
  EXPECT_EQ(LevelName(Level::kHigh), "high");
  EXPECT_EQ(LevelName(Level::kNone), "none");
  EXPECT_EQ(RecommendedAction(Level::kNone), "No action needed.");
  EXPECT_THAT(std::string(RecommendedAction(Level::kMedium)), HasSubstr("check in"));
}

}  // namespace
}  // namespace lantern::core
