"""Which tokenizer the checkpoint uses, and whether Lantern can run it.

plan_tokenizer decides what to write (a WordPiece vocab.txt or a copy of
the SentencePiece .model file) and the model.json tokenizer settings, after
comparing the Hugging Face tokenizer with Lantern's algorithm on PROBES.
Anything Lantern cannot reproduce raises Refusal with the reason.
"""

import json
import os

from .errors import Refusal
from .wordpiece import WordPiece, lantern_normalize

# avoid compatibility characters on purpose: Lantern applies NFKC before
# tokenizing, which changes those (see docs/models.md).
PROBES = [
    "Hello there, how are you doing today?",
    "i can't do this anymore... nobody would even notice",
    "GG WP!!! that boss killed me 50 times lol",
    "Café con leche, señor? Ça va très bien, merci.",
    "Ich weiß nicht mehr weiter, es tut mir leid.",
    "Não aguento mais, preciso de ajuda agora",
    "我很好, 谢谢! 你呢?",
    "see you @ 9pm -- bring snacks & drinks :)",
    "I'm fine 🙂 really, it's fine",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "e-mail me at someone@example.com or visit https://example.org/a?b=c",
    "TONIGHT is the night    (multiple   spaces)",
]



def wordpiece_settings_from_json(tok_json):
    """Settings from a fast tokenizer's tokenizer.json (as a dict).

    Returns dict(lowercase, strip_accents, unk_token, vocab) where vocab is
    the list of entries by id. Raises Refusal when the pipeline is not
    BERT-style WordPiece."""
    model = tok_json.get("model") or {}
    if model.get("type") != "WordPiece":
        kind = model.get("type", "unknown")
        raise Refusal(
            f"the tokenizer is a {kind} tokenizer; Lantern runs BERT-style WordPiece "
            "(vocab.txt) and plain SentencePiece models only. Byte-level BPE "
            "(RoBERTa, GPT-2, DeBERTa-v1) and Unigram/BPE tokenizers that exist only as "
            "tokenizer.json cannot be served.")
    normalizer = tok_json.get("normalizer") or {}
    if normalizer.get("type") != "BertNormalizer":
        raise Refusal(
            f"the WordPiece tokenizer uses a {normalizer.get('type', 'missing')} "
            "normalizer; Lantern reproduces BERT's normalizer only")
    if not normalizer.get("clean_text", True) or not normalizer.get(
            "handle_chinese_chars", True):
        raise Refusal("the tokenizer turns off clean_text or handle_chinese_chars; "
                      "Lantern always does both")
    pre = tok_json.get("pre_tokenizer") or {}
    if pre.get("type") != "BertPreTokenizer":
        raise Refusal(f"the tokenizer uses a {pre.get('type', 'missing')} "
                      "pre-tokenizer; Lantern reproduces BertPreTokenizer only")
    if model.get("continuing_subword_prefix", "##") != "##":
        raise Refusal("the WordPiece continuation prefix is not '##'")
    if model.get("max_input_chars_per_word", 100) != 100:
        raise Refusal("max_input_chars_per_word is not 100")
    lowercase = bool(normalizer.get("lowercase", True))
    strip = normalizer.get("strip_accents")
    vocab_map = dict(model.get("vocab") or {})
    for added in tok_json.get("added_tokens") or []:
        vocab_map.setdefault(added["content"], added["id"])
    return {
        "lowercase": lowercase,
        "strip_accents": lowercase if strip is None else bool(strip),
        "unk_token": model.get("unk_token", "[UNK]"),
        "vocab": vocab_list(vocab_map),
    }


def vocab_list(vocab_map):
    """Entries ordered by id; ids must be exactly 0..N-1."""
    by_id = {}
    for entry, i in vocab_map.items():
        if i in by_id and by_id[i] != entry:
            raise Refusal(f"two vocabulary entries share id {i}")
        by_id[i] = entry
    if sorted(by_id) != list(range(len(by_id))):
        raise Refusal("vocabulary ids are not contiguous from 0; vocab.txt cannot "
                      "express them")
    if any("\n" in e or "\r" in e for e in by_id.values()):
        raise Refusal("a vocabulary entry contains a line break")
    return [by_id[i] for i in range(len(by_id))]


def wordpiece_settings_from_slow(tokenizer):
    """Settings from a Python-only BertTokenizer-like object."""
    basic = tokenizer.basic_tokenizer
    if not getattr(basic, "tokenize_chinese_chars", True):
        raise Refusal("tokenize_chinese_chars is off; Lantern always splits CJK")
    lowercase = bool(getattr(basic, "do_lower_case", False))
    strip = getattr(basic, "strip_accents", None)
    vocab_map = dict(tokenizer.vocab)
    for entry, i in tokenizer.get_added_vocab().items():
        vocab_map.setdefault(entry, i)
    return {
        "lowercase": lowercase,
        "strip_accents": lowercase if strip is None else bool(strip),
        "unk_token": tokenizer.unk_token,
        "vocab": vocab_list(vocab_map),
    }


def special_ids(tokenizer):
    """(bos_id, eos_id) the tokenizer adds around one sequence (-1 = none)."""
    plain = tokenizer("hello world", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello world")["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start:start + len(plain)] == plain:
            prefix, suffix = full[:start], full[start + len(plain):]
            if len(prefix) <= 1 and len(suffix) <= 1:
                return (prefix[0] if prefix else -1, suffix[0] if suffix else -1)
            break
    raise Refusal("the tokenizer adds more than one special token before or after "
                  "a sentence; Lantern adds at most one on each side")


def compare_on_probes(hf_encode, lantern_encode, probes=PROBES):
    """Probe sentences on which the two encoders disagree."""
    return [text for text in probes if list(hf_encode(text)) != list(lantern_encode(text))]


def find_sentencepiece_file(tokenizer, checkpoint):
    candidates = [getattr(tokenizer, "vocab_file", None)]
    candidates += [os.path.join(checkpoint, n) for n in (
        "spiece.model", "sentencepiece.bpe.model", "sentencepiece.model",
        "tokenizer.model", "spm.model")]
    for path in candidates:
        if path and str(path).endswith(".model") and os.path.isfile(path):
            return path
    return None


def plan_tokenizer(tokenizer, checkpoint, skip_check=False):
    """What to write for the tokenizer, or Refusal.

    Returns dict(spec: model.json's tokenizer settings, vocab: vocab.txt's
    entries by id or None, copy: the SentencePiece file to copy or None).
    """
    bos, eos = special_ids(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = {"padId": pad, "bosId": bos, "eosId": eos}
    hf_encode = lambda t: tokenizer(t, add_special_tokens=False)["input_ids"]
    settings = wordpiece_settings(tokenizer)
    if settings is not None:
        return _plan_wordpiece(settings, ids, hf_encode, skip_check)
    return _plan_sentencepiece(tokenizer, checkpoint, ids, hf_encode, skip_check)


def wordpiece_settings(tokenizer):
    """The WordPiece settings of a fast or Python-only BERT-style tokenizer;
    None for any other tokenizer."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        tok_json = json.loads(backend.to_str())
        if (tok_json.get("model") or {}).get("type") == "WordPiece":
            return wordpiece_settings_from_json(tok_json)
    elif hasattr(tokenizer, "basic_tokenizer") and hasattr(tokenizer, "wordpiece_tokenizer"):
        return wordpiece_settings_from_slow(tokenizer)
    return None


def _plan_wordpiece(settings, ids, hf_encode, skip_check):
    wp = WordPiece(settings["vocab"], settings["lowercase"], settings["strip_accents"],
                   settings["unk_token"])
    bad = [] if skip_check else compare_on_probes(
        hf_encode, lambda t: wp.encode(lantern_normalize(t)))
    if bad:
        raise Refusal(f"Lantern's WordPiece disagrees with the Hugging Face tokenizer on "
                      f"{len(bad)} of {len(PROBES)} probe sentences, e.g. {bad[0]!r}")
    spec = {"type": "wordpiece", "model": "vocab.txt", "padId": ids["padId"],
            "bosId": ids["bosId"], "eosId": ids["eosId"], "lowercase": settings["lowercase"],
            "stripAccents": settings["strip_accents"],
            "unkToken": settings["unk_token"]}
    return {"spec": spec, "vocab": settings["vocab"], "copy": None}


def _plan_sentencepiece(tokenizer, checkpoint, ids, hf_encode, skip_check):
    sp_path = find_sentencepiece_file(tokenizer, checkpoint)
    if sp_path is None:
        raise Refusal(
            f"{type(tokenizer).__name__} is neither BERT-style WordPiece nor backed by a "
            "SentencePiece .model file; Lantern cannot run it (byte-level BPE tokenizers "
            "such as RoBERTa's and GPT-2's are not supported)")
    if not skip_check:
        try:
            import sentencepiece  # pylint: disable=import-outside-toplevel
        except ImportError:
            raise Refusal("checking a SentencePiece tokenizer needs the sentencepiece "
                          "module (Debian: python3-sentencepiece)")
        sp = sentencepiece.SentencePieceProcessor(model_file=sp_path)
        bad = compare_on_probes(hf_encode, lambda t: sp.encode(lantern_normalize(t)))
        if bad:
            raise Refusal(
                f"the Hugging Face tokenizer's ids differ from the SentencePiece model's own "
                f"on {len(bad)} of {len(PROBES)} probe sentences, e.g. {bad[0]!r}: it adds "
                "preprocessing (lower-casing, accent removal) or shifts ids (as XLM-R and "
                "CamemBERT do), which Lantern's SentencePiece path does not reproduce")
    name = os.path.basename(sp_path)
    spec = {"type": "sentencepiece", "model": name, **ids}
    return {"spec": spec, "vocab": None, "copy": sp_path}
