"""Group cross-validation over train+dev (never test): --cv and --cv-heads.

Folds are by near-duplicate group, so a group never straddles folds. For
fold f, --cv trains on the other folds except f+1, picks epochs and tunes
the ensemble on fold f+1, and rates fold f, exactly like the real run does
with train, dev and test.
"""

import hashlib
import random
import time

import torch

import encoder_head

from .augment import build_train_set
from .constants import LEVELS, SEED
from .ensemble import combine_members, ensemble_inputs, member_probs
from .metrics import make_split, metrics, summarize
from .pipeline import train_members
from .report import print_summary
from .training import seed_everything
from .tuning import tune_ensemble


def cv_fold_of(example, folds):
    """Fold of a message: by its near-duplicate group, never split."""
    digest = hashlib.sha1(("fold:" + example.group).encode("utf-8"))
    return int(digest.hexdigest()[:8], 16) % folds


def fold_roles(fold_of, f, folds):
    """(train, dev, held-out) indices for round f: fold f is held out, fold
    f+1 (wrapping) plays dev, the other folds are trained on."""
    dev_f = (f + 1) % folds
    train = [i for i, x in enumerate(fold_of) if x not in (f, dev_f)]
    dev = [i for i, x in enumerate(fold_of) if x == dev_f]
    test = [i for i, x in enumerate(fold_of) if x == f]
    return train, dev, test


def run_cv(examples, folds, work_dir, encoder, save=None):
    """Group k-fold cross-validation over train+dev (never test).

    Mirrors the real pipeline inside each fold: fold f is held out, fold
    f+1 plays dev (epoch choice and ensemble tuning), the other folds are
    trained on. Near-duplicate groups never straddle folds. Prints per-fold
    and pooled out-of-fold metrics; returns the pooled summary.
    """
    pool = [e for e in examples if e.split in ("train", "dev")]
    fold_of = [cv_fold_of(e, folds) for e in pool]
    print(f"cross-validation: {folds} folds over {len(pool)} train+dev "
          f"messages: " + ", ".join(
              str(fold_of.count(f)) for f in range(folds)), flush=True)
    level_all = torch.zeros(len(pool), dtype=torch.long)
    saved = {"folds": folds, "fold_of": fold_of, "runs": []}
    started = time.time()
    for f in range(folds):
        train_idx, dev_idx, test_idx = fold_roles(fold_of, f, folds)
        train = [pool[i] for i in train_idx]
        dev = [pool[i] for i in dev_idx]
        test = [pool[i] for i in test_idx]
        print(f"\n== fold {f + 1} of {folds}: train {len(train)}, dev "
              f"{len(dev)}, held out {len(test)} "
              f"({time.time() - started:.0f}s)", flush=True)
        seed_everything()
        out = work_dir / f"fold{f}"
        out.mkdir(parents=True, exist_ok=True)
        _, members = train_members(train, dev, out, encoder, verbose=False)
        run = {"dev_idx": dev_idx, "test_idx": test_idx}
        for part, subset in (("dev", dev), ("test", test)):
            probs = member_probs(members, [e.text for e in subset])
            run[part] = {k: v.clone() for k, v in probs.items()}
        saved["runs"].append(run)
        choice = tune_ensemble(make_split(dev),
                               ensemble_inputs(members, run["dev"]),
                               verbose=False)
        _, level = combine_members(ensemble_inputs(members, run["test"]),
                                   choice)
        level_all[test_idx] = level
        print(f"  chose {choice}")
        print_summary(f"fold {f + 1} held out", summarize(make_split(test),
                                                          level))
    if save:
        torch.save(saved, save)
    pooled = summarize(make_split(pool), level_all)
    print(f"\n== cross-validation, pooled out-of-fold "
          f"({time.time() - started:.0f}s)")
    print_summary("all train+dev", pooled)
    return pooled


# Head shapes compared by --cv-heads.
HEAD_CANDIDATES = {
    "linear": encoder_head.HeadConfig(hidden=0, seeds=1),
    "mlp128": encoder_head.HeadConfig(hidden=128, seeds=1),
    "mlp256": encoder_head.HeadConfig(hidden=256, seeds=1),
    "mlp512": encoder_head.HeadConfig(hidden=512, seeds=1),
    "mlp256-drop0.3": encoder_head.HeadConfig(hidden=256, dropout=0.3,
                                              seeds=1),
    "mlp256-augmented": encoder_head.HeadConfig(hidden=256, seeds=1,
                                                augmented=True),
    "mlp512-augmented": encoder_head.HeadConfig(hidden=512, seeds=1,
                                                augmented=True),
}


def run_cv_heads(examples, folds, encoder):
    """Group k-fold cross-validation of encoder head shapes, on the encoder
    alone (argmax level), over train+dev (never test). Cheap: the
    embeddings are computed once."""
    pool = [e for e in examples if e.split in ("train", "dev")]
    fold_of = torch.tensor([cv_fold_of(e, folds) for e in pool])
    x = encoder.embed([e.text for e in pool])
    y = torch.tensor([e.level for e in pool])
    split = make_split(pool)
    # Augmented variants, each with the fold of its message.
    position = {id(e): i for i, e in enumerate(pool)}
    variants = [(text, position[id(e)])
                for text, e in build_train_set(pool, random.Random(SEED))
                if text != e.text]
    x_aug = encoder.embed([text for text, _ in variants])
    source = torch.tensor([i for _, i in variants])
    print(f"\n== encoder heads, {folds}-fold group cross-validation over "
          f"{len(pool)} train+dev messages (argmax level of the encoder "
          "alone)")
    for name, config in HEAD_CANDIDATES.items():
        started = time.time()
        pred = torch.zeros(len(pool), dtype=torch.long)
        for f in range(folds):
            test = fold_of == f
            dev = fold_of == (f + 1) % folds
            train = ~(test | dev)
            x_train, y_train = x[train], y[train]
            if config.augmented:
                extra = train[source]
                x_train = torch.cat([x_train, x_aug[extra]])
                y_train = torch.cat([y_train, y[source[extra]]])
            heads = encoder_head.train_heads((x_train, y_train),
                                             (x[dev], y[dev]), len(LEVELS),
                                             config, SEED, verbose=False)
            pred[test] = encoder_head.head_probs(heads, x[test]).argmax(1)
        m = {k: v[0] for k, v in metrics(split, pred.unsqueeze(0)).items()}
        print(f"  {name:16} macro-recall "
              f"{encoder_head.macro_recall(y, pred, len(LEVELS)):.3f} "
              f"recall(high+crit) {m['recall']:.3f} none->medium+ "
              f"{m['none_fa']:.3f} medium->medium+ {m['medium_plus']:.3f} "
              f"pass {m['pass']:.3f} ({time.time() - started:.0f}s)",
              flush=True)
