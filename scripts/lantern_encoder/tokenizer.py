"""The encoder's tokenizer: an exact port of the package's JavaScript one.

UseTokenizer ports the tokenizer of @energetic-ai/embeddings 0.2.0
(lib/tokenizer.ts): NFKC, "\u2581" + text with every ' ' replaced by
"\u2581", then its own Viterbi search over the vocab.json pieces, quirks
included (see the class). It matched the JS ids on every corpus and
held-out text, raw and normalised, and on 20,000 random texts of pieces,
emoticons, letter runs, digits with colons, emoji, whitespace, accented
and CJK characters.
"""

import collections
import json
import os
import unicodedata

from .graph import dist_dir

RESERVED = 6  # vocab.json ids 0..5 are never produced by the JS tokenizer
SEPARATOR = "\u2581"  # stands for a space, and starts every non-empty text


class UseTokenizer:
    """Exact Python port of the package's JavaScript tokenizer.

    Source: class Tokenizer, Trie and processInput in
    @energetic-ai/embeddings 0.2.0 (dist/index.js). encode(text) gives the
    ids the JS gives, for any text, with no truncation (the graph keeps the
    first 128; callers truncate). The steps, quirks included:

    1. Input: NFKC; a non-empty result becomes "\u2581" + text with every
       U+0020 replaced by "\u2581" (no lower-casing, other whitespace kept
       as is). An empty result gives [].
    2. Pieces: vocab.json entries RESERVED.. (ids 0..5 are never matched).
       A piece listed more than once keeps its LAST id and score (JS trie
       insertion overwrites: '\u201d5' is ids 230, 238 and 4464; 4464 wins).
       A null score counts as 0 (JS `null + x == x`); ':30' scores +30.
    3. Candidates: at each position i (in code points), every piece that is
       a prefix of the rest of the text; if there is none, one "unknown"
       candidate of one code point, id 0, score 0.
    4. Viterbi: best[0..n] = 0, words[0..n] = 0. For each end position in
       ascending order, for its candidates by ascending start position:
       s = score + best[start] (float64); if best[end] == 0 or
       s >= best[end], then best[end] = s and words[end] = id. A best of
       exactly 0 thus means "not set yet", even when 0 is a real score
       (this is why a text starting with a score-0 piece such as
       '\u2581:)' never begins with it), and ties go to the candidate that
       starts latest.
    5. Backtrack from position n while > 0: emit words[pos], then step back
       by the length of vocabulary[words[pos]]'s piece in UTF-16 code units
       (the JS string length; id 0's piece is U+FFFD, one unit). No piece
       of this vocabulary is outside the BMP, so units equal code points.
    6. Of consecutive 0 ids (in backtracked order) only the first is kept;
       the list is reversed.

    NFKC uses Python's unicodedata; Node uses ICU, possibly of a newer
    Unicode version, so characters assigned after Python's version may
    normalise differently (none in the vocabulary or the corpus).
    """

    def __init__(self, vocab_json_path):
        with open(vocab_json_path, encoding="utf-8") as f:
            self.vocabulary = json.load(f)
        self.pieces = {}  # piece -> (score, id); later duplicates win
        for index in range(RESERVED, len(self.vocabulary)):
            piece, score = self.vocabulary[index][0], self.vocabulary[index][1]
            if piece:  # the JS trie ignores an empty piece
                self.pieces[piece] = (0.0 if score is None else float(score),
                                      index)
        # Piece lengths (code points) by first character, ascending: only
        # these substrings can be pieces, which keeps the search short.
        lengths = collections.defaultdict(set)
        for piece in self.pieces:
            lengths[piece[0]].add(len(piece))
        self.lengths = {ch: tuple(sorted(ls)) for ch, ls in lengths.items()}
        # Backtracking step per id: the JS string length in UTF-16 units.
        self.steps = [len(entry[0].encode("utf-16-le")) // 2
                      for entry in self.vocabulary]

    @staticmethod
    def preprocess(text):
        """The JS processInput: NFKC, then the separator rules (step 1)."""
        text = unicodedata.normalize("NFKC", text)
        return SEPARATOR + text.replace(" ", SEPARATOR) if text else text

    def encode(self, text):
        """Token ids of `text` (raw or normalised), exactly as the JS gives."""
        symbols = self.preprocess(text)
        n = len(symbols)
        pieces, lengths = self.pieces, self.lengths
        ending = [[] for _ in range(n + 1)]  # end -> [(start, score, id)]
        for start in range(n):
            found = False
            for length in lengths.get(symbols[start], ()):
                end = start + length
                if end > n:
                    break
                entry = pieces.get(symbols[start:end])
                if entry is not None:
                    ending[end].append((start, entry[0], entry[1]))
                    found = True
            if not found:
                ending[start + 1].append((start, 0.0, 0))
        best = [0.0] * (n + 1)
        words = [0] * (n + 1)
        for end in range(n + 1):
            for start, score, index in ending[end]:  # starts ascending
                total = score + best[start]
                if best[end] == 0 or total >= best[end]:
                    best[end] = total
                    words[end] = index
        backtracked = []
        position = n
        while position > 0:
            backtracked.append(words[position])
            position -= self.steps[words[position]]
        ids = []
        previous_unknown = False
        for index in backtracked:
            if not (previous_unknown and index == 0):
                ids.append(index)
            previous_unknown = index == 0
        ids.reverse()
        return ids


def load_tokenizer(package_dir):
    """UseTokenizer of the package's dist/vocab.json."""
    return UseTokenizer(os.path.join(dist_dir(package_dir), "vocab.json"))
