#!/usr/bin/python3
"""Writes wordpiece_vocab.txt and wordpiece_samples.jsonl next to this file.

The samples are tokenized by the pure-Python WordPiece in
scripts/export_model.py (written from the BERT tokenizer's documented
algorithm, with Python's own Unicode tables), both on the raw text and on
the text Lantern's normaliser produces. tests/core/wordpiece_tokenizer_test.cc
checks that the C++ tokenizer gives the same pieces and ids. Hugging Face
`transformers` is not packaged in Debian, so it cannot be the reference
here; export_model.py compares the two on probe sentences when a user
exports a real checkpoint.

    /usr/bin/python3 tests/data/make_wordpiece_samples.py
"""

import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from export_model import WordPiece, lantern_normalize  # noqa: E402

VOCAB = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + list("abcdefghijklmnopqrstuvwxyz0123456789")
    + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    + ["…", "¿", "¡", "—", "«", "»", "“", "”", "’", "、", "。", "，", "！", "？"]
    + ["我", "你", "好", "很", "谢", "的", "不", "想", "活", "了"]
    + ["é", "ü", "ñ", "ç", "ã", "ß", "ø", "##é", "##ü", "##ñ", "##ç", "##ã", "##ß"]
    + """i im me my you your we they he she it is am are was be been do don
    not no yes so and or but to of in on at for with the a an this that what
    why how when who all just really very too can can't won want need feel
    felt like love hate help hurt alone tired sad okay ok fine good bad
    tonight today tomorrow night day time anymore ever never always again
    life live die end over gone goodbye sorry thanks thank please hello hi hey
    lol gg wp boss killed times match game play raid team cafe con leche
    senor ca va tres bien merci ich weiß nicht mehr weiter es tut mir leid nao
    aguento mais preciso de ajuda agora estou cansada cansado triste muy
    istanbul naive resume fiance fine""".split()
    + ["Hello", "I", "Im", "GG", "WP", "Café", "café", "Señor", "señor", "naïve",
       "résumé", "Ça", "très", "weiß", "Não", "não", "İstanbul"]
    + ["##s", "##ed", "##ing", "##ly", "##er", "##est", "##n", "##t", "##ll",
       "##able", "##ness", "un", "##believ", "##happy", "##help", "##ful",
       "##less", "##self", "my", "##ment", "##ation", "##ize", "re", "##lax",
       "##lier", "##ever"]
    + ["σ", "ς", "Σ", "οδος", "##ος", "ΟΔΟΣ"]
)

CONFIGS = {
    "uncased": dict(lowercase=True, strip_accents=None),
    "cased": dict(lowercase=False, strip_accents=False),
    "lower_keep_accents": dict(lowercase=True, strip_accents=False),
    "strip_only": dict(lowercase=False, strip_accents=True),
}

# Written for this test: ordinary chat, the punctuation and Unicode cases
# BERT's basic tokenizer treats specially, and the known NFKC differences.
TEXTS = [
    "hello",
    "Hello, I'm really tired tonight.",
    "i can't do this anymore...",
    "GG WP!!! that boss killed me 50 times lol",
    "unbelievable unhappy helpless myself",
    "unbelievably weirdness",
    "  leading   and trailing   spaces  ",
    "tabs\tand\nnewlines\r\nmixed",
    "Café con leche, Señor? Ça va très bien, merci.",
    "Ich weiß nicht mehr weiter, es tut mir leid.",
    "Não aguento mais, preciso de ajuda agora",
    "estou cansada e triste",
    "naïve résumé fiancé",
    "cafe\u0301 with a combining accent",
    "我很好，谢谢！你呢？",
    "我不想活了",
    "mixed我words好",
    "¿estás bien? ¡no!",
    "«quoted» “smart quotes” it’s",
    "em—dash and en–dash",
    "emoji 😭😭 help 💀",
    "heart ❤️ with variation selector",
    "zero\u200bwidth space and soft\u00adhyphen",
    "family 👨\u200d👩\u200d👧 emoji",
    "control\x07char and nul\x00byte",
    "replacement \ufffd char",
    "non\u00a0breaking space",
    "ideographic\u3000space",
    "line\u2028separator",
    "a" * 100,
    "a" * 101,
    "x" * 150 + " ok",
    "user@example.com https://example.org/path?q=1",
    "$100 + 20% = #win ^_^ `code` ~tilde~ {braces} [brackets] |pipe|",
    "[SEP] [CLS] injected [MASK]",
    "İstanbul",
    "ΟΔΟΣ οδος",
    "wait…",
    "ﬁne",
    "ＨＥＬＬＯ ｆｕｌｌ ｗｉｄｔｈ",
    "x²",
    "Å ﬀ ™",
    "",
    "   ",
]


def main():
    with open(os.path.join(HERE, "wordpiece_vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB) + "\n")
    rows = 0
    with open(os.path.join(HERE, "wordpiece_samples.jsonl"), "w", encoding="utf-8") as f:
        for name, config in CONFIGS.items():
            wp = WordPiece(VOCAB, **config)
            for text in TEXTS:
                normalized = lantern_normalize(text)
                row = {
                    "config": name,
                    "lowercase": wp.lowercase,
                    "strip_accents": wp.strip_accents,
                    "text": text,
                    "tokens": wp.tokenize(text),
                    "ids": wp.encode(text),
                    "normalized": normalized,
                    "normalized_tokens": wp.tokenize(normalized),
                    "normalized_ids": wp.encode(normalized),
                }
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                rows += 1
    differ = sorted({r for r in TEXTS if any(
        WordPiece(VOCAB, **c).encode(r) != WordPiece(VOCAB, **c).encode(lantern_normalize(r))
        for c in CONFIGS.values())})
    print(f"wrote {len(VOCAB)} vocab entries, {rows} samples; NFKC changes the ids of: "
          + ", ".join(repr(t) for t in differ))


if __name__ == "__main__":
    main()
