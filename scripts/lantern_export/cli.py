"""export_model.py's command line: options, dependencies, exit codes."""

import argparse
import sys

from .errors import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, Refusal
from .export import export

MISSING_TRANSFORMERS = """\
error: Hugging Face `transformers` is not installed for {python}.

export_model.py reads the checkpoint with transformers'
AutoModelForSequenceClassification and AutoTokenizer. Debian 12 does not
package it; install it next to Debian's torch 1.13 with:

    python3 -m venv --system-site-packages ~/lantern-export
    ~/lantern-export/bin/pip install 'transformers==4.38.2' sentencepiece
    ~/lantern-export/bin/python scripts/export_model.py CHECKPOINT --out DIR

(4.38 is a release that still supports torch 1.13.) Keep torch at 1.13
(do not let pip upgrade it): TorchScript saved by torch 2.x may not load
in the libtorch 1.13 that Lantern links."""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="export_model.py",
        description="Turn a Hugging Face sequence-classification checkpoint into a "
                    "TorchScript model, a Lantern spec and tokenizer files.",
        epilog="Warning: TorchScript saved by torch 2.x may not load in libtorch 1.13, "
               "which Lantern links; export with Debian's python3-torch 1.13. "
               "See the top of this file for details.")
    parser.add_argument("checkpoint", nargs="?",
                        help="folder written by save_pretrained (model + tokenizer)")
    parser.add_argument("--out", help="output folder, e.g. models/mine/<name>")
    parser.add_argument("--name", help="model name (default: the --out folder's name)")
    parser.add_argument("--role", default="user",
                        help="free-text role shown in signals (default: user)")
    parser.add_argument("--risks",
                        help="risk 0..1 per label, in label order ('0,0.3,1') or by name "
                             "('calm=0,crisis=1'); default: evenly spaced, with a warning")
    parser.add_argument("--max-tokens", type=int, default=128,
                        help="longest input in tokens, special tokens included "
                             "(default 128; capped by the model's positions)")
    parser.add_argument("--weight", type=float, default=1.0,
                        help="weight in the ensemble's weighted mean (default 1)")
    parser.add_argument("--skip-tokenizer-check", action="store_true",
                        help="do not compare tokenizations on probe sentences")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty --out folder")
    parser.add_argument("--self-test", action="store_true",
                        help="run this script's unit tests and exit")
    args = parser.parse_args(argv)
    if not args.self_test:
        if not args.checkpoint or not args.out:
            parser.error("CHECKPOINT and --out are required")
        if args.weight <= 0:
            parser.error("--weight must be > 0")
        if args.max_tokens < 3:
            parser.error("--max-tokens must be >= 3")
    return args



def main(argv=None):
    args = parse_args(argv)
    if args.self_test:
        # Imported here: the self-test imports this module.
        from .selftest import run_self_test  # pylint: disable=import-outside-toplevel
        return run_self_test()
    try:
        import torch  # pylint: disable=import-outside-toplevel
        import transformers  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        if getattr(e, "name", None) == "torch":
            print("error: torch is not installed; install Debian's python3-torch and "
                  "run with /usr/bin/python3", file=sys.stderr)
        else:
            print(MISSING_TRANSFORMERS.format(python=sys.executable), file=sys.stderr)
        return EXIT_USAGE
    try:
        export(args, torch, transformers)
    except Refusal as e:
        print(f"error: cannot export for Lantern: {e}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK
