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

config::v1::EnsembleConfig Config(
    config::v1::CombineMode mode = config::v1::COMBINE_MODE_UNSPECIFIED) {
  config::v1::EnsembleConfig c;
  c.set_version("v");
  c.set_mode(mode);
  c.mutable_thresholds()->set_low(0.2f);
  c.mutable_thresholds()->set_medium(0.4f);
  c.mutable_thresholds()->set_high(0.6f);
  c.mutable_thresholds()->set_critical(0.8f);
  return c;
}

// An ensemble of risk models "a" and "b" (and "ctx" when a modifier is set).
Ensemble MakeEnsemble(config::v1::EnsembleConfig config = Config()) {
  std::vector<config::v1::ModelSpec> specs = {
      Spec("a", {0, 1}), Spec("b", {0, 1}), Spec("ctx", {0, 0})};
  auto e = Ensemble::Create(config, specs);
  EXPECT_TRUE(e.ok()) << e.status();
  return *std::move(e);
}

std::vector<std::string> Descriptions(const Verdict& v) {
  std::vector<std::string> out;
  for (const Factor& f : v.factors) out.push_back(f.description);
  return out;
}

Signal MakeTestSignal(const std::string& model, float score, float prob,
                      float weight = 1.0f) {
  Signal s;
  s.model = model;
  s.label = "x";
  s.score = score;
  s.label_probability = prob;
  s.weight = weight;
  s.probabilities = {1.0f - prob, prob};
  return s;
}

// A "ctx" modifier signal whose label l1 ("non-literal") has probability p.
Signal Context(float p) { return MakeTestSignal("ctx", 0.0f, p); }

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
  auto signal =
      MakeSignal(Spec("sev", {0.0f, 0.5f, 1.0f}), {1000.0f, 0.0f, -1000.0f});
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
  const Ensemble e = MakeEnsemble();
  EXPECT_EQ(e.LevelFor(0.0f), Level::kNone);
  EXPECT_EQ(e.LevelFor(0.1999f), Level::kNone);
  EXPECT_EQ(e.LevelFor(0.2f), Level::kLow);
  EXPECT_EQ(e.LevelFor(0.4f), Level::kMedium);
  EXPECT_EQ(e.LevelFor(0.6f), Level::kHigh);
  EXPECT_EQ(e.LevelFor(0.8f), Level::kCritical);
  EXPECT_EQ(e.LevelFor(1.0f), Level::kCritical);
}

TEST(EnsembleTest, CombinesWithWeightedMean) {
  const Ensemble e = MakeEnsemble();
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
  EXPECT_THAT(Descriptions(*v),
              ElementsAre("a model: x (90%)", "b model: x (80%)",
                          "models disagree; a is the most concerned"));
  EXPECT_EQ(v->factors[0].source, "a");
  EXPECT_EQ(v->factors[2].source, "ensemble");
}

TEST(EnsembleTest, AgreeingConfidentModelsGiveHighConfidence) {
  const Ensemble e = MakeEnsemble();
  auto v = e.Combine(
      {MakeTestSignal("a", 0.05f, 0.95f), MakeTestSignal("b", 0.1f, 0.9f)}, {});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->level, Level::kNone);
  EXPECT_FALSE(v->requires_review);
  EXPECT_THAT(v->confidence, FloatNear(0.925f * 0.95f, 1e-5));
  EXPECT_EQ(v->factors.back().description, "models agree");
}

TEST(EnsembleTest, LowLevelNeedsReviewOnlyWhenUnsure) {
  const Ensemble e = MakeEnsemble();
  auto sure = e.Combine({MakeTestSignal("a", 0.3f, 0.9f)}, {});
  auto unsure = e.Combine({MakeTestSignal("a", 0.3f, 0.4f)}, {});
  ASSERT_TRUE(sure.ok() && unsure.ok());
  EXPECT_EQ(sure->level, Level::kLow);
  EXPECT_FALSE(sure->requires_review);
  EXPECT_EQ(unsure->level, Level::kLow);
  EXPECT_TRUE(unsure->requires_review);
}

TEST(EnsembleTest, SkippedModelMarksDegradedAndIsExplained) {
  const Ensemble e = MakeEnsemble();
  auto v = e.Combine({MakeTestSignal("a", 0.5f, 0.9f)}, {{"b", "INTERNAL"}});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->degraded);
  EXPECT_EQ(v->level, Level::kMedium);
  EXPECT_EQ(v->factors.back().description, "b model skipped (INTERNAL)");
}

TEST(EnsembleTest, ConservativeMaxTakesTheMostConcernedModel) {
  const Ensemble e =
      MakeEnsemble(Config(config::v1::COMBINE_MODE_CONSERVATIVE_MAX));
  auto v = e.Combine({MakeTestSignal("a", 0.1f, 0.9f, 3.0f),
                      MakeTestSignal("b", 0.65f, 0.7f, 1.0f)},
                     {});
  ASSERT_TRUE(v.ok());
  EXPECT_THAT(v->score, FloatNear(0.65f, 1e-5));
  EXPECT_EQ(v->level, Level::kHigh);
}

TEST(EnsembleTest, MajorityVotesByWeightAndTiesGoHigher) {
  const Ensemble e = MakeEnsemble(Config(config::v1::COMBINE_MODE_MAJORITY));
  // a (weight 1) votes high, b (weight 2) votes none: none wins.
  auto v = e.Combine({MakeTestSignal("a", 0.7f, 0.9f, 1.0f),
                      MakeTestSignal("b", 0.1f, 0.9f, 2.0f)},
                     {});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->level, Level::kNone);
  EXPECT_THAT(v->score, FloatNear(0.3f, 1e-5));
  // Equal weights: the higher level wins the tie.
  auto tie = e.Combine(
      {MakeTestSignal("a", 0.7f, 0.9f), MakeTestSignal("b", 0.1f, 0.9f)}, {});
  ASSERT_TRUE(tie.ok());
  EXPECT_EQ(tie->level, Level::kHigh);
}

config::v1::EnsembleConfig WithContextModifier(float strength) {
  config::v1::EnsembleConfig c = Config();
  auto* m = c.add_modifiers();
  m->set_model("ctx");
  m->set_label("l1");
  m->set_strength(strength);
  return c;
}

TEST(EnsembleTest, ModifierLowersTheScoreAndSaysSo) {
  const Ensemble e = MakeEnsemble(WithContextModifier(0.5f));
  // 0.7 x (1 - 0.5 x 0.8) = 0.42 -> medium instead of high.
  auto v = e.Combine({MakeTestSignal("a", 0.7f, 0.9f), Context(0.8f)}, {});
  ASSERT_TRUE(v.ok());
  EXPECT_THAT(v->score, FloatNear(0.42f, 1e-5));
  EXPECT_EQ(v->level, Level::kMedium);
  EXPECT_THAT(
      Descriptions(*v),
      ElementsAre("a model: x (90%)", "ctx model: l1 (80%); score lowered"));
  // The modifier is not a risk model: it neither votes nor adds weight.
  auto literal =
      e.Combine({MakeTestSignal("a", 0.7f, 0.9f), Context(0.1f)}, {});
  ASSERT_TRUE(literal.ok());
  EXPECT_THAT(literal->score, FloatNear(0.7f * 0.95f, 1e-5));
  EXPECT_THAT(Descriptions(*literal), ElementsAre("a model: x (90%)"));
}

TEST(EnsembleTest, BadModifiersAreInvalidArgument) {
  std::vector<config::v1::ModelSpec> specs = {Spec("a", {0, 1}),
                                              Spec("ctx", {0, 0})};
  auto unknown_model = WithContextModifier(0.5f);
  unknown_model.mutable_modifiers(0)->set_model("nope");
  EXPECT_EQ(Ensemble::Create(unknown_model, specs).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto unknown_label = WithContextModifier(0.5f);
  unknown_label.mutable_modifiers(0)->set_label("sarcasm");
  EXPECT_THAT(Ensemble::Create(unknown_label, specs).status().message(),
              HasSubstr("'sarcasm' is not a label of model 'ctx'"));
  EXPECT_EQ(Ensemble::Create(WithContextModifier(1.5f), specs).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ensemble::Create(WithContextModifier(0.5f), {Spec("ctx", {0, 0})})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// tests/fuzz/ensemble_fuzzer's checks fail on this: a NaN strength ("NaN" is
// valid protobuf JSON) passed the range check and made every score NaN,
// which reads as level "none".
TEST(EnsembleTest, NanStrengthIsInvalidArgument) {
  std::vector<config::v1::ModelSpec> specs = {Spec("a", {0, 1}),
                                              Spec("ctx", {0, 0})};
  EXPECT_EQ(Ensemble::Create(WithContextModifier(std::nanf("")), specs)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// Risk models "a" (ungated) and "enc", which gate model "lang" trusts with
// its label l1 ("english"); lang(p) is a gate signal with p(l1) = p.
Ensemble MakeGatedEnsemble(config::v1::CombineMode mode) {
  auto config = Config(mode);
  auto* gate = config.add_gates();
  gate->set_model("lang");
  gate->set_label("l1");
  gate->add_models("enc");
  auto e = Ensemble::Create(
      config, {Spec("a", {0, 1}), Spec("enc", {0, 1}), Spec("lang", {0, 0})});
  EXPECT_TRUE(e.ok()) << e.status();
  return *std::move(e);
}
Signal Lang(float p) { return MakeTestSignal("lang", 0.0f, p); }

TEST(EnsembleTest, GateScalesTheWeightOfTheModelsItNames) {
  const Ensemble e = MakeGatedEnsemble(config::v1::COMBINE_MODE_WEIGHTED);
  // Trusted: (0.2 + 0.9) / 2 = 0.55 -> medium.
  auto english = e.Combine({MakeTestSignal("a", 0.2f, 0.8f),
                            MakeTestSignal("enc", 0.9f, 0.9f), Lang(1.0f)},
                           {});
  ASSERT_TRUE(english.ok());
  EXPECT_THAT(english->score, FloatNear(0.55f, 1e-5));
  EXPECT_EQ(english->level, Level::kMedium);
  // p(english) = 0.25: (0.2 + 0.25 x 0.9) / 1.25 = 0.34 -> low; enc is set
  // aside, so a alone decides the confidence and the factors.
  auto other = e.Combine({MakeTestSignal("a", 0.2f, 0.8f),
                          MakeTestSignal("enc", 0.9f, 0.9f), Lang(0.25f)},
                         {});
  ASSERT_TRUE(other.ok());
  EXPECT_THAT(other->score, FloatNear(0.34f, 1e-5));
  EXPECT_EQ(other->level, Level::kLow);
  EXPECT_THAT(other->confidence, FloatNear(0.8f, 1e-5));
  EXPECT_THAT(
      Descriptions(*other),
      ElementsAre("a model: x (80%)", "enc model set aside (trust 25%)"));
  // A gate that could not run leaves the model fully trusted.
  auto no_gate = e.Combine(
      {MakeTestSignal("a", 0.2f, 0.8f), MakeTestSignal("enc", 0.9f, 0.9f)},
      {{"lang", "INTERNAL"}});
  ASSERT_TRUE(no_gate.ok());
  EXPECT_THAT(no_gate->score, FloatNear(0.55f, 1e-5));
}

TEST(EnsembleTest, ConservativeMaxIgnoresDistrustedModels) {
  const Ensemble e =
      MakeGatedEnsemble(config::v1::COMBINE_MODE_CONSERVATIVE_MAX);
  auto other = e.Combine({MakeTestSignal("a", 0.3f, 0.8f),
                          MakeTestSignal("enc", 0.9f, 0.9f), Lang(0.4f)},
                         {});
  ASSERT_TRUE(other.ok());
  EXPECT_THAT(other->score, FloatNear(0.3f, 1e-5));
  auto english = e.Combine({MakeTestSignal("a", 0.3f, 0.8f),
                            MakeTestSignal("enc", 0.9f, 0.9f), Lang(0.6f)},
                           {});
  ASSERT_TRUE(english.ok());
  EXPECT_THAT(english->score, FloatNear(0.9f, 1e-5));
  EXPECT_EQ(english->level, Level::kCritical);
}

TEST(EnsembleTest, MajorityVotesWithTrustedWeight) {
  const Ensemble e = MakeGatedEnsemble(config::v1::COMBINE_MODE_MAJORITY);
  // a votes low with weight 1; enc votes critical with weight 0.3.
  auto v = e.Combine({MakeTestSignal("a", 0.3f, 0.8f),
                      MakeTestSignal("enc", 0.9f, 0.9f), Lang(0.3f)},
                     {});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->level, Level::kLow);
}

TEST(EnsembleTest, BadGatesAreInvalidArgument) {
  std::vector<config::v1::ModelSpec> specs = {
      Spec("a", {0, 1}), Spec("enc", {0, 1}), Spec("lang", {0, 0})};
  auto config = Config();
  auto* gate = config.add_gates();
  gate->set_model("lang");
  gate->set_label("english");
  gate->add_models("enc");
  EXPECT_THAT(Ensemble::Create(config, specs).status().message(),
              HasSubstr("gate label 'english' is not a label of model 'lang'"));
  gate->set_label("l1");
  gate->add_models("lang");
  EXPECT_THAT(
      Ensemble::Create(config, specs).status().message(),
      HasSubstr("gate 'lang' applies to 'lang', which is not a risk model"));
  gate->clear_models();
  gate->add_models("enc");
  gate->add_models("a");
  EXPECT_EQ(Ensemble::Create(config, specs).status().code(),
            absl::StatusCode::kInvalidArgument);
  gate->set_model("nope");
  EXPECT_EQ(Ensemble::Create(config, specs).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A modifier cannot also be a gate.
  auto both = Config();
  auto* modifier = both.add_modifiers();
  modifier->set_model("lang");
  modifier->set_label("l1");
  modifier->set_strength(0.5f);
  auto* gate2 = both.add_gates();
  gate2->set_model("lang");
  gate2->set_label("l1");
  gate2->add_models("enc");
  EXPECT_THAT(Ensemble::Create(both, specs).status().message(),
              HasSubstr("cannot be both a modifier and a gate"));
}

TEST(EnsembleTest, NoSignalsIsFailedPrecondition) {
  const Ensemble e = MakeEnsemble();
  EXPECT_EQ(e.Combine({}, {{"a", "INTERNAL"}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A modifier alone is not enough.
  const Ensemble with_modifier = MakeEnsemble(WithContextModifier(0.5f));
  EXPECT_EQ(with_modifier.Combine({Context(0.9f)}, {{"a", "INTERNAL"}})
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(EnsembleTest, LevelNamesAndActions) {
  EXPECT_EQ(LevelName(Level::kHigh), "high");
  EXPECT_EQ(LevelName(Level::kNone), "none");
  EXPECT_EQ(RecommendedAction(Level::kNone), "No action needed.");
  EXPECT_THAT(std::string(RecommendedAction(Level::kMedium)),
              HasSubstr("check in"));
}

}  // namespace
}  // namespace lantern::core
