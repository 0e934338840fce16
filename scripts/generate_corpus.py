#!/usr/bin/python3
"""Writes data/corpus/generated.jsonl from the project's own phrase fragments.

The hand-written files in data/corpus/ are the core of the corpus. This script
adds variety by composing short fragments (all written for Lantern, none taken
from any third-party list) into chat-style messages, then varying case,
punctuation, emoji and spelling the way people do on Discord.

Every generated line carries the tag "generated" and a "template" field: the
family and sentence form it came from (e.g. "gaming/boss_deaths"). Lines of
one template are siblings, and scripts/split_corpus.py keeps siblings in one
split, so the dev and test splits never hold a line whose template was
trained on.

The output is deterministic: the same script always writes the same file.
Lines whose normalised key already occurs in a hand-written file, or in the
sanity sentences of scripts/lantern_train/sanity.py, are skipped. Each family's
generated share is capped (see MAX_GENERATED_SHARE) so hand-written lines
dominate every family.

This file is the command line; the fragments, forms and rules are in the
package scripts/lantern_corpus/ (its __init__.py lists the modules).

Usage:
  /usr/bin/python3 scripts/generate_corpus.py [--corpus-dir data/corpus]
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from lantern_corpus.generate import OUTPUT_NAME, generate  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-dir", default="data/corpus",
                        type=pathlib.Path)
    args = parser.parse_args()
    rows = generate(args.corpus_dir)
    out = args.corpus_dir / OUTPUT_NAME
    with out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} messages to {out}")


if __name__ == "__main__":
    main()
