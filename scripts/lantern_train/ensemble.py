"""Per-model outputs combined into a score and a level, as the server does.

Must match core/ensemble.cc (Ensemble::Combine); tests/data/
ensemble_parity.json holds cases computed here that the C++ test
tests/core/ensemble_parity_test.cc checks Ensemble::Combine against.

  risk models   every model that is neither a modifier nor a gate
                (severity, distress, encoder)
  model score   s = clamp(sum_i softmax(logits)_i * risk_i, 0, 1)
  dampening     d = product over modifiers of (1 - strength * p(label))
  trust         t = product over the gates naming the model of p(label)
                (p(english) of the language model for the encoder), 1 for
                an ungated model
  WEIGHTED      S = sum(w * t * s * d) / sum(w * t); level = thresholds(S)
  CONSERVATIVE_MAX  S = max(s * d) over models with t >= 0.5 (all models
                when none is); level = thresholds(S)
  MAJORITY      each risk model votes thresholds(s * d) with weight w * t;
                the level with the most weight wins, ties go higher;
                S as in WEIGHTED
  thresholds(x) = number of thresholds (low, medium, high, critical) <= x

Training uses combine_members() on EnsembleInputs (one modifier, one gate,
the shape of ensemble.json that training writes); combine_config() takes
any ensemble.json and model specs, and shares the arithmetic.
"""

import dataclasses

import torch

from .constants import GATE, LEVELS, MAX_TOKENS, MODIFIER, PAD_ID, RISK_MODELS

WEIGHTED = "COMBINE_MODE_WEIGHTED"
CONSERVATIVE_MAX = "COMBINE_MODE_CONSERVATIVE_MAX"
MAJORITY = "COMBINE_MODE_MAJORITY"


@dataclasses.dataclass
class Member:
    """One trained model of the ensemble."""
    name: str
    labels: list
    risks: list
    predict: object   # normalised texts -> softmax probabilities [N, labels]
    weight: float = 1.0
    # Tokenizer of the spec (protobuf JSON) and its token limit.
    tokenizer: dict = dataclasses.field(default_factory=lambda: {
        "type": "sentencepiece", "model": "../tokenizer.model",
        "padId": PAD_ID, "bosId": -1, "eosId": -1})
    max_tokens: int = MAX_TOKENS


@dataclasses.dataclass
class EnsembleChoice:
    """Combine mode, risk-model weights, modifier strength, thresholds."""
    mode: str
    weights: list      # per risk model, in RISK_MODELS order
    strength: float    # context modifier strength
    thresholds: list   # low, medium, high, critical


@dataclasses.dataclass
class EnsembleInputs:
    """What the ensemble combines, for N messages."""
    risk: torch.Tensor       # [models, N] risk scores, RISK_MODELS order
    context_p: torch.Tensor  # [N] p(non_literal) of the modifier
    trust: torch.Tensor      # [models, N] gate trust (1 when ungated)

    def subset(self, index):
        """The inputs of the messages at index (a list or tensor)."""
        index = torch.as_tensor(index, dtype=torch.long)
        return EnsembleInputs(self.risk[:, index], self.context_p[index],
                              self.trust[:, index])


def member_probs(members, texts):
    """name -> softmax probabilities [N, labels] in float32."""
    return {m.name: m.predict(texts) for m in members}


def risk_scores(members, probs):
    """[models, N] risk scores s of the risk models, clamped to 0..1."""
    by_name = {m.name: m for m in members}
    rows = []
    for name in RISK_MODELS:
        risks = torch.tensor(by_name[name].risks, dtype=torch.float32)
        rows.append((probs[name] * risks).sum(1).clamp(0.0, 1.0))
    return torch.stack(rows)


def ensemble_inputs(members, probs):
    """EnsembleInputs from member probabilities (name -> [N, labels])."""
    gate_model, gate_label, gated = GATE
    by_name = {m.name: m for m in members}
    p_gate = probs[gate_model][:, by_name[gate_model].labels.index(gate_label)]
    trust = torch.stack([p_gate if name in gated else torch.ones_like(p_gate)
                         for name in RISK_MODELS])
    return EnsembleInputs(risk_scores(members, probs),
                          probs[MODIFIER[0]][:, 1], trust)


def levels_of(scores, thresholds):
    """Level per score (any shape) against one list of 4 thresholds."""
    t = torch.tensor(thresholds, dtype=torch.float32)
    return (scores.unsqueeze(-1) >= t).sum(-1)


def trusted_max(damped, trust):
    """[N] highest damped score among models with trust >= 0.5 (all models
    when none is trusted)."""
    trusted = trust >= 0.5
    trusted = trusted | ~trusted.any(0, keepdim=True)
    return damped.masked_fill(~trusted, -1.0).max(0).values


def weighted_mean(damped, weights):
    """[N] mean of damped [models, N] with per-message weights [models, N]."""
    return (weights * damped).sum(0) / weights.sum(0)


def effective_weights(weights, trust):
    """[models, N]: ensemble weight x gate trust."""
    return torch.tensor(weights, dtype=torch.float32).unsqueeze(1) * trust


def majority_levels(damped, weights, thresholds):
    """[N] level with the most vote weight: each model votes the level of
    its damped score [models, N] with its weight [models, N]; ties go to the
    higher level."""
    votes = levels_of(damped, thresholds)                      # [models, N]
    onehot = torch.nn.functional.one_hot(votes, len(LEVELS)).float()
    tally = (weights.unsqueeze(-1) * onehot).sum(0)            # [N, levels]
    best = tally.max(1, keepdim=True).values
    # Highest level whose tally is the best one.
    ranks = torch.arange(len(LEVELS)).expand_as(tally)
    return ranks.masked_fill(tally < best, -1).max(1).values


def combine(risk, dampening, trust, weights, mode, thresholds):
    """(score, level) per message.

    risk [models, N] risk scores, dampening [N], trust [models, N],
    weights [models, N] (ensemble weight x trust), mode a CombineMode name,
    thresholds (low, medium, high, critical).
    """
    damped = risk * dampening
    mean = weighted_mean(damped, weights)
    if mode == CONSERVATIVE_MAX:
        score = trusted_max(damped, trust)
        level = levels_of(score, thresholds)
    elif mode == MAJORITY:
        score = mean
        level = majority_levels(damped, weights, thresholds)
    elif mode in (WEIGHTED, "COMBINE_MODE_UNSPECIFIED"):
        score = mean
        level = levels_of(score, thresholds)
    else:
        raise ValueError(f"unknown combine mode {mode}")
    return score.clamp(0.0, 1.0), level


def combine_members(inputs, choice):
    """(score, level) per message for one ensemble choice (see module doc)."""
    dampening = 1.0 - choice.strength * inputs.context_p
    return combine(inputs.risk, dampening, inputs.trust,
                   effective_weights(choice.weights, inputs.trust),
                   choice.mode, choice.thresholds)


def label_index(specs, model, label):
    """Index of label among the labels of specs[model]."""
    return [item["name"] for item in specs[model]["labels"]].index(label)


def combine_config(config, specs, probs):
    """(score, level) per message for any ensemble.json.

    config: EnsembleConfig in protobuf JSON mapping (models, thresholds,
    mode, modifiers, gates); specs: name -> ModelSpec in protobuf JSON
    mapping (labels with risks, weight); probs: name -> [N, labels]
    probabilities. A model absent from probs was skipped: a skipped gate
    leaves full trust, a skipped modifier does not dampen.
    """
    modifiers = {m["model"]: m for m in config.get("modifiers", [])}
    gates = config.get("gates", [])
    gate_models = {g["model"] for g in gates}
    risk_names = [name for name in config["models"] if name in probs
                  and name not in modifiers and name not in gate_models]
    n = len(next(iter(probs.values())))
    dampening = torch.ones(n)
    for name in config["models"]:
        if name in modifiers and name in probs:
            m = modifiers[name]
            p = probs[name][:, label_index(specs, name, m["label"])]
            dampening = dampening * (1.0 - m.get("strength", 0.0) * p)
    rows, trust = [], []
    for name in risk_names:
        risks = torch.tensor([item.get("risk", 0.0)
                              for item in specs[name]["labels"]])
        rows.append((probs[name] * risks).sum(1).clamp(0.0, 1.0))
        t = torch.ones(n)
        for g in gates:
            if name in g.get("models", []) and g["model"] in probs:
                t = t * probs[g["model"]][:, label_index(specs, g["model"],
                                                         g["label"])]
        trust.append(t)
    trust = torch.stack(trust)
    weights = [specs[name].get("weight", 0.0) for name in risk_names]
    thresholds = [config["thresholds"][k] for k in LEVELS[1:]]
    return combine(torch.stack(rows), dampening, trust,
                   effective_weights(weights, trust),
                   config.get("mode", WEIGHTED), thresholds)
