"""The golden file shared by the Python and C++ ensemble parity tests.

tests/data/ensemble_parity.json holds ensemble configs, model specs and
per-model probability vectors, with the level and score that
ensemble.combine_config() gives. tests/python/test_ensemble_parity.py checks
Python against it; tests/core/ensemble_parity_test.cc checks the server's
Ensemble::Combine against it (same level, score within 1e-5).

Regenerate after changing the cases or the Python combination:
  (cd scripts && /usr/bin/python3 -m lantern_train.parity)

Every case keeps its scores, trusts and vote tallies at least MARGIN away
from a threshold, 0.5 or a tie, so float rounding (C++ sums in another
order, and computes probabilities as softmax(log p)) cannot change a level.
"""

import argparse
import json
import math
import pathlib
import random

import torch

from .constants import (CONTEXT_LABELS, DISTRESS_LABELS, DISTRESS_RISKS,
                        LANGUAGE_LABELS, LEVEL_RISKS, LEVELS)
from .ensemble import (CONSERVATIVE_MAX, MAJORITY, WEIGHTED, combine_config,
                       label_index)

GOLDEN = (pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"
          / "ensemble_parity.json")
MARGIN = 1e-4
CASE_SEED = 20261213
RANDOM_CASES_PER_MODE = 8
THRESHOLDS = {"low": 0.325, "medium": 0.475, "high": 0.6, "critical": 0.875}


def spec(name, labels, risks, weight=1.0):
    """ModelSpec (protobuf JSON) with what the ensemble reads."""
    return {"name": name, "labels": [{"name": n, "risk": r}
                                     for n, r in zip(labels, risks)],
            "weight": weight}


def default_specs(weights=(0.4, 0.3, 0.3)):
    """The shape training writes: three risk models, a modifier, a gate."""
    return [spec("severity", LEVELS, LEVEL_RISKS, weights[0]),
            spec("distress", DISTRESS_LABELS, DISTRESS_RISKS, weights[1]),
            spec("context", CONTEXT_LABELS, [0.0, 0.0]),
            spec("language", LANGUAGE_LABELS, [0.0, 0.0]),
            spec("encoder", LEVELS, LEVEL_RISKS, weights[2])]


def default_config(mode, strength=0.6, thresholds=None):
    """EnsembleConfig of default_specs()."""
    return {"version": "parity", "mode": mode,
            "models": ["severity", "distress", "context", "language",
                       "encoder"],
            "thresholds": dict(thresholds or THRESHOLDS),
            "modifiers": [{"model": "context", "label": "non_literal",
                           "strength": strength}],
            "gates": [{"model": "language", "label": "english",
                       "models": ["encoder"]}]}


def case(name, config, specs, probabilities):
    """A case without its expected verdict (golden() adds it)."""
    return {"name": name, "ensemble": config, "models": specs,
            "probabilities": probabilities}


def default_cases():
    """Hand-written cases on the shape training writes."""
    calm = {"severity": [0.9, 0.05, 0.03, 0.01, 0.01],
            "distress": [0.92, 0.06, 0.02], "context": [0.95, 0.05],
            "language": [0.97, 0.03],
            "encoder": [0.85, 0.1, 0.03, 0.01, 0.01]}
    crisis = {"severity": [0.01, 0.01, 0.03, 0.15, 0.8],
              "distress": [0.02, 0.08, 0.9], "context": [0.9, 0.1],
              "language": [0.98, 0.02],
              "encoder": [0.01, 0.02, 0.07, 0.3, 0.6]}
    gaming = dict(crisis, context=[0.1, 0.9],
                  severity=[0.05, 0.1, 0.25, 0.4, 0.2])
    spanish = dict(crisis, language=[0.05, 0.95],
                   encoder=[0.7, 0.2, 0.05, 0.03, 0.02])
    alarmed_encoder = dict(calm, language=[0.3, 0.7],
                           encoder=[0.01, 0.01, 0.03, 0.15, 0.8])
    out = []
    for mode in (WEIGHTED, CONSERVATIVE_MAX, MAJORITY):
        short = mode[len("COMBINE_MODE_"):].lower()
        for label, probs in (("calm", calm), ("crisis", crisis),
                             ("gaming talk dampened", gaming),
                             ("spanish, encoder set aside", spanish),
                             ("alarmed encoder distrusted", alarmed_encoder)):
            out.append(case(f"{short}: {label}", default_config(mode),
                            default_specs(), probs))
    return out


def skipped_cases():
    """Models that could not run: absent from the probabilities."""
    crisis = {"severity": [0.02, 0.03, 0.1, 0.35, 0.5],
              "distress": [0.05, 0.15, 0.8], "context": [0.3, 0.7],
              "language": [0.2, 0.8],
              "encoder": [0.02, 0.03, 0.05, 0.3, 0.6]}

    def without(*names):
        return {k: v for k, v in crisis.items() if k not in names}

    return [
        case("weighted: gate skipped leaves full trust",
             default_config(WEIGHTED), default_specs(), without("language")),
        case("weighted: modifier skipped does not dampen",
             default_config(WEIGHTED), default_specs(), without("context")),
        case("weighted: a risk model skipped", default_config(WEIGHTED),
             default_specs(), without("distress")),
        case("conservative_max: only a distrusted risk model left",
             default_config(CONSERVATIVE_MAX), default_specs(),
             without("severity", "distress")),
    ]


def shape_cases():
    """Other ensemble shapes: two modifiers, two gates on one model, votes."""
    two = {"version": "parity", "models": ["a", "b", "m1", "m2", "g1", "g2"],
           "thresholds": {"low": 0.2, "medium": 0.4, "high": 0.6,
                          "critical": 0.8},
           "modifiers": [{"model": "m1", "label": "yes", "strength": 0.5},
                         {"model": "m2", "label": "yes", "strength": 0.25}],
           "gates": [{"model": "g1", "label": "yes", "models": ["b"]},
                     {"model": "g2", "label": "yes", "models": ["b"]}]}
    yes_no = ["no", "yes"]
    specs = [spec("a", ["ok", "bad"], [0.0, 1.0], 1.0),
             spec("b", ["ok", "meh", "bad"], [0.0, 0.5, 1.0], 2.0),
             spec("m1", yes_no, [0.0, 0.0]), spec("m2", yes_no, [0.0, 0.0]),
             spec("g1", yes_no, [0.0, 0.0]), spec("g2", yes_no, [0.0, 0.0])]
    probs = {"a": [0.3, 0.7], "b": [0.1, 0.2, 0.7], "m1": [0.6, 0.4],
             "m2": [0.2, 0.8], "g1": [0.2, 0.8], "g2": [0.1, 0.9]}
    distrusted = dict(probs, g1=[0.5, 0.5], g2=[0.7, 0.3])
    out = []
    for mode in (WEIGHTED, CONSERVATIVE_MAX, MAJORITY,
                 "COMBINE_MODE_UNSPECIFIED"):
        short = mode[len("COMBINE_MODE_"):].lower()
        out.append(case(f"{short}: two modifiers, two gates",
                        dict(two, mode=mode), specs, probs))
        out.append(case(f"{short}: two gates distrust b",
                        dict(two, mode=mode), specs, distrusted))
    pair = {"version": "parity", "mode": MAJORITY, "models": ["a", "b"],
            "thresholds": two["thresholds"]}
    pair_specs = [spec("a", ["ok", "bad"], [0.0, 1.0], 1.0),
                  spec("b", ["ok", "bad"], [0.0, 1.0], 1.0)]
    out.append(case("majority: a tie goes to the higher level", pair,
                    pair_specs, {"a": [0.85, 0.15], "b": [0.3, 0.7]}))
    heavy = [spec("a", ["ok", "bad"], [0.0, 1.0], 3.0),
             spec("b", ["ok", "bad"], [0.0, 1.0], 1.0)]
    out.append(case("majority: the heavier vote wins", pair, heavy,
                    {"a": [0.9, 0.1], "b": [0.1, 0.9]}))
    return out


def random_probs(rng, size):
    """A probability vector of 4-decimal values summing to exactly 1."""
    cuts = sorted(rng.sample(range(1, 10000), size - 1))
    parts = [b - a for a, b in zip([0] + cuts, cuts + [10000])]
    return [p / 10000 for p in parts]


def random_cases():
    """Seeded random messages on the default shape, with random weights,
    strengths and thresholds; cases too close to a boundary are skipped."""
    rng = random.Random(CASE_SEED)
    sizes = {"severity": 5, "distress": 3, "context": 2, "language": 2,
             "encoder": 5}
    out = []
    for mode in (WEIGHTED, CONSERVATIVE_MAX, MAJORITY):
        short = mode[len("COMBINE_MODE_"):].lower()
        made = 0
        while made < RANDOM_CASES_PER_MODE:
            weights = [round(rng.uniform(0.1, 1.0), 2) for _ in range(3)]
            cuts = sorted(round(rng.uniform(0.05, 0.95), 3) for _ in range(4))
            config = default_config(mode, round(rng.uniform(0, 0.9), 2),
                                    dict(zip(LEVELS[1:], cuts)))
            probs = {k: random_probs(rng, n) for k, n in sizes.items()}
            c = case(f"{short}: random {made}", config,
                     default_specs(weights), probs)
            if (min(b - a for a, b in zip(cuts, cuts[1:])) >= 0.02
                    and closest_call(c) >= MARGIN):
                out.append(c)
                made += 1
    return out


def all_cases():
    """Every case of the golden file, in order."""
    return default_cases() + skipped_cases() + shape_cases() + random_cases()


def model_terms(c):
    """Plain float64 arithmetic for case c: per risk model, its damped
    score, its trust and its weight x trust."""
    config, probs = c["ensemble"], c["probabilities"]
    specs = {s["name"]: s for s in c["models"]}
    modifiers = {m["model"]: m for m in config.get("modifiers", [])}
    gates = config.get("gates", [])
    gated = {g["model"] for g in gates}
    damp = math.prod(
        1 - modifiers[n]["strength"]
        * probs[n][label_index(specs, n, modifiers[n]["label"])]
        for n in config["models"] if n in probs and n in modifiers)
    risk = [n for n in config["models"]
            if n in probs and n not in modifiers and n not in gated]
    score = {n: min(1.0, sum(p * lab["risk"] for p, lab in
                             zip(probs[n], specs[n]["labels"]))) * damp
             for n in risk}
    trust = {n: math.prod(
        probs[g["model"]][label_index(specs, g["model"], g["label"])]
        for g in gates if n in g["models"] and g["model"] in probs)
        for n in risk}
    weight = {n: specs[n]["weight"] * trust[n] for n in risk}
    return score, trust, weight


def reference(c):
    """(score, level index, closest call) of case c in plain float64
    arithmetic, written from the rules in ensemble.py's docstring.

    The closest call is the smallest distance between something that
    decides the level (combined score, trust, damped model scores and vote
    tallies) and the boundary it is compared with; exact vote ties count as
    far.
    """
    score, trust, weight = model_terms(c)
    cuts = [c["ensemble"]["thresholds"][k] for k in LEVELS[1:]]
    mode = c["ensemble"].get("mode", WEIGHTED)
    mean = sum(weight[n] * score[n] for n in score) / sum(weight.values())
    near = [abs(t - 0.5) for t in trust.values()]
    if mode == CONSERVATIVE_MAX:
        trusted = [n for n in score if trust[n] >= 0.5] or list(score)
        result = max(score[n] for n in trusted)
        near += [abs(s - t) for s in score.values() for t in cuts]
        return result, sum(result >= t for t in cuts), min(near)
    if mode != MAJORITY:
        near += [abs(mean - t) for t in cuts]
        return mean, sum(mean >= t for t in cuts), min(near)
    near += [abs(s - t) for s in score.values() for t in cuts]
    tally = {}
    for n in score:
        level = sum(score[n] >= t for t in cuts)
        tally[level] = tally.get(level, 0.0) + weight[n]
    ranked = sorted(tally.values(), reverse=True)
    if len(ranked) > 1 and ranked[0] != ranked[1]:
        near.append(ranked[0] - ranked[1])
    return mean, max(lv for lv, w in tally.items() if w == ranked[0]), \
        min(near)


def closest_call(c):
    """reference(c)'s closest call."""
    return reference(c)[2]


def expected(c):
    """{"level", "score"} that combine_config gives for case c."""
    probs = {name: torch.tensor([p], dtype=torch.float32)
             for name, p in c["probabilities"].items()}
    specs = {s["name"]: s for s in c["models"]}
    score, level = combine_config(c["ensemble"], specs, probs)
    return {"level": LEVELS[int(level[0])],
            "score": float(f"{score[0].item():.9g}")}


def golden():
    """The golden file's content."""
    cases = []
    for c in all_cases():
        if closest_call(c) < MARGIN:
            raise ValueError(f"case {c['name']!r} is too close to a "
                             "boundary for a parity test")
        cases.append(dict(c, expected=expected(c)))
    return {"about": "Ensemble parity cases: Python (scripts/lantern_train/"
                     "ensemble.py combine_config) and C++ (core/ensemble.cc "
                     "Ensemble::Combine) must give this level and score "
                     "(within 1e-5). Models of the ensemble without "
                     "probabilities were skipped. Generated by "
                     "'cd scripts && /usr/bin/python3 -m "
                     "lantern_train.parity'; do not edit by hand.",
            "cases": cases}


def render(content):
    """The file's text: a few lines per case, stable and diffable."""
    def dumps(value):
        return json.dumps(value, ensure_ascii=False)
    cases = []
    for c in content["cases"]:
        cases.append("  {" + ",\n   ".join(f"{dumps(k)}: {dumps(v)}"
                                           for k, v in c.items()) + "}")
    return ("{\"about\": " + dumps(content["about"]) + ",\n \"cases\": [\n"
            + ",\n".join(cases) + "\n]}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=GOLDEN)
    args = parser.parse_args()
    content = golden()
    args.out.write_text(render(content), encoding="utf-8")
    print(f"wrote {len(content['cases'])} cases to {args.out}")


if __name__ == "__main__":
    main()
