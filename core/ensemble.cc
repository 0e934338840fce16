#include "core/ensemble.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lantern::core {
namespace {

constexpr float kLowConfidence = 0.5f;

std::string Percent(float p) { return absl::StrFormat("%.0f%%", 100.0f * p); }

}  // namespace

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kUnspecified: return "unspecified";
    case Level::kNone: return "none";
    case Level::kLow: return "low";
    case Level::kMedium: return "medium";
    case Level::kHigh: return "high";
    case Level::kCritical: return "critical";
  }
  return "unspecified";
}

absl::string_view RecommendedAction(Level level) {
  switch (level) {
    case Level::kNone:
      return "No action needed.";
    case Level::kLow:
      return "No immediate action; keep an eye on the conversation.";
    case Level::kMedium:
      return "A moderator or peer supporter should check in with this person soon.";
    case Level::kHigh:
      return "Crisis team: review now and reach out to this person directly.";
    case Level::kCritical:
      return "Crisis team: act now. Reach out immediately, share crisis resources, "
             "and contact emergency services if life is in immediate danger.";
    case Level::kUnspecified:
      break;
  }
  return "";
}

absl::StatusOr<Signal> MakeSignal(const config::v1::ModelSpec& spec,
                                  absl::Span<const float> logits) {
  if (static_cast<int>(logits.size()) != spec.labels_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", spec.name(), "' returned ", logits.size(),
        " logits but its spec lists ", spec.labels_size(), " labels"));
  }
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  std::vector<float> probs(logits.size());
  float total = 0.0f;
  for (size_t i = 0; i < logits.size(); ++i) {
    probs[i] = std::exp(logits[i] - max_logit);
    total += probs[i];
  }
  Signal signal;
  signal.model = spec.name();
  signal.version = spec.version();
  signal.role = spec.role();
  signal.weight = spec.weight();
  size_t best = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    probs[i] /= total;
    signal.score += probs[i] * spec.labels(static_cast<int>(i)).risk();
    if (probs[i] > probs[best]) best = i;
  }
  signal.label = spec.labels(static_cast<int>(best)).name();
  signal.label_probability = probs[best];
  signal.score = std::clamp(signal.score, 0.0f, 1.0f);
  return signal;
}

Level Ensemble::LevelFor(float score) const {
  if (score >= thresholds_.critical()) return Level::kCritical;
  if (score >= thresholds_.high()) return Level::kHigh;
  if (score >= thresholds_.medium()) return Level::kMedium;
  if (score >= thresholds_.low()) return Level::kLow;
  return Level::kNone;
}

absl::StatusOr<Verdict> Ensemble::Combine(
    std::vector<Signal> signals, const std::vector<SkippedModel>& skipped) const {
  if (signals.empty()) {
    return absl::FailedPreconditionError("every model of the ensemble was skipped");
  }
  float weighted = 0.0f, weights = 0.0f, top_prob = 0.0f;
  float lowest = 1.0f, highest = 0.0f;
  const Signal* most_alarmed = &signals.front();
  for (const Signal& s : signals) {
    weighted += s.weight * s.score;
    weights += s.weight;
    top_prob += s.label_probability;
    lowest = std::min(lowest, s.score);
    highest = std::max(highest, s.score);
    if (s.score > most_alarmed->score) most_alarmed = &s;
  }
  Verdict v;
  v.score = std::clamp(weighted / weights, 0.0f, 1.0f);
  v.level = LevelFor(v.score);
  const float spread = highest - lowest;
  v.confidence = std::clamp(
      top_prob / static_cast<float>(signals.size()) * (1.0f - spread), 0.0f, 1.0f);
  v.requires_review = v.level >= Level::kMedium ||
                      (v.level == Level::kLow && v.confidence < kLowConfidence);
  v.recommended_action = std::string(RecommendedAction(v.level));
  v.degraded = !skipped.empty();

  for (const Signal& s : signals) {
    v.key_factors.push_back(absl::StrCat(s.model, " model: ", s.label, " (",
                                         Percent(s.label_probability), ")"));
  }
  if (signals.size() > 1) {
    v.key_factors.push_back(
        spread < 0.25f
            ? std::string("models agree")
            : absl::StrCat("models disagree; ", most_alarmed->model,
                           " is the most concerned"));
  }
  for (const SkippedModel& m : skipped) {
    v.key_factors.push_back(
        absl::StrCat(m.model, " model skipped (", m.reason, ")"));
  }
  v.signals = std::move(signals);
  return v;
}

}  // namespace lantern::core
