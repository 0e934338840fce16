#include "core/ensemble.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lantern::core {
namespace {

constexpr float kLowConfidence = 0.5f;

std::string Percent(float p) { return absl::StrFormat("%.0f%%", 100.0f * p); }

}  // namespace

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kUnspecified:
      return "unspecified";
    case Level::kNone:
      return "none";
    case Level::kLow:
      return "low";
    case Level::kMedium:
      return "medium";
    case Level::kHigh:
      return "high";
    case Level::kCritical:
      return "critical";
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
      return "A moderator or peer supporter should check in with this person "
             "soon.";
    case Level::kHigh:
      return "Crisis team: review now and reach out to this person directly.";
    case Level::kCritical:
      return "Crisis team: act now. Reach out immediately, share crisis "
             "resources, "
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
  signal.label_probability = probs[best];
  signal.label = spec.labels(static_cast<int>(best)).name();
  signal.probabilities = std::move(probs);
  signal.score = std::clamp(signal.score, 0.0f, 1.0f);
  return signal;
}

namespace {

// Index of `label` among the labels of model `model`, or InvalidArgument
// naming `what` (a modifier or a gate).
absl::StatusOr<int> LabelIndex(const std::vector<config::v1::ModelSpec>& specs,
                               const std::string& model,
                               const std::string& label,
                               absl::string_view what) {
  auto spec = std::find_if(specs.begin(), specs.end(),
                           [&](const auto& s) { return s.name() == model; });
  if (spec == specs.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " names model '", model, "', which the ensemble does not list"));
  }
  for (int i = 0; i < spec->labels_size(); ++i) {
    if (spec->labels(i).name() == label) return i;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      what, " label '", label, "' is not a label of model '", model, "'"));
}

}  // namespace

absl::StatusOr<Ensemble> Ensemble::Create(
    const config::v1::EnsembleConfig& config,
    const std::vector<config::v1::ModelSpec>& specs) {
  Ensemble e;
  e.thresholds_ = config.thresholds();
  e.mode_ = config.mode() == config::v1::COMBINE_MODE_UNSPECIFIED
                ? config::v1::COMBINE_MODE_WEIGHTED
                : config.mode();
  e.version_ = config.version();
  for (const config::v1::Modifier& m : config.modifiers()) {
    absl::StatusOr<int> index =
        LabelIndex(specs, m.model(), m.label(), "modifier");
    if (!index.ok()) return index.status();
    if (!(m.strength() >= 0.0f && m.strength() <= 1.0f)) {  // NaN fails too.
      return absl::InvalidArgumentError(absl::StrCat(
          "strength of modifier '", m.model(), "' must be within 0..1"));
    }
    e.modifiers_.push_back({m.model(), m.label(), *index, m.strength()});
  }
  for (const config::v1::Gate& g : config.gates()) {
    absl::StatusOr<int> index = LabelIndex(specs, g.model(), g.label(), "gate");
    if (!index.ok()) return index.status();
    if (e.FindModifier(g.model()) != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model '", g.model(), "' cannot be both a modifier and a gate"));
    }
    e.gates_.push_back(
        {g.model(), g.label(), *index, {g.models().begin(), g.models().end()}});
  }
  int ungated_risk_models = 0;
  for (const config::v1::ModelSpec& spec : specs) {
    if (e.FindModifier(spec.name()) != nullptr ||
        e.FindGate(spec.name()) != nullptr)
      continue;
    const bool gated =
        std::any_of(e.gates_.begin(), e.gates_.end(), [&](const Gate& g) {
          return std::find(g.models.begin(), g.models.end(), spec.name()) !=
                 g.models.end();
        });
    if (!gated) ++ungated_risk_models;
  }
  for (const Gate& g : e.gates_) {
    for (const std::string& model : g.models) {
      const bool listed =
          std::any_of(specs.begin(), specs.end(),
                      [&](const auto& s) { return s.name() == model; });
      if (!listed || e.FindModifier(model) != nullptr ||
          e.FindGate(model) != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("gate '", g.model, "' applies to '", model,
                         "', which is not a risk model of the ensemble"));
      }
    }
  }
  if (ungated_risk_models == 0) {
    return absl::InvalidArgumentError(
        "the ensemble needs at least one risk model that is neither a modifier "
        "nor gated");
  }
  return e;
}

const Ensemble::Modifier* Ensemble::FindModifier(
    const std::string& model) const {
  for (const Modifier& m : modifiers_) {
    if (m.model == model) return &m;
  }
  return nullptr;
}

const Ensemble::Gate* Ensemble::FindGate(const std::string& model) const {
  for (const Gate& g : gates_) {
    if (g.model == model) return &g;
  }
  return nullptr;
}

float Ensemble::TrustOf(const std::string& model,
                        const std::vector<Signal>& signals) const {
  float trust = 1.0f;
  for (const Gate& g : gates_) {
    if (std::find(g.models.begin(), g.models.end(), model) == g.models.end())
      continue;
    // A gate that could not run says nothing: the model keeps full trust.
    for (const Signal& s : signals) {
      if (s.model == g.model)
        trust *= s.probabilities.at(static_cast<size_t>(g.label_index));
    }
  }
  return trust;
}

Level Ensemble::LevelFor(float score) const {
  if (score >= thresholds_.critical()) return Level::kCritical;
  if (score >= thresholds_.high()) return Level::kHigh;
  if (score >= thresholds_.medium()) return Level::kMedium;
  if (score >= thresholds_.low()) return Level::kLow;
  return Level::kNone;
}

absl::StatusOr<Verdict> Ensemble::Combine(
    std::vector<Signal> signals,
    const std::vector<SkippedModel>& skipped) const {
  Verdict v;
  float dampening = 1.0f;
  std::vector<const Signal*> risk;
  for (const Signal& s : signals) {
    if (FindGate(s.model) != nullptr) continue;
    const Modifier* modifier = FindModifier(s.model);
    if (modifier == nullptr) {
      risk.push_back(&s);
      continue;
    }
    const float p =
        s.probabilities.at(static_cast<size_t>(modifier->label_index));
    dampening *= 1.0f - modifier->strength * p;
    if (p >= 0.5f) {
      v.factors.push_back({absl::StrCat(s.model, " model: ", modifier->label,
                                        " (", Percent(p), "); score lowered"),
                           s.model,
                           {}});
    }
  }
  if (risk.empty()) {
    return absl::FailedPreconditionError(
        "every risk model of the ensemble was skipped");
  }
  // Models a gate mostly distrusts still add their (small) weight to the
  // mean and the vote, but not to the maximum, the confidence or the
  // factors. If every model is distrusted, all of them count.
  std::vector<float> trust;
  std::vector<const Signal*> trusted;
  for (const Signal* s : risk) {
    trust.push_back(TrustOf(s->model, signals));
    if (trust.back() >= 0.5f) trusted.push_back(s);
  }
  if (trusted.empty()) trusted = risk;
  float weighted = 0.0f, weights = 0.0f, top_prob = 0.0f, highest_score = 0.0f;
  float lowest = 1.0f, highest = 0.0f;
  std::map<Level, float> votes;
  for (size_t i = 0; i < risk.size(); ++i) {
    const float dampened = risk[i]->score * dampening;
    const float weight = risk[i]->weight * trust[i];
    weighted += weight * dampened;
    weights += weight;
    votes[LevelFor(dampened)] += weight;
    if (trust[i] < 0.5f) {
      v.factors.push_back(
          {absl::StrCat(risk[i]->model, " model set aside (trust ",
                        Percent(trust[i]), ")"),
           risk[i]->model,
           {}});
    }
  }
  if (weights <= 0.0f) {
    return absl::FailedPreconditionError(
        "no trusted risk model of the ensemble produced a signal");
  }
  const Signal* most_alarmed = trusted.front();
  for (const Signal* s : trusted) {
    highest_score = std::max(highest_score, s->score * dampening);
    top_prob += s->label_probability;
    lowest = std::min(lowest, s->score);
    highest = std::max(highest, s->score);
    if (s->score > most_alarmed->score) most_alarmed = s;
  }
  switch (mode_) {
    case config::v1::COMBINE_MODE_CONSERVATIVE_MAX:
      v.score = highest_score;
      v.level = LevelFor(v.score);
      break;
    case config::v1::COMBINE_MODE_MAJORITY: {
      v.score = weighted / weights;
      float best = -1.0f;
      for (const auto& [level, weight] :
           votes) {  // Ascending, so ties go higher.
        if (weight >= best) {
          best = weight;
          v.level = level;
        }
      }
      break;
    }
    default:
      v.score = weighted / weights;
      v.level = LevelFor(v.score);
  }
  v.score = std::clamp(v.score, 0.0f, 1.0f);
  const float spread = highest - lowest;
  v.confidence = std::clamp(
      top_prob / static_cast<float>(trusted.size()) * (1.0f - spread), 0.0f,
      1.0f);
  v.requires_review = v.level >= Level::kMedium ||
                      (v.level == Level::kLow && v.confidence < kLowConfidence);
  v.recommended_action = std::string(RecommendedAction(v.level));
  v.degraded = !skipped.empty();

  std::vector<Factor> factors;
  for (const Signal* s : trusted) {
    factors.push_back({absl::StrCat(s->model, " model: ", s->label, " (",
                                    Percent(s->label_probability), ")"),
                       s->model,
                       {}});
  }
  if (trusted.size() > 1) {
    factors.push_back(
        {spread < 0.25f ? std::string("models agree")
                        : absl::StrCat("models disagree; ", most_alarmed->model,
                                       " is the most concerned"),
         "ensemble",
         {}});
  }
  for (Factor& f : v.factors) factors.push_back(std::move(f));
  for (const SkippedModel& m : skipped) {
    factors.push_back({absl::StrCat(m.model, " model skipped (", m.reason, ")"),
                       m.model,
                       {}});
  }
  v.factors = std::move(factors);
  v.signals = std::move(signals);
  return v;
}

}  // namespace lantern::core
