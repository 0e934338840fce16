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

// Sums over the risk models (dampened, weighted by weight x trust) and over
// the trusted ones, from which the verdict is read.
struct Ensemble::Mix {
  float dampening = 1.0f;
  std::vector<const Signal*> risk;
  std::vector<float> trust;               // per risk model
  std::vector<const Signal*> trusted;     // trust >= 0.5, or all if none
  float weighted = 0.0f, weights = 0.0f;  // over risk models
  std::map<Level, float> votes;           // level of each dampened score
  float highest_dampened = 0.0f;          // over trusted models
  float top_prob = 0.0f;                  // sum of top-label probabilities
  float lowest = 1.0f, highest = 0.0f;    // raw scores of trusted models
  const Signal* most_alarmed = nullptr;
};

void Ensemble::SplitSignals(const std::vector<Signal>& signals, Mix* mix,
                            std::vector<Factor>* factors) const {
  for (const Signal& s : signals) {
    if (FindGate(s.model) != nullptr) continue;
    const Modifier* modifier = FindModifier(s.model);
    if (modifier == nullptr) {
      mix->risk.push_back(&s);
      continue;
    }
    const float p =
        s.probabilities.at(static_cast<size_t>(modifier->label_index));
    mix->dampening *= 1.0f - modifier->strength * p;
    if (p >= 0.5f) {
      factors->push_back({absl::StrCat(s.model, " model: ", modifier->label,
                                       " (", Percent(p), "); score lowered"),
                          s.model,
                          {}});
    }
  }
}

void Ensemble::AddUp(const std::vector<Signal>& signals, Mix* mix,
                     std::vector<Factor>* factors) const {
  // Models a gate mostly distrusts still add their (small) weight to the
  // mean and the vote, but not to the maximum, the confidence or the
  // factors. If every model is distrusted, all of them count.
  for (const Signal* s : mix->risk) {
    mix->trust.push_back(TrustOf(s->model, signals));
    if (mix->trust.back() >= 0.5f) mix->trusted.push_back(s);
  }
  if (mix->trusted.empty()) mix->trusted = mix->risk;
  for (size_t i = 0; i < mix->risk.size(); ++i) {
    const Signal& s = *mix->risk[i];
    const float dampened = s.score * mix->dampening;
    const float weight = s.weight * mix->trust[i];
    mix->weighted += weight * dampened;
    mix->weights += weight;
    mix->votes[LevelFor(dampened)] += weight;
    if (mix->trust[i] < 0.5f) {
      factors->push_back({absl::StrCat(s.model, " model set aside (trust ",
                                       Percent(mix->trust[i]), ")"),
                          s.model,
                          {}});
    }
  }
  mix->most_alarmed = mix->trusted.front();
  for (const Signal* s : mix->trusted) {
    mix->highest_dampened =
        std::max(mix->highest_dampened, s->score * mix->dampening);
    mix->top_prob += s->label_probability;
    mix->lowest = std::min(mix->lowest, s->score);
    mix->highest = std::max(mix->highest, s->score);
    if (s->score > mix->most_alarmed->score) mix->most_alarmed = s;
  }
}

void Ensemble::ScoreAndLevel(const Mix& mix, Verdict* v) const {
  switch (mode_) {
    case config::v1::COMBINE_MODE_CONSERVATIVE_MAX:
      v->score = mix.highest_dampened;
      v->level = LevelFor(v->score);
      break;
    case config::v1::COMBINE_MODE_MAJORITY: {
      v->score = mix.weighted / mix.weights;
      float best = -1.0f;
      // Ascending, so ties go higher.
      for (const auto& [level, weight] : mix.votes) {
        if (weight >= best) {
          best = weight;
          v->level = level;
        }
      }
      break;
    }
    default:
      v->score = mix.weighted / mix.weights;
      v->level = LevelFor(v->score);
  }
  v->score = std::clamp(v->score, 0.0f, 1.0f);
}

absl::StatusOr<Verdict> Ensemble::Combine(
    std::vector<Signal> signals,
    const std::vector<SkippedModel>& skipped) const {
  Verdict v;
  Mix mix;
  std::vector<Factor> extra;  // modifiers that fired, models set aside
  SplitSignals(signals, &mix, &extra);
  if (mix.risk.empty()) {
    return absl::FailedPreconditionError(
        "every risk model of the ensemble was skipped");
  }
  AddUp(signals, &mix, &extra);
  if (mix.weights <= 0.0f) {
    return absl::FailedPreconditionError(
        "no trusted risk model of the ensemble produced a signal");
  }
  ScoreAndLevel(mix, &v);
  const float spread = mix.highest - mix.lowest;
  v.confidence = std::clamp(
      mix.top_prob / static_cast<float>(mix.trusted.size()) * (1.0f - spread),
      0.0f, 1.0f);
  v.requires_review = v.level >= Level::kMedium ||
                      (v.level == Level::kLow && v.confidence < kLowConfidence);
  v.recommended_action = std::string(RecommendedAction(v.level));
  v.degraded = !skipped.empty();

  for (const Signal* s : mix.trusted) {
    v.factors.push_back({absl::StrCat(s->model, " model: ", s->label, " (",
                                      Percent(s->label_probability), ")"),
                         s->model,
                         {}});
  }
  if (mix.trusted.size() > 1) {
    v.factors.push_back(
        {spread < 0.25f
             ? std::string("models agree")
             : absl::StrCat("models disagree; ", mix.most_alarmed->model,
                            " is the most concerned"),
         "ensemble",
         {}});
  }
  for (Factor& f : extra) v.factors.push_back(std::move(f));
  for (const SkippedModel& m : skipped) {
    v.factors.push_back(
        {absl::StrCat(m.model, " model skipped (", m.reason, ")"),
         m.model,
         {}});
  }
  v.signals = std::move(signals);
  return v;
}

}  // namespace lantern::core
