"""Target metrics of a set of predicted levels.

The pass rule is the eval tool's: PASS_LEVELS[gold] are the predicted
levels that count as a pass.
"""

import dataclasses

import torch

import split_corpus

from .constants import HIGH, LEVELS, LOW, MEDIUM, PASS_LEVELS


def macro_recall(gold, pred, num_labels):
    """Mean per-class recall over classes present in gold."""
    recalls = []
    for c in range(num_labels):
        idx = [i for i, g in enumerate(gold) if g == c]
        if idx:
            recalls.append(sum(pred[i] == c for i in idx) / len(idx))
    return sum(recalls) / len(recalls)


# PASS_TABLE[gold, predicted]: whether predicted passes for gold.
PASS_TABLE = torch.tensor([[p in PASS_LEVELS[g] for p in range(len(LEVELS))]
                           for g in range(len(LEVELS))])


@dataclasses.dataclass
class Split:
    """Gold levels and tag memberships of one split."""
    gold: torch.Tensor       # [N]
    tags: list               # tag names, sorted
    member: torch.Tensor     # [N, T] float
    counts: torch.Tensor     # [T]
    family_cols: list        # columns of the false-alarm families


def make_split(subset):
    """Split data for a list of examples."""
    tags = sorted({t for e in subset for t in e.tags})
    member = torch.tensor([[float(t in e.tags) for t in tags] for e in subset])
    family_cols = [i for i, t in enumerate(tags)
                   if t in split_corpus.FALSE_ALARM_FAMILIES]
    return Split(torch.tensor([e.level for e in subset]), tags, member,
                 member.sum(0), family_cols)


def metrics(split, pred):
    """Target metrics for predictions pred [C, N] (C candidates).

    Returns a dict of [C] tensors and [C, T] / [C, F] matrices.
    """
    gold = split.gold
    passes = PASS_TABLE[gold.unsqueeze(0).expand_as(pred), pred].float()
    serious = gold >= HIGH
    calm = gold == 0
    low_or_none = (pred <= LOW).float()
    counts = split.counts.clamp(min=1.0)
    fam = split.family_cols
    return {
        "recall": (pred[:, serious] >= HIGH).float().mean(1),
        "medium_plus": (pred[:, gold == MEDIUM] >= MEDIUM).float().mean(1),
        "none_fa": (pred[:, calm] >= MEDIUM).float().mean(1),
        "pass": passes.mean(1),
        "accuracy": (pred == gold).float().mean(1),
        "tag_pass": passes @ split.member / counts,
        "family_low": (low_or_none @ split.member[:, fam]) / counts[fam],
    }


def summarize(split, level):
    """Compact target metrics of one set of predictions (a dict)."""
    m = {k: v[0] for k, v in metrics(split, level.unsqueeze(0)).items()}
    gold = split.gold
    medium = gold == MEDIUM
    fam = {split.tags[c]: round(v, 4) for c, v in
           zip(split.family_cols, m["family_low"].tolist())}
    tags = {t: round(v, 4) for t, v in zip(split.tags, m["tag_pass"].tolist())}
    worst = min(tags, key=lambda t: (tags[t], t))
    return {
        "n": len(gold),
        "recall_high_critical": round(m["recall"].item(), 4),
        "none_rated_medium_plus": round(m["none_fa"].item(), 4),
        "medium_pass": round(m["tag_pass"].new_tensor(
            [float(PASS_TABLE[MEDIUM, p]) for p in level[medium].tolist()]
            ).mean().item(), 4),
        "medium_exact": round((level[medium] == MEDIUM).float().mean().item(),
                              4),
        "medium_rated_high_plus": round((level[medium] >= HIGH).float()
                                        .mean().item(), 4),
        "pass": round(m["pass"].item(), 4),
        "accuracy": round(m["accuracy"].item(), 4),
        "family_low_or_none": fam,
        "worst_tag": [worst, tags[worst]],
        "tags": tags,
    }
