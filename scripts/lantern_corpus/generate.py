"""Rows of data/corpus/generated.jsonl: fragments composed into messages,
varied the way people type in chat, capped per family and language.

Every row carries the tag "generated" and a "template" (family, form and
core index); scripts/split_corpus.py keeps the rows of one template in one
split. The output is deterministic: one seeded generator per family (and
language).
"""

import collections
import json
import pathlib
import random

import split_corpus

from . import chat, crisis
from .languages import ML, PER_LANGUAGE_FORM, ml_forms
from .words import pick

SEED = 20240611
OUTPUT_NAME = "generated.jsonl"
# Generated lines may be at most this share of any family (and language).
MAX_GENERATED_SHARE = 0.45

# Held-out sanity sentences (REQUIRED_SANITY in scripts/lantern_train/
# sanity.py); never generated.
RESERVED = [
    "I have the pills and I'm doing it tonight",
    "what time is the raid tonight?",
    "that boss killed me 50 times",
    "this homework is killing me",
]


# family -> form -> (cores, compose). compose(core, rng) returns a message.
# Lines that share family, form and core are siblings (one template).
FORMS = {**crisis.FORMS, **chat.FORMS}

# family -> (level, number wanted)
ENGLISH = {
    "explicit_intent": ("critical", 70), "timeframe": ("critical", 80),
    "method_means": ("critical", 80), "plan": ("critical", 45),
    "goodbye": ("critical", 60), "giving_away": ("critical", 45),
    "ideation": ("high", 140), "passive_ideation": ("high", 90),
    "self_harm_current": ("high", 70), "self_harm_past": ("medium", 30),
    "self_harm_recovered": ("low", 30), "hopelessness": ("medium", 80),
    "burden": ("medium", 60), "isolation": ("medium", 60),
    "panic": ("medium", 55), "abuse": ("medium", 60),
    "worried_other": ("medium", 80), "venting": ("low", 110),
    "everyday": ("none", 220), "support_talk": ("none", 35),
    "gaming": ("none", 160), "competitive": ("none", 45),
    "hyperbole": ("none", 110), "slang": ("none", 60), "irony": ("none", 35),
    "joke": ("none", 30), "benign_keyword": ("none", 90),
    "lyric_like": ("none", 25), "quote_like": ("none", 25),
    "media_talk": ("none", 30), "lgbtqia_rejection": ("medium", 35),
    "lgbtqia_outing": ("medium", 25), "lgbtqia_thrown_out": ("medium", 25),
    "lgbtqia_dysphoria": ("medium", 25), "lgbtqia_harassment": ("medium", 25),
    "lgbtqia_chat": ("none", 45),
}

EMOJI_SAD = ["", "", "", " 😔", " 💔", " 😞", " 🖤", " ...", " lol"]
EMOJI_ANY = ["", "", "", " 😭", " 🙃", " lol", " 😅", " 🥲", " 💀", " haha"]


def _typo(text, rng):
    """Swaps two neighbouring letters once, like a fast typist."""
    spots = [i for i in range(len(text) - 1)
             if text[i].isalpha() and text[i + 1].isalpha()]
    if not spots:
        return text
    i = pick(rng, spots)
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def vary(text, level, rng):
    """Applies chat-like case, punctuation, emoji and typo changes."""
    roll = rng.random()
    if roll < 0.15:
        text = text[:1].upper() + text[1:]
    elif roll < 0.20:
        text = text.upper()
    if rng.random() < 0.3:
        text = text.replace("'", "")
    if rng.random() < 0.2:
        text = text.replace(".", "")
    if rng.random() < 0.1:
        text = _typo(text, rng)
    endings = EMOJI_ANY if level in ("none", "low") else EMOJI_SAD
    return (text + pick(rng, endings)).strip()


def hand_written_counts(corpus_dir):
    """(keys of hand-written lines, count per (family, language))."""
    keys, counts = set(), collections.Counter()
    for path in sorted(pathlib.Path(corpus_dir).glob("*.jsonl")):
        if path.name == OUTPUT_NAME:
            continue
        with path.open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                keys.add(split_corpus.dedup_key(row["text"]))
                lang = next((t for t in row["tags"] if t.startswith("lang_")),
                            "en")
                counts[(row["tags"][0], lang)] += 1
    return keys, counts


def cap(wanted, hand):
    """Largest count <= wanted keeping generated <= MAX_GENERATED_SHARE."""
    limit = int(MAX_GENERATED_SHARE * hand / (1 - MAX_GENERATED_SHARE))
    return min(wanted, limit)


def make_rows(family, level, extra, forms, wanted, seen, rng, prefix):
    """Up to `wanted` new rows, cycling through forms and their cores.

    forms maps a form name to (cores, compose). The template of a row is
    prefix + family/form/core index.
    """
    slots = [(name, i) for name in sorted(forms)
             for i in range(len(forms[name][0]))]
    rows, attempts = [], 0
    while len(rows) < wanted and attempts < wanted * 60:
        name, i = slots[attempts % len(slots)]
        attempts += 1
        cores, compose = forms[name]
        text = vary(compose(cores[i], rng), level, rng)
        key = split_corpus.dedup_key(text)
        if not key or key in seen:
            continue
        seen.add(key)
        tags = [family]
        if family in split_corpus.FALSE_ALARM_FAMILIES:
            tags.append("false_alarm")
        if family.startswith("lgbtqia_"):
            tags.append("lgbtqia")
        tags += extra + ["generated"]
        rows.append({"text": text, "level": level, "tags": tags,
                     "template": f"{prefix}{family}/{name}/{i}"})
    return rows


def generate(corpus_dir):
    """All generated rows, in a fixed order."""
    seen, hand = hand_written_counts(corpus_dir)
    seen |= {split_corpus.dedup_key(t) for t in RESERVED}
    rows = []
    for family in sorted(ENGLISH):
        level, wanted = ENGLISH[family]
        rng = random.Random(f"{SEED}:{family}")
        rows += make_rows(family, level, [], FORMS[family],
                          cap(wanted, hand[(family, "en")]), seen, rng, "")
    for lang in sorted(ML):
        tag = f"lang_{lang}"
        forms = ml_forms(lang)
        for family in sorted(forms):
            level, form, cores, compose = forms[family]
            rng = random.Random(f"{SEED}:{lang}:{family}")
            # The cap applies per family and language.
            wanted = cap(PER_LANGUAGE_FORM, hand[(family, tag)])
            rows += make_rows(family, level, [tag], {form: (cores, compose)},
                              wanted, seen, rng, f"{lang}/")
    return rows
