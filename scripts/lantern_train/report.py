"""Printed and JSON reports of the splits for the chosen ensemble."""

import torch

import split_corpus

from .constants import (LEVEL_TO_DISTRESS, LEVELS, PASS_LEVELS,
                        TARGET_FAMILY_LOW, TARGET_NONE_FA, TARGET_RECALL,
                        TARGET_TAG_PASS)
from .data import language_label
from .metrics import make_split, metrics


def split_report(name, subset, level, score):
    """Prints and returns the metrics of one split for the chosen ensemble."""
    del score  # the report is on levels only
    split = make_split(subset)
    m = {k: v[0] for k, v in metrics(split, level.unsqueeze(0)).items()}
    gold = split.gold.tolist()
    pred = level.tolist()
    print(f"\n== {name}: n={len(gold)} accuracy {m['accuracy']:.3f} "
          f"pass {m['pass']:.3f} high+critical recall {m['recall']:.3f} "
          f"none->medium+ {m['none_fa']:.3f} "
          f"medium->medium+ {m['medium_plus']:.3f}")
    confusion = print_confusion(gold, pred)
    per_tag = print_tags(split, m)
    print_targets(m, per_tag)
    return {"n": len(gold), "accuracy": round(m["accuracy"].item(), 4),
            "pass": round(m["pass"].item(), 4),
            "recall_high_critical": round(m["recall"].item(), 4),
            "none_rated_medium_plus": round(m["none_fa"].item(), 4),
            "medium_rated_medium_plus": round(m["medium_plus"].item(), 4),
            "confusion": confusion, "tags": per_tag}


def confusion_matrix(gold, pred):
    """[gold level][predicted level] counts."""
    return [[sum(1 for a, b in zip(gold, pred) if a == g and b == p)
             for p in range(len(LEVELS))] for g in range(len(LEVELS))]


def print_confusion(gold, pred):
    """Prints and returns the confusion matrix."""
    print("   gold \\ pred " + " ".join(f"{lvl:>8}" for lvl in LEVELS))
    confusion = confusion_matrix(gold, pred)
    for lvl, row in zip(LEVELS, confusion):
        print(f"   {lvl:>12} " + " ".join(f"{c:8d}" for c in row))
    return confusion


def print_tags(split, m):
    """Prints per-tag pass rates (and <=low rates of the false-alarm
    families) with what misses its target; returns them by tag."""
    order = list(split_corpus.FAMILIES) + sorted(split_corpus.EXTRA_TAGS)
    print(f"   {'tag':22} {'n':>5} {'pass':>7} {'<=low':>7}")
    per_tag = {}
    fam_low = dict(zip([split.tags[i] for i in split.family_cols],
                       m["family_low"].tolist()))
    for tag in order:
        if tag not in split.tags:
            continue
        col = split.tags.index(tag)
        rate = m["tag_pass"][col].item()
        n = int(split.counts[col].item())
        low = fam_low.get(tag)
        flags = []
        if rate < TARGET_TAG_PASS:
            flags.append(f"pass {TARGET_TAG_PASS - rate:.3f} below target")
        if low is not None and low < TARGET_FAMILY_LOW:
            flags.append(f"<=low {TARGET_FAMILY_LOW - low:.3f} below target")
        low_text = f"{low:7.3f}" if low is not None else " " * 7
        print(f"   {tag:22} {n:5d} {rate:7.3f} {low_text}  {'; '.join(flags)}")
        per_tag[tag] = {"n": n, "pass": round(rate, 4)}
        if low is not None:
            per_tag[tag]["low_or_none"] = round(low, 4)
    return per_tag


def print_targets(m, per_tag):
    """One line: all targets met, or which are missed."""
    misses = []
    if m["recall"] < TARGET_RECALL:
        misses.append(f"recall {TARGET_RECALL - m['recall']:.3f} below target")
    if m["none_fa"] > TARGET_NONE_FA:
        misses.append(f"none->medium+ {m['none_fa'] - TARGET_NONE_FA:.3f} "
                      "above target")
    print("   targets: " + ("all met" if not misses and all(
        v["pass"] >= TARGET_TAG_PASS and v.get("low_or_none", 1) >=
        TARGET_FAMILY_LOW for v in per_tag.values()) else
        "; ".join(misses) or "some tags below target (see above)"))


def print_models_alone(subset, probs):
    """Argmax accuracy of each model alone on its own labels."""
    gold = torch.tensor([e.level for e in subset])
    alone = [
        ("severity", (probs["severity"].argmax(1) == gold)),
        ("encoder", (probs["encoder"].argmax(1) == gold)),
        ("distress", (probs["distress"].argmax(1) == torch.tensor(
            [LEVEL_TO_DISTRESS[g] for g in gold.tolist()]))),
        ("context", (probs["context"].argmax(1) == torch.tensor(
            [e.literal for e in subset]))),
        ("language", (probs["language"].argmax(1) == torch.tensor(
            [language_label(e) for e in subset]))),
    ]
    print("   models alone (argmax accuracy): " + ", ".join(
        f"{n} {ok.float().mean().item():.3f}" for n, ok in alone))


def print_errors(subset, level, score, context_p):
    """Lists the misclassified messages of a split (dev only, never test)."""
    for ex, p, s, c in zip(subset, level.tolist(), score.tolist(),
                           context_p.tolist()):
        if p not in PASS_LEVELS[ex.level]:
            print(f"   FAIL {LEVELS[ex.level]:>8} -> {LEVELS[p]:<8} "
                  f"{s:.2f} nl={c:.2f} {ex.tags[0]:18} {ex.text}")


def print_summary(name, s):
    """One block of summarize() output."""
    fam = s["family_low_or_none"]
    worst_fam = min(fam, key=lambda t: (fam[t], t)) if fam else None
    print(f"  {name}: n={s['n']} recall(high+crit) "
          f"{s['recall_high_critical']:.3f} none->medium+ "
          f"{s['none_rated_medium_plus']:.3f} medium pass "
          f"{s['medium_pass']:.3f} medium exact {s['medium_exact']:.3f} "
          f"medium->high+ {s['medium_rated_high_plus']:.3f} "
          f"pass {s['pass']:.3f} acc {s['accuracy']:.3f}")
    if worst_fam:
        print(f"    false-alarm families <=low: min {worst_fam} "
              f"{fam[worst_fam]:.3f}; " + ", ".join(
                  f"{t} {v:.3f}" for t, v in sorted(fam.items())))
    print(f"    worst tag: {s['worst_tag'][0]} {s['worst_tag'][1]:.3f}; "
          f"tags below {TARGET_TAG_PASS}: " + (", ".join(
              f"{t} {v:.3f}" for t, v in sorted(s["tags"].items())
              if v < TARGET_TAG_PASS) or "none"))
