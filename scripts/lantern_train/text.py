"""Text normalisation, exactly as the C++ server does it (core/text.cc).

  0. Combining marks past MAX_COMBINING_MARKS in a row are dropped
     (DropExcessCombiningMarks), before anything else.
  1. Unicode NFKC.
  2. Whitespace is TAB, LF, VT, FF, CR, NEL (U+0085) and every character of
     category Zs, Zl or Zp. Each run of whitespace becomes one ASCII space;
     leading and trailing whitespace is dropped.
  3. Every other character of category Cc or Cf (e.g. U+200B, U+200D, U+00AD)
     is removed without leaving a space.
Case folding is left to the tokenizer (nmt_nfkc_cf rule).
tests/core/tokenizer_test.cc checks the C++ side against samples written
with normalize_text (tests/data/tokenizer_samples.jsonl).
"""

import unicodedata

CONTROL_SPACES = frozenset("\t\n\x0b\x0c\r\x85")


MAX_COMBINING_MARKS = 30  # core/text.h kMaxCombiningMarks


def drop_excess_combining_marks(text):
    """Drops combining marks past MAX_COMBINING_MARKS in a row."""
    kept, run = [], 0
    for ch in text:
        run = run + 1 if unicodedata.combining(ch) else 0
        if run <= MAX_COMBINING_MARKS:
            kept.append(ch)
    return "".join(kept)


def normalize_text(text):
    """Normalises text exactly as the C++ server does (see module doc)."""
    words, current = [], []
    text = drop_excess_combining_marks(text)
    for ch in unicodedata.normalize("NFKC", text):
        category = unicodedata.category(ch)
        if ch in CONTROL_SPACES or category in ("Zs", "Zl", "Zp"):
            if current:
                words.append("".join(current))
                current = []
        elif category not in ("Cc", "Cf"):
            current.append(ch)
    if current:
        words.append("".join(current))
    return " ".join(words)

