"""The SentencePiece model shared by the models trained from scratch.

Token ids are the SentencePiece ids of the normalised text, no BOS/EOS,
truncated to MAX_TOKENS.
"""

import io
import json

import sentencepiece as spm

import use_lite

from .constants import MAX_TOKENS, PAD_ID, VOCAB_SIZE
from .text import normalize_text

# Texts of tests/data/tokenizer_samples.jsonl (--dump-token-samples).
TOKEN_SAMPLES = [
    "hello world",
    "  Hello   World  ",
    "I have the pills and I'm doing it tonight",
    "what time is the raid tonight?",
    "I'M DEAD 💀💀",
    "straße Größe Fußball",
    "Café crème brûlée, naïve résumé",
    "¿Qué hora es? ¡Vamos!",
    "je suis très fatigué aujourd'hui",
    "eu não quero mais viver",
    "tab\there\nnewline\r\nwindows\x0bvt\x85nel",
    "  \u200b  leading invisible, trailing space \u00a0\u3000 ",
    "zero\u200bwidth\u200djoiner and soft\u00adhyphen",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "ligature ﬁ ﬂ and ① ②",
    "🏳️‍🌈 pride 🏳️‍⚧️",
    "gg ez lmaooo 😂😂😂",
    "MiXeD cAsE tExT",
    "numbers 1234567890 and symbols #@!&*",
    "日本語のテキスト",
    "emoji only 🙂",
    "a" * 200,
]


def train_tokenizer(texts, out_path):
    """Trains the SentencePiece unigram model on texts; returns a processor.

    Training from an iterator into memory keeps file paths out of the saved
    model, so the same corpus always gives the same bytes.
    """
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sorted(texts)), model_writer=model,
        model_type="unigram", vocab_size=VOCAB_SIZE, hard_vocab_limit=False,
        normalization_rule_name="nmt_nfkc_cf", character_coverage=1.0,
        byte_fallback=True, pad_id=PAD_ID, unk_id=1, bos_id=2, eos_id=3,
        num_threads=1, minloglevel=2)
    out_path.write_bytes(model.getvalue())
    return spm.SentencePieceProcessor(model_file=str(out_path))


def encode(sp, texts):
    """Token ids for normalised texts, truncated to MAX_TOKENS."""
    return [ids[:MAX_TOKENS] for ids in sp.encode(list(texts), out_type=int)]


def pad_batch(id_lists):
    """Right-pads id lists into int64 input_ids and attention_mask."""
    return use_lite.batch_ids(id_lists, PAD_ID)


def dump_token_samples(sp, path):
    """Writes {"text", "normalized", "ids"} lines for C++ tokenizer tests.

    The ids are not truncated: the test compares whole tokenizations, and
    truncation to max_tokens is the engine's job, tested on its own.
    """
    with open(path, "w", encoding="utf-8") as f:
        for text in TOKEN_SAMPLES:
            normalized = normalize_text(text)
            ids = sp.encode(normalized, out_type=int)
            f.write(json.dumps({"text": text, "normalized": normalized,
                                "ids": ids}, ensure_ascii=False) + "\n")
    print(f"wrote {len(TOKEN_SAMPLES)} token samples to {path}")

