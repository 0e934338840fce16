"""The whole run: train every member, tune the ensemble on dev, write the
model directory, report the splits.

scripts/train_models.py parses the options and calls load_inputs, then
train_and_write (or cv.run_cv / cv.run_cv_heads).
"""

import collections
import pathlib
import random
import shutil
import sys
import time

import torch

import encoder_head

from .augment import build_train_set
from .constants import (CALIBRATION_MESSAGES, CONTEXT_WEIGHT, ENCODER_HEAD,
                        LEVEL_RISKS, LEVELS, RISK_MODELS, SEED)
from .data import corpus_version, load_corpus
from .ensemble import (Member, combine_members, ensemble_inputs,
                       member_probs)
from .export import ensemble_config, export_model, model_spec, write_json
from .metrics import make_split
from .models import MODEL_SPECS, SeedAverage
from .report import print_errors, print_models_alone, split_report
from .sanity import check_sanity_held_out, run_sanity
from .tokenizer import dump_token_samples, encode, train_tokenizer
from .training import TrainConfig, predict_logits, train_classifier
from .tuning import tune_ensemble

SPLITS = ("train", "dev", "test")


def scripted_predictor(sp, module):
    """Member.predict for a module on the shared SentencePiece tokenizer."""
    return lambda texts: torch.softmax(
        predict_logits(module, encode(sp, texts)).float(), dim=1)


def train_all(examples, out_dir, encoder):
    """Trains the tokenizer and every model; returns (sp, list of Member)."""
    train = [e for e in examples if e.split == "train"]
    dev = [e for e in examples if e.split == "dev"]
    return train_members(train, dev, out_dir, encoder)


def train_members(train, dev, out_dir, encoder, verbose=True):
    """Trains the tokenizer and every model on train, picking epochs on dev.

    Writes tokenizer.model and <name>/model.pt into out_dir; returns
    (sp, list of Member). `encoder` is an encoder_head.Encoder.
    """
    print(f"training tokenizer on {len(train)} train messages", flush=True)
    sp = train_tokenizer([e.text for e in train], out_dir / "tokenizer.model")
    print(f"  vocabulary size {sp.get_piece_size()}")

    rows = build_train_set(train, random.Random(SEED))
    train_ids = encode(sp, [text for text, _ in rows])
    dev_ids = encode(sp, [e.text for e in dev])
    print(f"  {len(train_ids)} training rows after augmentation")

    members = []
    for name, cls, labels, risks, to_label, copies in MODEL_SPECS:
        trained = []
        for copy in range(copies):
            print(f"training {name} ({cls.__name__}, copy {copy + 1} of "
                  f"{copies})", flush=True)
            torch.manual_seed(SEED + copy)
            model = cls(sp.get_piece_size(), len(labels))
            trained.append(train_classifier(
                name, model, (train_ids, [to_label(e) for _, e in rows]),
                (dev_ids, [to_label(e) for e in dev]), len(labels),
                TrainConfig(), verbose))
        model = trained[0] if copies == 1 else SeedAverage(trained)
        model_dir = out_dir / name
        model_dir.mkdir(parents=True, exist_ok=True)
        loaded = export_model(model, model_dir / "model.pt", dev_ids[:64])
        if verbose:
            print(f"  saved {model_dir / 'model.pt'} (reload and padding "
                  "verified)")
        members.append(Member(name, labels, risks,
                              scripted_predictor(sp, loaded)))
    members.append(train_encoder_member(
        encoder, rows if ENCODER_HEAD.augmented else
        [(e.text, e) for e in train], dev, out_dir, verbose))
    return sp, members


def train_encoder_member(encoder, train_rows, dev, out_dir, verbose=True):
    """Trains the encoder's heads on train_rows ((text, example) pairs),
    picking epochs on dev, and writes <out_dir>/encoder/model.pt (its
    vocab.json is already there)."""
    print(f"training encoder heads ({ENCODER_HEAD.seeds} seeds)", flush=True)
    started = time.time()
    train_xy = (encoder.embed([text for text, _ in train_rows]),
                torch.tensor([e.level for _, e in train_rows]))
    dev_xy = (encoder.embed([e.text for e in dev]),
              torch.tensor([e.level for e in dev]))
    heads = encoder_head.train_heads(train_xy, dev_xy, len(LEVELS),
                                     ENCODER_HEAD, SEED, verbose)
    path = out_dir / "encoder" / "model.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    encoder_head.export(encoder, heads, path, [e.text for e in dev[:64]])
    print(f"  saved {path} ({time.time() - started:.0f}s; reload and "
          "padding verified)")
    return Member("encoder", LEVELS, LEVEL_RISKS,
                  lambda texts: encoder_head.head_probs(heads,
                                                        encoder.embed(texts)),
                  tokenizer=encoder_head.TOKENIZER_SPEC,
                  max_tokens=encoder_head.MAX_TOKENS)


def load_inputs(args):
    """Checks, splits and loads the corpus (refreshing args.splits) and
    loads the int8 encoder; returns (examples, version, encoder)."""
    examples = load_corpus(args.corpus, args.splits)
    check_sanity_held_out(examples)
    version = corpus_version(args.corpus)
    counts = collections.Counter(e.split for e in examples)
    print(f"corpus {version}: {len(examples)} messages "
          f"{dict(sorted(counts.items()))}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"loading the encoder from {args.encoder_package}", flush=True)
    train_texts = [e.text for e in examples if e.split == "train"]
    encoder = encoder_head.Encoder(
        args.encoder_package, args.out / "encoder",
        train_texts[::max(1, len(train_texts) // CALIBRATION_MESSAGES)])
    return examples, version, encoder


def train_and_write(args, examples, version, encoder, started):
    """Trains, tunes on dev, writes args.out, reports; returns the exit
    status (1 when a required sanity check fails)."""
    sp, members = train_all(examples, args.out, encoder)

    print("\ntuning the ensemble on dev", flush=True)
    by_split = {s: [e for e in examples if e.split == s] for s in SPLITS}
    outputs = {}
    for name, subset in by_split.items():
        probs = member_probs(members, [e.text for e in subset])
        outputs[name] = (ensemble_inputs(members, probs), probs)
    tuning_started = time.time()
    choice = tune_ensemble(make_split(by_split["dev"]), outputs["dev"][0])
    print(f"  chose {choice} ({time.time() - tuning_started:.0f}s)")
    write_model_dir(args, members, choice, version)

    report = {"version": version, "ensemble": ensemble_config(choice, version)}
    for name in SPLITS:
        if name == "test" and args.skip_test:
            continue
        inputs, probs = outputs[name]
        score, level = combine_members(inputs, choice)
        report[name] = split_report(name, by_split[name], level, score)
        print_models_alone(by_split[name], probs)
        if args.show_errors and name == "dev":
            print_errors(by_split[name], level, score, inputs.context_p)
    if args.report:
        write_json(pathlib.Path(args.report), report)
    if args.dump_token_samples:
        dump_token_samples(sp, args.dump_token_samples)
    ok = run_sanity(members, choice)
    print(f"\ndone in {time.time() - started:.1f}s; wrote {args.out}")
    if not ok:
        print("error: required sanity check failed", file=sys.stderr)
        return 1
    return 0


def write_model_dir(args, members, choice, version):
    """Writes every model.json, ensemble.json and cues.json into args.out
    (the model.pt files and tokenizer.model are already there)."""
    weights = dict(zip(RISK_MODELS, choice.weights))
    for member in members:
        member.weight = weights.get(member.name, CONTEXT_WEIGHT)
        write_json(args.out / member.name / "model.json",
                   model_spec(member, version))
    write_json(args.out / "ensemble.json", ensemble_config(choice, version))
    shutil.copyfile(args.cues, args.out / "cues.json")
