"""Chat-style variants of training messages (label-preserving)."""

import unicodedata

from .text import normalize_text

AUGMENTED = 2  # augmented copies per training message
AUG_EMOJI = ["😭", "😔", "💀", "lol", "🙃", "...", "😂", "💔", "!!"]


def typo(text, rng):
    """One fast-typing slip: swap, drop or double a letter inside a word."""
    spots = [i for i in range(len(text) - 1)
             if text[i].isalpha() and text[i + 1].isalpha()]
    if not spots:
        return text
    i = spots[rng.randrange(len(spots))]
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == 1:
        return text[:i] + text[i + 1:]
    return text[:i] + text[i] + text[i:]


def augment(text, rng):
    """Returns a light, label-preserving chat-style variant of text."""
    choice = rng.randrange(6)
    if choice == 0:
        out = text.lower()
    elif choice == 1:
        out = text[:1].upper() + text[1:]
    elif choice == 2:
        out = "".join(ch for ch in text
                      if not unicodedata.category(ch).startswith("P"))
    elif choice == 3:
        out = f"{text} {AUG_EMOJI[rng.randrange(len(AUG_EMOJI))]}"
    elif choice == 4:
        out = typo(text.lower(), rng)
    else:
        out = text.upper() if rng.random() < 0.3 else text.replace("'", "")
    return normalize_text(out) or text


def build_train_set(examples, rng):
    """Train rows (text, example): each message plus up to AUGMENTED
    distinct chat-style variants."""
    rows = []
    for ex in examples:
        rows.append((ex.text, ex))
        seen = {ex.text}
        for _ in range(AUGMENTED):
            variant = augment(ex.text, rng)
            if variant not in seen:
                seen.add(variant)
                rows.append((variant, ex))
    return rows

