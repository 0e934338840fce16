// The ensemble.json parser and validator (core::LoadModelDirectory,
// core::Ensemble::Create), then Ensemble::Combine on fixed model outputs.
//
// Input: the contents of ensemble.json. Its folder holds five valid models
// (written here) that it may list: sev, dis, ctx (a modifier candidate,
// labels literal/non_literal), lang (a gate candidate, labels
// english/other) and enc.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/ensemble.h"
#include "core/model_spec.h"
#include "tests/fuzz/fuzz_util.h"

namespace lantern::fuzz {
namespace {

namespace fs = std::filesystem;

void WriteModel(const std::string& dir, const std::string& name,
                const std::string& labels, const char* weight) {
  fs::create_directories(dir + "/" + name);
  WriteFile(dir + "/" + name + "/model.json",
            absl::StrCat(
                R"({"name": ")", name, R"(", "version": "1", "role": ")", name,
                R"(", "file": "model.pt", "tokenizer": {"type": "sentencepiece",
                         "model": "../tokenizer.model"}, "labels": [)",
                labels, R"(], "maxTokens": 64, "weight": )", weight, "}"));
}

const std::string& EnsembleDir() {
  static const auto* dir = [] {
    auto* path = new std::string(ScratchDir() + "/ensemble");
    WriteModel(*path, "sev",
               R"({"name": "none", "risk": 0}, {"name": "low", "risk": 0.3},
                  {"name": "high", "risk": 0.8}, {"name": "critical", "risk": 1})",
               "0.5");
    WriteModel(*path, "dis",
               R"({"name": "calm"}, {"name": "distress", "risk": 0.5},
                  {"name": "danger", "risk": 1})",
               "0.3");
    WriteModel(*path, "ctx", R"({"name": "literal"}, {"name": "non_literal"})",
               "0.1");
    WriteModel(*path, "lang", R"({"name": "english"}, {"name": "other"})",
               "0.1");
    WriteModel(*path, "enc", R"({"name": "no"}, {"name": "yes", "risk": 1})",
               "0.4");
    return path;
  }();
  return *dir;
}

// Model outputs to combine: unsure, confident in the first label, in the
// last, and extreme but finite.
std::vector<float> Logits(int scenario, int labels, int model) {
  std::vector<float> logits(static_cast<size_t>(labels), 0.0f);
  switch (scenario) {
    case 0:
      break;
    case 1:
      logits.front() = 4.0f;
      break;
    case 2:
      logits.back() = 4.0f + static_cast<float>(model);
      break;
    default:
      for (int i = 0; i < labels; ++i) {
        logits[static_cast<size_t>(i)] = (i + model) % 2 == 0 ? 1e30f : -1e30f;
      }
  }
  return logits;
}

void CheckVerdict(const core::Ensemble& ensemble, config::v1::CombineMode mode,
                  const core::Verdict& v, bool degraded) {
  LANTERN_FUZZ_CHECK(v.level >= core::Level::kNone &&
                     v.level <= core::Level::kCritical);
  LANTERN_FUZZ_CHECK(v.score >= 0.0f && v.score <= 1.0f);  // false for NaN
  LANTERN_FUZZ_CHECK(v.confidence >= 0.0f && v.confidence <= 1.0f);
  if (mode != config::v1::COMBINE_MODE_MAJORITY) {
    LANTERN_FUZZ_CHECK(v.level == ensemble.LevelFor(v.score));
  }
  LANTERN_FUZZ_CHECK(v.requires_review ==
                     (v.level >= core::Level::kMedium ||
                      (v.level == core::Level::kLow && v.confidence < 0.5f)));
  LANTERN_FUZZ_CHECK(v.degraded == degraded);
  LANTERN_FUZZ_CHECK(!v.recommended_action.empty());
}

void CheckCombine(const core::ModelDirectory& dir,
                  const core::Ensemble& ensemble) {
  for (int scenario = 0; scenario < 4; ++scenario) {
    std::vector<core::Signal> all;
    for (size_t m = 0; m < dir.models.size(); ++m) {
      const config::v1::ModelSpec& spec = dir.models[m].spec;
      const auto signal = core::MakeSignal(
          spec, Logits(scenario, spec.labels_size(), static_cast<int>(m)));
      LANTERN_FUZZ_CHECK(signal.ok());
      LANTERN_FUZZ_CHECK(signal->score >= 0.0f && signal->score <= 1.0f);
      all.push_back(*signal);
    }
    // Every model, then each one skipped in turn.
    for (size_t skip = 0; skip <= all.size(); ++skip) {
      std::vector<core::Signal> signals;
      std::vector<core::SkippedModel> skipped;
      for (size_t m = 0; m < all.size(); ++m) {
        if (m == skip) {
          skipped.push_back({all[m].model, "UNAVAILABLE"});
        } else {
          signals.push_back(all[m]);
        }
      }
      const absl::StatusOr<core::Verdict> verdict =
          ensemble.Combine(signals, skipped);
      if (!verdict.ok()) {
        LANTERN_FUZZ_CHECK(verdict.status().code() ==
                           absl::StatusCode::kFailedPrecondition);
        continue;
      }
      CheckVerdict(ensemble, dir.ensemble.mode(), *verdict, !skipped.empty());
    }
  }
}

}  // namespace
}  // namespace lantern::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lantern;
  const std::string& dir = fuzz::EnsembleDir();
  fuzz::WriteFile(dir + "/ensemble.json",
                  absl::string_view(reinterpret_cast<const char*>(data), size));
  const absl::StatusOr<core::ModelDirectory> loaded =
      core::LoadModelDirectory(dir);
  if (!loaded.ok()) {
    const auto code = loaded.status().code();
    LANTERN_FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
                       code == absl::StatusCode::kNotFound);
    return 0;
  }
  const config::v1::Thresholds& t = loaded->ensemble.thresholds();
  LANTERN_FUZZ_CHECK(0.0f < t.low() && t.low() < t.medium() &&
                     t.medium() < t.high() && t.high() < t.critical() &&
                     t.critical() <= 1.0f);
  std::vector<config::v1::ModelSpec> specs;
  for (const core::LoadedModelSpec& model : loaded->models)
    specs.push_back(model.spec);
  const absl::StatusOr<core::Ensemble> ensemble =
      core::Ensemble::Create(loaded->ensemble, specs);
  if (!ensemble.ok()) {
    LANTERN_FUZZ_CHECK(ensemble.status().code() ==
                       absl::StatusCode::kInvalidArgument);
    return 0;
  }
  fuzz::CheckCombine(*loaded, *ensemble);
  return 0;
}
