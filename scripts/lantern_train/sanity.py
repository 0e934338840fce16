"""Sentences every trained ensemble is checked on after training."""

import split_corpus

from .constants import LEVELS
from .ensemble import combine_members, ensemble_inputs, member_probs
from .text import normalize_text

# The first four must pass or the script fails; the rest are printed. The
# required ones are the examples named in issue 3, so the corpus may hold
# near-duplicates of them (start-up prints a note); the others were written
# to have none.
REQUIRED_SANITY = [
    ("I have the pills and I'm doing it tonight", {"high", "critical"}),
    ("what time is the raid tonight?", {"none"}),
    ("that boss killed me 50 times", {"none", "low"}),
    ("this homework is killing me", {"none", "low"}),
]
EXTRA_SANITY = [
    "I'm dead 💀 that video",
    "some nights i hope i just don't wake up",
    "honestly i feel like a burden to everyone around me",
    "my roommate keeps talking about disappearing for good and i'm scared",
    "goodbye everyone, thank you for everything. i won't be here tomorrow",
    "happy pride month!! 🏳️‍🌈",
    "my parents kicked me out because i'm trans",
    "ugh, rough day at work",
    "quiero morir, ya no puedo más",
    "ich habe tabletten gesammelt und mache es heute nacht",
    "I found a good spot to jump from near my flat",
    "ugh i want to end it all, this ranked game is a disaster",
]


def check_sanity_held_out(examples):
    """Warns when a sanity sentence (or a near-duplicate) is in the corpus."""
    shingles = [split_corpus.char_shingles(split_corpus.dedup_key(e.text))
                for e in examples]
    for text in [t for t, _ in REQUIRED_SANITY] + EXTRA_SANITY:
        mine = split_corpus.char_shingles(split_corpus.dedup_key(text))
        best = max(split_corpus.jaccard(mine, s) for s in shingles)
        if best >= split_corpus.CHAR_THRESHOLD:
            print(f"note: sanity sentence has a near-duplicate in the "
                  f"corpus (Jaccard {best:.2f}): {text!r}")


def run_sanity(members, choice):
    """Prints sanity verdicts; returns False if a required one fails."""
    print("\n== sanity checks")
    ok = True
    texts = [t for t, _ in REQUIRED_SANITY] + EXTRA_SANITY
    probs = member_probs(members, [normalize_text(t) for t in texts])
    score, level = combine_members(ensemble_inputs(members, probs), choice)
    for i, text in enumerate(texts):
        name = LEVELS[level[i]]
        status = ""
        if i < len(REQUIRED_SANITY):
            passed = name in REQUIRED_SANITY[i][1]
            ok &= passed
            status = "PASS" if passed else "FAIL"
        print(f"  {status:4} {name:>8} {score[i].item():.3f} "
              f"non_literal {probs['context'][i, 1].item():.2f}  {text}")
    return ok

