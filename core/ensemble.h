// Turning per-model outputs into one verdict. Pure functions: no I/O, no
// threads, no torch, so every rule here is unit-tested directly.
#ifndef LANTERN_CORE_ENSEMBLE_H_
#define LANTERN_CORE_ENSEMBLE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "lantern/config/v1/model_spec.pb.h"

namespace lantern::core {

// Values match lantern.v1.CrisisLevel.
enum class Level { kUnspecified = 0, kNone, kLow, kMedium, kHigh, kCritical };

// "none", "low", "medium", "high", "critical" ("unspecified" for 0).
absl::string_view LevelName(Level level);

// What one model said about a message.
struct Signal {
  std::string model;
  std::string version;
  std::string role;
  std::string label;              // most probable label
  float label_probability = 0.0f;  // its probability
  float score = 0.0f;             // sum of probability x label risk, 0..1
  float weight = 0.0f;            // ensemble weight from the spec
};

// A model that could not run for this message, and why (a status code name,
// never message content).
struct SkippedModel {
  std::string model;
  std::string reason;
};

struct Verdict {
  Level level = Level::kUnspecified;
  float score = 0.0f;
  float confidence = 0.0f;
  bool requires_review = false;
  std::string recommended_action;
  std::vector<Signal> signals;
  std::vector<std::string> key_factors;
  bool degraded = false;
};

// Softmax over `logits`, then the spec's label risks. InvalidArgument if the
// number of logits differs from the number of labels in `spec`.
absl::StatusOr<Signal> MakeSignal(const config::v1::ModelSpec& spec,
                                  absl::Span<const float> logits);

// Combines model signals with a weighted mean of their scores:
//   score       = sum(weight * score) / sum(weight)
//   level       = highest threshold the score reaches (NONE below `low`)
//   confidence  = mean top-label probability x (1 - spread of model scores)
//   review      = level >= MEDIUM, or LOW with confidence < 0.5
//   degraded    = some model was skipped
// FailedPrecondition if `signals` is empty (every model was skipped).
class Ensemble {
 public:
  Ensemble(config::v1::Thresholds thresholds, std::string version)
      : thresholds_(std::move(thresholds)), version_(std::move(version)) {}

  Level LevelFor(float score) const;
  absl::StatusOr<Verdict> Combine(std::vector<Signal> signals,
                                  const std::vector<SkippedModel>& skipped) const;
  const std::string& version() const { return version_; }

 private:
  config::v1::Thresholds thresholds_;
  std::string version_;
};

// The crisis team's next step for a level, in plain words.
absl::string_view RecommendedAction(Level level);

}  // namespace lantern::core

#endif  // LANTERN_CORE_ENSEMBLE_H_
