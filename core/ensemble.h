// Turning per-model outputs into one verdict. Pure functions: no I/O, no
// threads, no torch, so every rule here is unit-tested directly.
#ifndef LANTERN_CORE_ENSEMBLE_H_
#define LANTERN_CORE_ENSEMBLE_H_

#include <string>
#include <utility>
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
  std::string label;                 // most probable label
  float label_probability = 0.0f;    // its probability
  float score = 0.0f;                // sum of probability x label risk, 0..1
  float weight = 0.0f;               // ensemble weight from the spec
  std::vector<float> probabilities;  // per label, in spec order
};

// A model that could not run for this message, and why (a status code name,
// never message content).
struct SkippedModel {
  std::string model;
  std::string reason;
};

// A stretch of the message: [start, end) in Unicode code points.
struct TextSpan {
  int start = 0;
  int end = 0;
  bool operator==(const TextSpan& o) const {
    return start == o.start && end == o.end;
  }
};

// One reason for a verdict. Never quotes the message.
struct Factor {
  std::string description;
  std::string source;  // a model name, "ensemble" or "cues"
  std::vector<TextSpan> spans;
};

struct Verdict {
  Level level = Level::kUnspecified;
  float score = 0.0f;
  float confidence = 0.0f;
  bool requires_review = false;
  std::string recommended_action;
  std::vector<Signal> signals;
  std::vector<Factor> factors;
  bool degraded = false;
};

// Softmax over `logits`, then the spec's label risks. InvalidArgument if the
// number of logits differs from the number of labels in `spec`.
absl::StatusOr<Signal> MakeSignal(const config::v1::ModelSpec& spec,
                                  absl::Span<const float> logits);

// Combines model signals as ensemble.json says (see CombineMode in
// proto/lantern/config/v1/model_spec.proto):
//   risk models  every model that is neither a modifier nor a gate
//   dampening    product over modifiers of (1 - strength * p(label))
//   trust        per risk model: product over the gates naming it of
//                p(gate label); 1 for an ungated model
//   WEIGHTED     score = mean of risk scores x dampening, weighted by
//                weight x trust; level from thresholds
//   CONSERVATIVE_MAX  score = highest risk score x dampening among the
//                models with trust >= 0.5; level from thresholds
//   MAJORITY     each risk model votes the level of (its score x
//                dampening) with weight x trust; most weight wins, ties go
//                higher; score as in WEIGHTED
//   confidence   mean top-label probability of the trusted (>= 0.5) risk
//                models x (1 - spread of their scores)
//   review       level >= MEDIUM, or LOW with confidence < 0.5
//   degraded     some model was skipped
class Ensemble {
 public:
  // `specs` are the models in ensemble order. InvalidArgument if a modifier
  // or gate names an unknown model or label, a strength is outside 0..1, a
  // gate applies to a modifier or gate, or no risk model is left ungated.
  static absl::StatusOr<Ensemble> Create(
      const config::v1::EnsembleConfig& config,
      const std::vector<config::v1::ModelSpec>& specs);

  Level LevelFor(float score) const;

  // FailedPrecondition if no risk model produced a signal.
  absl::StatusOr<Verdict> Combine(
      std::vector<Signal> signals,
      const std::vector<SkippedModel>& skipped) const;

  const std::string& version() const { return version_; }

 private:
  struct Modifier {
    std::string model;
    std::string label;
    int label_index = 0;
    float strength = 0.0f;
  };
  struct Gate {
    std::string model;
    std::string label;
    int label_index = 0;
    std::vector<std::string> models;
  };
  struct Mix;
  Ensemble() = default;
  // Sorts `signals` into risk models (mix->risk) and modifiers, multiplying
  // the modifiers' dampening into mix->dampening.
  void SplitSignals(const std::vector<Signal>& signals, Mix* mix,
                    std::vector<Factor>* factors) const;
  // Trust, weighted sums, votes and the trusted models' spread.
  void AddUp(const std::vector<Signal>& signals, Mix* mix,
             std::vector<Factor>* factors) const;
  // Score and level as the combine mode says.
  void ScoreAndLevel(const Mix& mix, Verdict* v) const;
  const Modifier* FindModifier(const std::string& model) const;
  const Gate* FindGate(const std::string& model) const;
  // Trust in risk model `model`: the product of its gates' p(label).
  float TrustOf(const std::string& model,
                const std::vector<Signal>& signals) const;

  config::v1::Thresholds thresholds_;
  config::v1::CombineMode mode_ = config::v1::COMBINE_MODE_WEIGHTED;
  std::vector<Modifier> modifiers_;
  std::vector<Gate> gates_;
  std::string version_;
};

// The crisis team's next step for a level, in plain words.
absl::string_view RecommendedAction(Level level);

}  // namespace lantern::core

#endif  // LANTERN_CORE_ENSEMBLE_H_
