#!/usr/bin/python3
"""Checks the held-out evaluation set data/heldout/heldout.jsonl.

The held-out set is read only by `lantern eval`; nothing trains or tunes on
it. This script makes sure it stays independent of the corpus and follows
the corpus' rules. It fails (exit 1) when any held-out line:
  - is not {"id", "text", "level", "tags"} with a non-empty text;
  - has an id other than "h" + the first 10 hex digits of the sha1 of its
    key (the key of scripts/split_corpus.py);
  - breaks the tag rules of split_corpus.py: family first, then only
    false_alarm / lgbtqia / one language tag ("generated" is not allowed
    here), false_alarm exactly on the false-alarm families, lgbtqia on
    every lgbtqia_* family;
  - has a level that data/DATASHEET.md does not allow for its family
    (ALLOWED_LEVELS below);
  - is a near-duplicate of any corpus line (data/corpus/*.jsonl) or of
    another held-out line, by split_corpus.py's rules: same key, character
    4-gram Jaccard >= 0.7 on keys, or word Jaccard >= 0.7 when both have at
    least 3 words.
It also fails when a family has fewer than --min-per-family lines, except
the families named by --added-later (created after the set was written).

Usage:
  /usr/bin/python3 scripts/check_heldout.py            # check only
  /usr/bin/python3 scripts/check_heldout.py --stats    # and print counts
  /usr/bin/python3 scripts/check_heldout.py --closest  # and brute-force the
                                                       # closest corpus pair
Flagged lines are named by line number and corpus file:line; add --show to
print the texts as well. Nothing is written.
"""

import argparse
import collections
import hashlib
import json
import pathlib
import sys
import time

sys.dont_write_bytecode = True  # leave no __pycache__ behind
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import split_corpus as sc  # noqa: E402  (key and near-duplicate rules)

FIELDS = {"id", "text", "level", "tags"}
HELDOUT_EXTRA_TAGS = sc.EXTRA_TAGS - {"generated"}

# Levels each family may take, from the families table of data/DATASHEET.md.
_CRITICAL = ("explicit_intent", "plan", "method_means", "timeframe",
             "goodbye", "giving_away")
ALLOWED_LEVELS = {
    **{family: {"critical"} for family in _CRITICAL},
    "ideation": {"high"},
    "passive_ideation": {"high"},
    "self_harm_current": {"high"},
    "self_harm_past": {"medium"},
    "self_harm_recovered": {"low"},
    "hopelessness": {"medium"},
    "burden": {"medium"},
    "isolation": {"low", "medium"},
    "panic": {"medium"},
    "abuse": {"medium", "high"},
    "worried_other": {"medium", "high"},
    "depression": {"medium"},
    "distress_general": {"medium"},
    "venting": {"low"},
    "everyday": {"none"},
    "support_talk": {"none"},
    "gaming": {"none"},
    "competitive": {"none"},
    "hyperbole": {"none", "low"},
    "irony": {"none"},
    "lyric_like": {"none"},
    "quote_like": {"none"},
    "slang": {"none"},
    "joke": {"none"},
    "benign_keyword": {"none", "low"},
    "media_talk": {"none", "low"},
    "wellbeing": {"none"},
    "lgbtqia_rejection": {"medium"},
    "lgbtqia_outing": {"medium"},
    "lgbtqia_thrown_out": {"medium"},
    "lgbtqia_dysphoria": {"low", "medium"},
    "lgbtqia_harassment": {"low", "medium"},
    "lgbtqia_chat": {"none", "low"},
}
assert set(ALLOWED_LEVELS) == set(sc.FAMILIES), "families out of sync"


def heldout_id(key):
    """The id of a held-out line whose key is key."""
    return "h" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def check_row(row):
    """Problems with one parsed held-out row (empty list when fine)."""
    if not isinstance(row, dict):
        return ["not a JSON object"]
    problems = []
    if set(row) != FIELDS:
        problems.append(f"fields must be {sorted(FIELDS)}, got {sorted(row)}")
    text, level, tags = row.get("text"), row.get("level"), row.get("tags")
    if not isinstance(text, str) or not text.strip():
        return problems + ["empty or missing text"]
    if level not in sc.LEVELS:
        problems.append(f"bad level {level!r}")
    if (not isinstance(tags, list) or not tags
            or not all(isinstance(t, str) for t in tags)
            or tags[0] not in sc.FAMILIES):
        return problems + [f"first tag must be a family: {tags!r}"]
    family, extra = tags[0], tags[1:]
    if any(t not in HELDOUT_EXTRA_TAGS for t in extra):
        problems.append(f"unknown extra tags {extra}")
    if len(set(extra)) != len(extra):
        problems.append("repeated tag")
    if (family in sc.FALSE_ALARM_FAMILIES) != ("false_alarm" in extra):
        problems.append("false_alarm must mark exactly the false-alarm "
                        "families")
    if family.startswith("lgbtqia_") and "lgbtqia" not in extra:
        problems.append("lgbtqia_* family needs 'lgbtqia'")
    if sum(t in sc.LANG_TAGS for t in extra) > 1:
        problems.append("more than one language tag")
    if level in sc.LEVELS and level not in ALLOWED_LEVELS[family]:
        problems.append(f"level {level} not allowed for {family} "
                        f"({'/'.join(sorted(ALLOWED_LEVELS[family]))})")
    expected = heldout_id(sc.dedup_key(text))
    if row.get("id") != expected:
        problems.append(f"id must be {expected}")
    return problems


def load_heldout(path):
    """(rows, errors); rows are dicts with "line" and "key" added.

    A row with rule problems is still returned (and so still compared for
    near-duplicates) as long as it has a text and a tag list.
    """
    rows, errors = [], []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {line_no}: bad JSON ({e.msg})")
                continue
            problems = check_row(row)
            if problems:
                errors.append(f"line {line_no}: {'; '.join(problems)}")
            usable = (isinstance(row, dict)
                      and isinstance(row.get("text"), str)
                      and row["text"].strip()
                      and isinstance(row.get("tags"), list) and row["tags"])
            if usable:  # still compared for near-duplicates and counted
                rows.append(dict(row, line=line_no,
                                 key=sc.dedup_key(row["text"])))
    return rows, errors


def load_corpus(corpus_dir):
    """Every corpus line as (where, text, key); no rule checks here."""
    lines = []
    for path in sorted(pathlib.Path(corpus_dir).glob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                text = json.loads(line)["text"]
                lines.append((f"{path.name}:{line_no}", text,
                              sc.dedup_key(text)))
    return lines


def near_duplicates(corpus, rows):
    """Pairs (kind, score, i, j) with j a held-out index into corpus + rows.

    Indices below len(corpus) are corpus lines. Uses split_corpus's exact
    prefix-filtered join over corpus and held-out together, keeping only
    pairs that involve a held-out line.
    """
    keys = [c[2] for c in corpus] + [r["key"] for r in rows]
    n_corpus = len(corpus)
    chars = [sc.char_shingles(k) for k in keys]
    words = [set(k.split()) for k in keys]
    found = []
    for i, j in sc.similar_pairs(chars, sc.CHAR_THRESHOLD):
        if j >= n_corpus:
            found.append(("char", sc.jaccard(chars[i], chars[j]), i, j))
    long_words = [i for i, w in enumerate(words) if len(w) >= sc.MIN_WORDS]
    for a, b in sc.similar_pairs([words[i] for i in long_words],
                                 sc.WORD_THRESHOLD):
        i, j = sorted((long_words[a], long_words[b]))
        if j >= n_corpus:
            found.append(("word", sc.jaccard(words[i], words[j]), i, j))
    return sorted(found, key=lambda p: (p[3], p[2], p[0]))


def closest(corpus, rows):
    """Brute force: highest char and word Jaccard of held-out vs corpus."""
    c_chars = [sc.char_shingles(c[2]) for c in corpus]
    c_words = [set(c[2].split()) for c in corpus]
    best_char, best_word = (0.0, None), (0.0, None)
    for r in rows:
        hc, hw = sc.char_shingles(r["key"]), set(r["key"].split())
        long_enough = len(hw) >= sc.MIN_WORDS
        for i, (cc, cw) in enumerate(zip(c_chars, c_words)):
            c = sc.jaccard(hc, cc)
            if c > best_char[0]:
                best_char = (c, (r["line"], corpus[i][0]))
            if long_enough and len(cw) >= sc.MIN_WORDS:
                w = sc.jaccard(hw, cw)
                if w > best_word[0]:
                    best_word = (w, (r["line"], corpus[i][0]))
    return best_char, best_word


def print_stats(rows):
    """Counts per level, then per family and extra tag with their levels."""
    levels = collections.Counter(r["level"] for r in rows)
    print(f"{len(rows)} messages")
    print("level     count   share")
    for lvl in sc.LEVELS:
        share = 100 * levels[lvl] / len(rows)
        print(f"{lvl:8} {levels[lvl]:6d} {share:6.1f}%")
    print(f"\n{'tag':22} {'count':>5}  levels")
    for tag in list(sc.FAMILIES) + sorted(HELDOUT_EXTRA_TAGS):
        subset = [r for r in rows if tag in r["tags"]]
        if not subset:
            continue
        per = collections.Counter(r["level"] for r in subset)
        print(f"{tag:22} {len(subset):5d}  " + " ".join(
            f"{lvl[:4]}={per[lvl]}" for lvl in sc.LEVELS if per[lvl]))
    langs = sum(any(t in sc.LANG_TAGS for t in r["tags"]) for r in rows)
    print(f"\nother languages: {langs} ({100 * langs / len(rows):.1f}%)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", default="data/heldout/heldout.jsonl",
                        type=pathlib.Path)
    parser.add_argument("--corpus", default="data/corpus", type=pathlib.Path)
    parser.add_argument("--min-per-family", default=12, type=int)
    parser.add_argument("--added-later", action="append", default=[],
                        metavar="FAMILY",
                        help="a family the set predates (no minimum)")
    parser.add_argument("--stats", action="store_true",
                        help="print counts per level and tag on success")
    parser.add_argument("--closest", action="store_true",
                        help="brute-force the closest held-out/corpus pair")
    parser.add_argument("--show", action="store_true",
                        help="print the texts of flagged pairs")
    args = parser.parse_args()
    start = time.monotonic()

    rows, errors = load_heldout(args.heldout)
    corpus = load_corpus(args.corpus)
    ids = collections.Counter(str(r.get("id")) for r in rows)
    errors += [f"id {i} used {n} times" for i, n in ids.items() if n > 1]
    families = collections.Counter(str(r["tags"][0]) for r in rows)
    errors += [f"family {f}: {families[f]} lines, need {args.min_per_family}"
               for f in sc.FAMILIES if families[f] < args.min_per_family
               and f not in args.added_later]

    def name(index):
        if index < len(corpus):
            return f"corpus {corpus[index][0]}", corpus[index][1]
        row = rows[index - len(corpus)]
        return f"heldout line {row['line']}", row["text"]

    flagged = set()
    for kind, score, i, j in near_duplicates(corpus, rows):
        (where_j, text_j), (where_i, text_i) = name(j), name(i)
        flagged.add(j)
        errors.append(f"{where_j} near-duplicates {where_i} "
                      f"({kind} Jaccard {score:.3f})")
        if args.show:
            errors.append(f"    {text_j!r}\n    ~ {text_i!r}")

    if errors:
        print("\n".join(errors), file=sys.stderr)
        problems = sum(not e.startswith("    ") for e in errors)
        print(f"error: {problems} problems; {len(flagged)} held-out lines "
              "are near-duplicates",
              file=sys.stderr)
        return 1
    print(f"ok: {len(rows)} held-out lines; no near-duplicate among them or "
          f"with the {len(corpus)} corpus lines; tags and levels follow the "
          f"rules ({time.monotonic() - start:.1f} s)")
    if args.closest:
        (c, cp), (w, wp) = closest(corpus, rows)
        print(f"closest to the corpus: char-4-gram Jaccard {c:.3f} "
              f"(heldout line {cp[0]} ~ {cp[1]}); word Jaccard {w:.3f} "
              f"(heldout line {wp[0]} ~ {wp[1]})")
    if args.stats:
        print()
        print_stats(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
