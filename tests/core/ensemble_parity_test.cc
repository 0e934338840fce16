// The server's ensemble must combine model outputs exactly as the training
// script does when it tunes thresholds. tests/data/ensemble_parity.json holds
// ensemble configs, model specs and per-model probabilities with the level and
// score that the Python combination (scripts/lantern_train/ensemble.py) gives;
// Ensemble::Combine must give the same level and the score within 1e-5.
// Regenerate the file with `cd scripts && /usr/bin/python3 -m
// lantern_train.parity`; tests/python/test_ensemble_parity.py checks the
// Python side against it.
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/ensemble.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr float kScoreTolerance = 1e-5f;

// Parses one JSON value of the golden file into a config message.
template <typename Message>
Message ToMessage(const Value& value) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(value, &json).ok());
  Message message;
  const auto status =
      google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status << " in " << json;
  return message;
}

Struct ReadGolden() {
  std::ifstream in(std::string(LANTERN_TEST_DATA_DIR) +
                   "/ensemble_parity.json");
  EXPECT_TRUE(in.good()) << "tests/data/ensemble_parity.json";
  std::stringstream text;
  text << in.rdbuf();
  Struct golden;
  const auto status =
      google::protobuf::util::JsonStringToMessage(text.str(), &golden);
  EXPECT_TRUE(status.ok()) << status;
  return golden;
}

// Signals for the models of `config` that have probabilities in the case, in
// ensemble order, through MakeSignal with log(p) as logits (its softmax gives
// p back); the others are reported skipped.
void MakeSignals(const config::v1::EnsembleConfig& config,
                 const std::vector<config::v1::ModelSpec>& specs,
                 const Struct& probabilities, std::vector<Signal>* signals,
                 std::vector<SkippedModel>* skipped) {
  for (const config::v1::ModelSpec& spec : specs) {
    const auto found = probabilities.fields().find(spec.name());
    if (found == probabilities.fields().end()) {
      skipped->push_back({spec.name(), "UNAVAILABLE"});
      continue;
    }
    std::vector<float> logits;
    for (const Value& p : found->second.list_value().values()) {
      logits.push_back(std::log(static_cast<float>(p.number_value())));
    }
    absl::StatusOr<Signal> signal = MakeSignal(spec, logits);
    ASSERT_TRUE(signal.ok()) << signal.status();
    signals->push_back(*std::move(signal));
  }
  ASSERT_EQ(signals->size() + skipped->size(),
            static_cast<size_t>(config.models_size()));
}

// The specs of the case's models, in the order `config` lists them.
std::vector<config::v1::ModelSpec> SpecsInEnsembleOrder(
    const config::v1::EnsembleConfig& config, const Value& models) {
  std::vector<config::v1::ModelSpec> all;
  for (const Value& model : models.list_value().values()) {
    all.push_back(ToMessage<config::v1::ModelSpec>(model));
  }
  std::vector<config::v1::ModelSpec> ordered;
  for (const std::string& name : config.models()) {
    for (const config::v1::ModelSpec& spec : all) {
      if (spec.name() == name) ordered.push_back(spec);
    }
  }
  EXPECT_EQ(ordered.size(), all.size());
  return ordered;
}

TEST(EnsembleParityTest, CombineMatchesTrainingScriptOnGoldenCases) {
  const Struct golden = ReadGolden();
  const auto& cases = golden.fields().at("cases").list_value().values();
  ASSERT_GE(cases.size(), 40);
  for (const Value& value : cases) {
    const auto& fields = value.struct_value().fields();
    const std::string name = fields.at("name").string_value();
    SCOPED_TRACE(name);
    const auto config =
        ToMessage<config::v1::EnsembleConfig>(fields.at("ensemble"));
    const std::vector<config::v1::ModelSpec> specs =
        SpecsInEnsembleOrder(config, fields.at("models"));
    absl::StatusOr<Ensemble> ensemble = Ensemble::Create(config, specs);
    ASSERT_TRUE(ensemble.ok()) << ensemble.status();

    std::vector<Signal> signals;
    std::vector<SkippedModel> skipped;
    MakeSignals(config, specs, fields.at("probabilities").struct_value(),
                &signals, &skipped);
    absl::StatusOr<Verdict> verdict =
        ensemble->Combine(std::move(signals), skipped);
    ASSERT_TRUE(verdict.ok()) << verdict.status();

    const auto& expected = fields.at("expected").struct_value().fields();
    EXPECT_EQ(std::string(LevelName(verdict->level)),
              expected.at("level").string_value());
    EXPECT_NEAR(verdict->score, expected.at("score").number_value(),
                kScoreTolerance);
    EXPECT_EQ(verdict->degraded, !skipped.empty());
  }
}

}  // namespace
}  // namespace lantern::core
