#!/usr/bin/python3
"""Checks data/corpus/ and writes the train/dev/test split to data/splits/.

Every corpus line is {"text", "level", "tags"} (generated lines may add
"template"). The first tag is the message's family, one of FAMILIES below;
every further tag is one of EXTRA_TAGS. The checks fail loudly on anything
else, on a duplicate text, or on a missing "false_alarm" or "lgbtqia" tag.

The split (80/10/10) is computed in three steps:
  1. Key: NFKC, lower case, every character that is not a letter or digit
     (punctuation, emoji, symbols) becomes a space, spaces collapsed (a
     message of only emoji or punctuation keeps those, without spaces).
  2. Groups: two messages are near-duplicates when the Jaccard similarity of
     their character 4-gram sets (of the key) is >= 0.7, or when the
     Jaccard similarity of their word sets is >= 0.7 and both have at least
     three words, or when they are generated from the same template (same
     "template" value). Near-duplicates are joined transitively
     (union-find) into groups.
  3. Each group goes to one split by the sha1 of its smallest key:
     bucket = first 8 hex digits mod 10; 8 = dev, 9 = test, otherwise train.
So no pair of messages in different splits is a near-duplicate. Ids are
"m" + the first 10 hex digits of the sha1 of the key, stable under edits
elsewhere in the corpus.

Usage:
  /usr/bin/python3 scripts/split_corpus.py            # check, write splits
  /usr/bin/python3 scripts/split_corpus.py --check    # also brute-force the
                                                      # cross-split check
  /usr/bin/python3 scripts/split_corpus.py --stats    # counts per family
"""

import argparse
import collections
import dataclasses
import hashlib
import json
import math
import pathlib
import sys
import unicodedata

LEVELS = ["none", "low", "medium", "high", "critical"]

# Family tag -> what it covers. Exactly one per message, always first.
FAMILIES = {
    # Crisis: intent, plans, means, time, farewells.
    "explicit_intent": "says they are going to kill themselves or end their life",
    "plan": "describes a worked-out plan: how, where or when",
    "method_means": "has, gets or looks up the means or method, or is at the place",
    "timeframe": "ties the act to a time: tonight, friday, after school",
    "goodbye": "farewell messages before dying",
    "giving_away": "giving possessions, pets or accounts away before dying",
    "ideation": "active suicidal thoughts without a stated plan",
    "passive_ideation": "wishing not to wake up or not to exist",
    "self_harm_current": "self-harm now or in the last days",
    # Distress.
    "self_harm_past": "past self-harm or attempts, resisted urges",
    "self_harm_recovered": "recovery milestones, self-harm long ago",
    "hopelessness": "no future, no point, giving up",
    "burden": "being a burden, worthlessness, self-hatred",
    "isolation": "loneliness, nobody to talk to",
    "panic": "panic and anxiety attacks",
    "abuse": "abuse, violence and unsafe homes or relationships",
    "worried_other": "worried about someone else's safety",
    "depression": "lasting low mood in plain or clinical words, no thought of dying",
    "distress_general": "acute distress that fits no narrower family",
    "venting": "ordinary stress, sadness and bad days",
    # Ordinary chat.
    "everyday": "ordinary chat",
    "support_talk": "offering support, talking about mental health calmly",
    # False-alarm families (always tagged "false_alarm").
    "gaming": "games: dying, killing, bosses, raids",
    "competitive": "sports, esports and board-game trash talk",
    "hyperbole": "hyperbole and idioms: this homework is killing me",
    "irony": "irony and sarcasm",
    "lyric_like": "invented song-lyric-like lines",
    "quote_like": "invented film- and book-quote-like lines",
    "slang": "chat slang: i'm dead, i'm weak, it's over",
    "joke": "jokes and dark-but-harmless humour",
    "benign_keyword": "harmless goodbyes, giveaways, pills, bridges, jumps",
    "media_talk": "talking about films, shows, books, news, games' stories",
    "wellbeing": "gratitude, self-care, things going well",
    # LGBTQIA+ (always tagged "lgbtqia").
    "lgbtqia_rejection": "rejection by family",
    "lgbtqia_outing": "being outed",
    "lgbtqia_thrown_out": "thrown out or homeless after coming out",
    "lgbtqia_dysphoria": "gender dysphoria",
    "lgbtqia_harassment": "harassment, slurs, violence",
    "lgbtqia_chat": "ordinary LGBTQIA+ chat, not distress",
}
FALSE_ALARM_FAMILIES = frozenset({
    "gaming", "competitive", "hyperbole", "irony", "lyric_like", "quote_like",
    "slang", "joke", "benign_keyword", "media_talk", "wellbeing",
})
# Families whose none/low messages the context model calls "non_literal".
NON_LITERAL_FAMILIES = frozenset({
    "gaming", "competitive", "hyperbole", "irony", "lyric_like", "quote_like",
    "slang", "joke",
})
LANG_TAGS = ("lang_es", "lang_fr", "lang_de", "lang_pt")
# Optional tags after the family.
EXTRA_TAGS = frozenset(LANG_TAGS + ("false_alarm", "lgbtqia", "generated"))

SHINGLE = 4
CHAR_THRESHOLD = 0.7
WORD_THRESHOLD = 0.7
MIN_WORDS = 3
SPLITS = ("train", "dev", "test")


@dataclasses.dataclass
class Message:
    """One corpus line after checking."""
    text: str
    level: str
    tags: list
    template: str  # "" unless generated
    source: str    # "file.jsonl:line"
    key: str = ""
    id: str = ""
    split: str = ""
    group: int = 0


def dedup_key(text):
    """NFKC, lower case, only letters and digits, single spaces.

    A message with no letter or digit (only emoji or punctuation) keys on
    its characters without whitespace instead.
    """
    folded = unicodedata.normalize("NFKC", text).lower()
    kept = [ch if unicodedata.category(ch)[0] in "LN" else " "
            for ch in folded]
    return " ".join("".join(kept).split()) or "".join(folded.split())


def load(corpus_dir):
    """Reads and checks every *.jsonl file; returns messages in file order."""
    messages, errors, seen = [], [], {}
    for path in sorted(pathlib.Path(corpus_dir).glob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                where = f"{path.name}:{line_no}"
                row = json.loads(line)
                unknown = set(row) - {"text", "level", "tags", "template"}
                text, level = row.get("text", ""), row.get("level")
                tags = row.get("tags") or []
                problems = []
                if unknown:
                    problems.append(f"unknown fields {sorted(unknown)}")
                if not text.strip():
                    problems.append("empty text")
                if level not in LEVELS:
                    problems.append(f"bad level {level!r}")
                if not tags or tags[0] not in FAMILIES:
                    problems.append(f"first tag must be a family: {tags}")
                else:
                    family = tags[0]
                    extra = tags[1:]
                    if any(t not in EXTRA_TAGS for t in extra):
                        problems.append(f"unknown extra tags {extra}")
                    if len(set(extra)) != len(extra):
                        problems.append("repeated tag")
                    if ((family in FALSE_ALARM_FAMILIES)
                            != ("false_alarm" in extra)):
                        problems.append("false_alarm tag must mark exactly "
                                        "the false-alarm families")
                    if family.startswith("lgbtqia_") and "lgbtqia" not in extra:
                        problems.append("lgbtqia_* family needs 'lgbtqia'")
                    if sum(t in LANG_TAGS for t in extra) > 1:
                        problems.append("more than one language tag")
                    if ("generated" in extra) != bool(row.get("template")):
                        problems.append("'generated' needs a template")
                key = dedup_key(text)
                if key in seen:
                    problems.append(f"duplicates {seen[key]}")
                seen.setdefault(key, where)
                if problems:
                    errors.append(f"{where}: {'; '.join(problems)}")
                    continue
                messages.append(Message(text, level, list(tags),
                                        row.get("template", ""), where, key))
    if errors:
        raise ValueError("corpus errors:\n  " + "\n  ".join(errors[:50]))
    return messages


def char_shingles(key):
    """Character 4-grams of key (the key itself when shorter)."""
    if len(key) < SHINGLE:
        return {key}
    return {key[i:i + SHINGLE] for i in range(len(key) - SHINGLE + 1)}


def jaccard(a, b):
    """|a & b| / |a | b| for two non-empty sets."""
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def similar_pairs(sets, threshold):
    """All index pairs (i, j), i < j, with Jaccard >= threshold.

    Exact all-pairs join with prefix filtering: tokens are ordered rarest
    first; two sets reaching the threshold must share a token within the
    first |x| - ceil(threshold * |x|) + 1 tokens of the larger one.
    """
    freq = collections.Counter(t for s in sets for t in s)
    rank = {t: r for r, t in enumerate(
        sorted(freq, key=lambda t: (freq[t], t)))}
    ordered = [sorted(rank[t] for t in s) for s in sets]
    as_sets = [set(o) for o in ordered]
    order = sorted(range(len(sets)), key=lambda i: (len(ordered[i]), i))
    index = collections.defaultdict(list)
    pairs = []
    for i in order:
        tokens = ordered[i]
        size = len(tokens)
        prefix = size - math.ceil(threshold * size - 1e-9) + 1
        candidates = set()
        for t in tokens[:prefix]:
            for j in index[t]:
                if len(ordered[j]) >= threshold * size - 1e-9:
                    candidates.add(j)
            index[t].append(i)
        for j in candidates:
            if jaccard(as_sets[i], as_sets[j]) >= threshold - 1e-9:
                pairs.append((min(i, j), max(i, j)))
    return pairs


class UnionFind:
    """Disjoint sets over 0..n-1."""

    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, x):
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def bucket_split(key):
    """Split for a group whose smallest key is key."""
    bucket = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 10
    return "dev" if bucket == 8 else "test" if bucket == 9 else "train"


def assign(messages):
    """Sets id, group and split on every message; returns group sizes."""
    chars = [char_shingles(m.key) for m in messages]
    words = [set(m.key.split()) for m in messages]
    uf = UnionFind(len(messages))
    for i, j in similar_pairs(chars, CHAR_THRESHOLD):
        uf.union(i, j)
    long_words = [i for i, w in enumerate(words) if len(w) >= MIN_WORDS]
    for a, b in similar_pairs([words[i] for i in long_words], WORD_THRESHOLD):
        uf.union(long_words[a], long_words[b])
    by_template = {}
    for i, m in enumerate(messages):
        if m.template:
            uf.union(i, by_template.setdefault(m.template, i))
    smallest = {}
    for i, m in enumerate(messages):
        root = uf.find(i)
        if root not in smallest or m.key < smallest[root]:
            smallest[root] = m.key
    sizes = collections.Counter()
    for i, m in enumerate(messages):
        root = uf.find(i)
        m.group = root
        m.split = bucket_split(smallest[root])
        m.id = "m" + hashlib.sha1(m.key.encode("utf-8")).hexdigest()[:10]
        sizes[root] += 1
    if len({m.id for m in messages}) != len(messages):
        raise ValueError("id collision; lengthen the id")
    return sizes


def build(corpus_dir):
    """Loads, checks and splits the corpus; returns (messages, group sizes)."""
    messages = load(corpus_dir)
    sizes = assign(messages)
    return messages, sizes


def split_rows(messages, split):
    """Rows of one split file, sorted by id."""
    rows = [m for m in messages if m.split == split]
    rows.sort(key=lambda m: m.id)
    return [{"id": m.id, "text": m.text, "level": m.level, "tags": m.tags}
            for m in rows]


def write_splits(messages, out_dir):
    """Writes {train,dev,test}.jsonl; returns the names of changed files."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for split in SPLITS:
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n"
                       for r in split_rows(messages, split))
        path = out_dir / f"{split}.jsonl"
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
            changed.append(path.name)
    return changed


def cross_split_check(messages):
    """Brute force over every pair in different splits.

    Returns (pairs compared, highest char-4-gram Jaccard, highest word
    Jaccard among messages of >= MIN_WORDS words, template pairs).
    """
    chars = [char_shingles(m.key) for m in messages]
    words = [set(m.key.split()) for m in messages]
    by_split = {s: [i for i, m in enumerate(messages) if m.split == s]
                for s in SPLITS}
    compared, best_char, best_word, templates = 0, (0.0, None), (0.0, None), 0
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        for i in by_split[a]:
            ci, wi = chars[i], words[i]
            ti = messages[i].template
            for j in by_split[b]:
                compared += 1
                c = jaccard(ci, chars[j])
                if c > best_char[0]:
                    best_char = (c, (i, j))
                if len(wi) >= MIN_WORDS and len(words[j]) >= MIN_WORDS:
                    w = jaccard(wi, words[j])
                    if w > best_word[0]:
                        best_word = (w, (i, j))
                if ti and ti == messages[j].template:
                    templates += 1
    return compared, best_char, best_word, templates


def print_stats(messages, sizes):
    """Counts per split, level, family and extra tag."""
    print(f"{len(messages)} messages in {len(sizes)} groups; largest group "
          f"{max(sizes.values())}")
    gen = sum("generated" in m.tags for m in messages)
    print(f"hand-written {len(messages) - gen} "
          f"({100 * (len(messages) - gen) / len(messages):.1f}%), "
          f"generated {gen}")
    print("split   " + " ".join(f"{lvl:>8}" for lvl in LEVELS) + "    total")
    for split in SPLITS:
        subset = [m for m in messages if m.split == split]
        counts = collections.Counter(m.level for m in subset)
        print(f"{split:7} " + " ".join(f"{counts[lvl]:8d}" for lvl in LEVELS)
              + f" {len(subset):8d}")
    tag_names = list(FAMILIES) + sorted(EXTRA_TAGS)
    print(f"\n{'tag':22} {'total':>6} {'gen':>5} {'train':>6} {'dev':>5} "
          f"{'test':>5}  levels")
    for tag in tag_names:
        subset = [m for m in messages if tag in m.tags]
        if not subset:
            continue
        per = collections.Counter(m.split for m in subset)
        gen = sum("generated" in m.tags for m in subset)
        levels = collections.Counter(m.level for m in subset)
        level_text = " ".join(f"{lvl[:4]}={levels[lvl]}" for lvl in LEVELS
                              if levels[lvl])
        print(f"{tag:22} {len(subset):6d} {gen:5d} {per['train']:6d} "
              f"{per['dev']:5d} {per['test']:5d}  {level_text}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="data/corpus", type=pathlib.Path)
    parser.add_argument("--out", default="data/splits", type=pathlib.Path)
    parser.add_argument("--check", action="store_true",
                        help="brute-force near-duplicate check across splits")
    parser.add_argument("--stats", action="store_true",
                        help="print counts per split, level and tag")
    args = parser.parse_args()
    messages, sizes = build(args.corpus)
    changed = write_splits(messages, args.out)
    counts = collections.Counter(m.split for m in messages)
    print(f"{len(messages)} messages, {len(sizes)} near-duplicate groups: "
          + ", ".join(f"{s} {counts[s]}" for s in SPLITS)
          + (f"; wrote {', '.join(changed)}" if changed else "; unchanged"))
    if args.stats:
        print_stats(messages, sizes)
    if args.check:
        compared, (c, cp), (w, wp), templates = cross_split_check(messages)
        print(f"cross-split check: {compared} pairs; highest char-4-gram "
              f"Jaccard {c:.3f}; highest word Jaccard {w:.3f}; "
              f"shared templates {templates}")
        for name, pair in (("char", cp), ("word", wp)):
            if pair:
                i, j = pair
                print(f"  closest {name} pair: {messages[i].id} "
                      f"({messages[i].split}) ~ {messages[j].id} "
                      f"({messages[j].split})")
        if c >= CHAR_THRESHOLD or w >= WORD_THRESHOLD or templates:
            print("error: near-duplicates across splits", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
