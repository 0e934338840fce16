"""export(): a checkpoint read with transformers, checked, written for Lantern."""

import os
import shutil
import sys

from .errors import Refusal
from .spec import (build_spec, default_risks, file_version, labels_from_config,
                   parse_risks, write_json)
from .tokenizer_plan import plan_tokenizer
from .trace import trace_model


def export(args, torch, transformers):
    """Writes model.pt, model.json and the tokenizer file into args.out, or
    raises Refusal before writing anything. torch and transformers are the
    modules (the self-test passes stand-ins)."""
    _check_paths(args, torch)
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.checkpoint)
    plan = plan_tokenizer(tokenizer, args.checkpoint, args.skip_tokenizer_check)

    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        args.checkpoint, torchscript=True)
    model.eval()
    labels = labels_from_config(model.config.id2label)
    risks = label_risks(args.risks, labels)
    positions = getattr(model.config, "max_position_embeddings", None) or args.max_tokens
    max_tokens = min(args.max_tokens, positions)
    vocab_size = getattr(model.config, "vocab_size", None) or len(tokenizer)

    traced = trace_model(torch, model, plan["spec"]["padId"], max_tokens, vocab_size)
    model_path = _write_files(args.out, torch, traced, plan)
    name = args.name or os.path.basename(os.path.normpath(args.out))
    spec = build_spec(name, file_version(model_path), args.role, labels, risks,
                      plan["spec"], max_tokens, args.weight)
    write_json(os.path.join(args.out, "model.json"), spec)
    print(f"wrote {args.out}: model.pt, model.json, {plan['spec']['model']} "
          f"({len(labels)} labels, {plan['spec']['type']} tokenizer, max {max_tokens} "
          f"tokens)\nnext: add \"{os.path.basename(os.path.normpath(args.out))}\" to the "
          f"\"models\" list of ensemble.json in the model directory")


def _check_paths(args, torch):
    if not os.path.isdir(args.checkpoint):
        raise Refusal(f"{args.checkpoint} is not a folder")
    if os.path.isdir(args.out) and os.listdir(args.out) and not args.force:
        raise Refusal(f"{args.out} is not empty (use --force to overwrite)")
    if int(torch.__version__.split(".")[0]) >= 2:
        print(f"warning: torch {torch.__version__}: TorchScript saved by torch 2.x may not "
              "load in Lantern's libtorch 1.13", file=sys.stderr)


def label_risks(risks_option, labels):
    """--risks parsed (a Refusal when wrong), or evenly spaced risks with a
    warning on stderr when it was not given."""
    if risks_option:
        try:
            return parse_risks(risks_option, labels)
        except ValueError as e:
            raise Refusal(str(e))
    risks = default_risks(len(labels))
    print("WARNING: no --risks given. Risks are spaced evenly from 0 to 1 in label "
          "order:\n  " + ", ".join(f"{l}={r}" for l, r in zip(labels, risks)) +
          "\n  This is only right if the labels go from safe to dangerous. Check "
          "and pass --risks.", file=sys.stderr)
    return risks


def _write_files(out, torch, traced, plan):
    """model.pt (loaded back once) and the tokenizer file; returns model.pt's path."""
    os.makedirs(out, exist_ok=True)
    model_path = os.path.join(out, "model.pt")
    torch.jit.save(traced, model_path)
    torch.jit.load(model_path)  # Fails here rather than in the server.
    if plan["vocab"] is not None:
        with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(plan["vocab"]) + "\n")
    else:
        shutil.copyfile(plan["copy"], os.path.join(out, plan["spec"]["model"]))
    return model_path
