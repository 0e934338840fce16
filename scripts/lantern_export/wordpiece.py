"""Lantern's text path in Python: core/text.h (NormalizeText) and
core/wordpiece_tokenizer.h.

Used to check a Hugging Face tokenizer against what Lantern will do, and by
tests/data/make_wordpiece_samples.py to generate the C++ parity samples.
"""

import unicodedata

def lantern_normalize(text):
    """NFKC; control/format characters removed; whitespace collapsed."""
    out, pending_space = [], False
    for ch in unicodedata.normalize("NFKC", text):
        if ch in "\t\n\x0b\x0c\r\x85" or unicodedata.category(ch) in ("Zs", "Zl", "Zp"):
            pending_space = bool(out)
            continue
        if unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        if pending_space:
            out.append(" ")
        pending_space = False
        out.append(ch)
    return "".join(out)


_CJK_RANGES = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
               (0x2A700, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]


def _is_space(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) in ("Zs", "Zl", "Zp")


def _is_removed(ch):
    return ch in ("\x00", "\ufffd") or unicodedata.category(ch).startswith("C")


def _is_cjk(ch):
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


class WordPiece:
    """BERT-style basic tokenization + greedy longest-match WordPiece."""

    def __init__(self, vocab, lowercase=False, strip_accents=None,
                 unk_token="[UNK]", max_chars_per_word=100):
        self.ids = {}
        for i, entry in enumerate(vocab):
            self.ids[entry] = i  # A repeated entry keeps its last id.
        self.lowercase = lowercase
        self.strip_accents = lowercase if strip_accents is None else strip_accents
        self.unk_token = unk_token
        self.max_chars = max_chars_per_word
        if unk_token not in self.ids:
            raise ValueError(f"unknown token {unk_token!r} is not in the vocabulary")

    def _words(self, text):
        words, word = [], []
        for ch in text:
            if _is_space(ch):
                words.append(word)
                word = []
            elif _is_removed(ch):
                continue
            elif _is_cjk(ch):
                words.extend([word, [ch]])
                word = []
            else:
                word.append(ch)
        words.append(word)
        return ["".join(w) for w in words if w]

    def _normalize_word(self, word):
        if self.lowercase:
            # Per character, like the fast tokenizer (no final-sigma rule).
            word = "".join(ch.lower() for ch in word)
        if self.strip_accents:
            word = "".join(ch for ch in unicodedata.normalize("NFD", word)
                           if unicodedata.category(ch) != "Mn")
        return word

    def _split_punct(self, word):
        parts, run = [], ""
        for ch in word:
            if _is_punct(ch):
                parts.extend([run, ch])
                run = ""
            else:
                run += ch
        parts.append(run)
        return [p for p in parts if p]

    def _pieces(self, word):
        if len(word) > self.max_chars:
            return [self.unk_token]
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    pieces.append(piece)
                    start = end
                    break
            else:
                return [self.unk_token]
        return pieces

    def tokenize(self, text):
        out = []
        for word in self._words(text):
            for part in self._split_punct(self._normalize_word(word)):
                out.extend(self._pieces(part))
        return out

    def encode(self, text):
        return [self.ids[p] for p in self.tokenize(text)]
