#!/usr/bin/python3
"""Export a Hugging Face sequence-classification checkpoint for Lantern.

    /usr/bin/python3 scripts/export_model.py CHECKPOINT_DIR --out models/mine/mymodel \\
        [--name mymodel] [--risks 0,0.5,1] [--max-tokens 128] [--weight 0.3]

CHECKPOINT_DIR is what `save_pretrained` wrote for an
AutoModelForSequenceClassification and its AutoTokenizer (config.json,
weights, tokenizer files). The script writes into --out:

    model.pt     TorchScript: forward(input_ids int64[B,T], attention_mask
                 int64[B,T]) -> logits float[B, labels]
    model.json   the Lantern spec: labels from config.id2label, their risks,
                 tokenizer settings, max tokens, weight
    vocab.txt    (BERT-style WordPiece tokenizers) or the SentencePiece
                 .model file (SentencePiece tokenizers)

then add the folder's name to the "models" list of the model directory's
ensemble.json.

Tokenizers Lantern can run: BERT-style WordPiece (BERT, DistilBERT,
ELECTRA, MiniLM and other vocab.txt models; lower-casing and accent
stripping are taken from the tokenizer) and SentencePiece models whose ids
Hugging Face uses unchanged (e.g. ALBERT-style spiece.model without extra
preprocessing, T5). Everything else (byte-level BPE as in RoBERTa/GPT-2,
SentencePiece with id offsets as in XLM-R/CamemBERT, or with Python-side
preprocessing) is refused with the reason. Before writing anything the
script tokenizes probe sentences with both Hugging Face and Lantern's
algorithm and refuses if they differ.

Risks: each label needs a risk in 0..1 (what the label means for crisis
triage). Give them with --risks, in label order ("0,0.2,1") or by name
("negative=0,neutral=0.1,positive=0"). Without --risks they are spaced
evenly from 0 to 1 in label order, which is only right if the labels are
ordered from safe to dangerous: the script warns loudly.

Needs Debian's python3-torch and Hugging Face `transformers` (not packaged
in Debian; install it in a virtualenv created with
`python3 -m venv --system-site-packages` so Debian's torch is used).
TorchScript saved by torch 2.x may not load in libtorch 1.13, which Lantern
links: export with torch 1.13 (/usr/bin/python3 on Debian 12).

Exit status: 0 written; 1 refused (unsupported tokenizer or model, checks
failed); 2 usage error or missing dependency.

`--self-test` runs this script's own unit tests (no transformers needed).
"""

import argparse
import hashlib
import inspect
import io
import json
import os
import shutil
import sys
import tempfile
import unicodedata
import unittest
from contextlib import redirect_stderr, redirect_stdout

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2

MISSING_TRANSFORMERS = """\
error: Hugging Face `transformers` is not installed for {python}.

export_model.py reads the checkpoint with transformers'
AutoModelForSequenceClassification and AutoTokenizer. Debian 12 does not
package it; install it next to Debian's torch 1.13 with:

    python3 -m venv --system-site-packages ~/lantern-export
    ~/lantern-export/bin/pip install 'transformers==4.38.2' sentencepiece
    ~/lantern-export/bin/python scripts/export_model.py CHECKPOINT --out DIR

(4.38 is a release that still supports torch 1.13.) Keep torch at 1.13
(do not let pip upgrade it): TorchScript saved by torch 2.x may not load
in the libtorch 1.13 that Lantern links."""

# Sentences the Hugging Face tokenizer and Lantern's must agree on. They
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


class Refusal(Exception):
    """The checkpoint cannot be exported for Lantern; the message says why."""


# ---------------------------------------------------------------------------
# Lantern's text path in Python: core/text.h (NormalizeText) and
# core/wordpiece_tokenizer.h. Used to check a Hugging Face tokenizer against
# what Lantern will do, and to generate the C++ parity samples.


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


# ---------------------------------------------------------------------------
# Which tokenizer the checkpoint uses, and whether Lantern can run it.


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
    """What to write for the tokenizer: dict(spec, files) or Refusal."""
    bos, eos = special_ids(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    hf_encode = lambda t: tokenizer(t, add_special_tokens=False)["input_ids"]

    settings = None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        tok_json = json.loads(backend.to_str())
        if (tok_json.get("model") or {}).get("type") == "WordPiece":
            settings = wordpiece_settings_from_json(tok_json)
    elif hasattr(tokenizer, "basic_tokenizer") and hasattr(tokenizer, "wordpiece_tokenizer"):
        settings = wordpiece_settings_from_slow(tokenizer)

    if settings is not None:
        wp = WordPiece(settings["vocab"], settings["lowercase"], settings["strip_accents"],
                       settings["unk_token"])
        bad = [] if skip_check else compare_on_probes(
            hf_encode, lambda t: wp.encode(lantern_normalize(t)))
        if bad:
            raise Refusal(f"Lantern's WordPiece disagrees with the Hugging Face tokenizer on "
                          f"{len(bad)} of {len(PROBES)} probe sentences, e.g. {bad[0]!r}")
        spec = {"type": "wordpiece", "model": "vocab.txt", "padId": pad, "bosId": bos,
                "eosId": eos, "lowercase": settings["lowercase"],
                "stripAccents": settings["strip_accents"],
                "unkToken": settings["unk_token"]}
        return {"spec": spec, "vocab": settings["vocab"], "copy": None}

    sp_path = find_sentencepiece_file(tokenizer, checkpoint)
    if sp_path is None:
        raise Refusal(
            f"{type(tokenizer).__name__} is neither BERT-style WordPiece nor backed by a "
            "SentencePiece .model file; Lantern cannot run it (byte-level BPE tokenizers "
            "such as RoBERTa's and GPT-2's are not supported)")
    if not skip_check:
        try:
            import sentencepiece
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
    spec = {"type": "sentencepiece", "model": name, "padId": pad, "bosId": bos, "eosId": eos}
    return {"spec": spec, "vocab": None, "copy": sp_path}


# ---------------------------------------------------------------------------
# The spec.


def parse_risks(text, labels):
    """Risks per label from "0,0.5,1" or "a=0,b=1" (every label once)."""
    items = [s.strip() for s in text.split(",") if s.strip()]
    if items and all("=" in s for s in items):
        given = {}
        for item in items:
            name, value = item.split("=", 1)
            given[name.strip()] = value
        unknown = sorted(set(given) - set(labels))
        missing = [l for l in labels if l not in given]
        if unknown or missing:
            raise ValueError(f"--risks must name every label exactly: labels are "
                             f"{labels}; unknown {unknown}, missing {missing}")
        values = [given[l] for l in labels]
    elif any("=" in s for s in items):
        raise ValueError("--risks mixes 'label=value' and plain values")
    else:
        values = items
    if len(values) != len(labels):
        raise ValueError(f"--risks has {len(values)} values for {len(labels)} labels "
                         f"{labels}")
    risks = []
    for label, value in zip(labels, values):
        try:
            risk = float(value)
        except ValueError:
            raise ValueError(f"risk of label {label!r} is not a number: {value!r}")
        if not 0.0 <= risk <= 1.0:
            raise ValueError(f"risk of label {label!r} must be within 0..1, got {risk}")
        risks.append(risk)
    return risks


def default_risks(count):
    return [round(i / (count - 1), 4) for i in range(count)]


def labels_from_config(id2label):
    """Label names in output order from config.id2label (keys may be str)."""
    by_index = {int(k): v for k, v in id2label.items()}
    if sorted(by_index) != list(range(len(by_index))):
        raise Refusal(f"config.id2label does not cover 0..{len(by_index) - 1}")
    if len(by_index) < 2:
        raise Refusal("the model has fewer than two labels")
    return [str(by_index[i]) for i in range(len(by_index))]


def build_spec(name, version, role, labels, risks, tokenizer_spec, max_tokens,
               weight, file="model.pt"):
    """The model.json contents (lantern.config.v1.ModelSpec, JSON names)."""
    if len(labels) != len(risks):
        raise ValueError("one risk per label")
    if max_tokens < 3:
        raise ValueError("max tokens must be >= 3")
    if weight <= 0:
        raise ValueError("weight must be > 0")
    return {
        "name": name,
        "version": version,
        "role": role,
        "file": file,
        "tokenizer": dict(tokenizer_spec),
        "labels": [{"name": l, "risk": r} for l, r in zip(labels, risks)],
        "maxTokens": max_tokens,
        "weight": weight,
        "handles": 0,
    }


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def file_version(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:10]


# ---------------------------------------------------------------------------
# The model.


def trace_model(torch, model, pad_id, max_tokens, vocab_size):
    """TorchScript of (input_ids, attention_mask) -> logits, checked."""

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner, pass_token_types):
            super().__init__()
            self.inner = inner
            self.pass_token_types = pass_token_types

        def forward(self, input_ids, attention_mask):
            if self.pass_token_types:
                out = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                 token_type_ids=torch.zeros_like(input_ids))
            else:
                out = self.inner(input_ids=input_ids, attention_mask=attention_mask)
            return out[0]

    params = inspect.signature(model.forward).parameters
    wrapper = LogitsOnly(model, "token_type_ids" in params).eval()
    gen = torch.Generator().manual_seed(0)
    low = min(1000, vocab_size - 1)

    def batch(lengths, width):
        ids = torch.full((len(lengths), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(lengths), width), dtype=torch.long)
        for row, n in enumerate(lengths):
            ids[row, :n] = torch.randint(low, vocab_size, (n,), generator=gen)
            mask[row, :n] = 1
        return ids, mask

    with torch.no_grad():
        traced = torch.jit.trace(wrapper, batch([12, 7], 16), check_trace=False)
        # Shapes other than the traced one, and padding invariance.
        for lengths, width in (([5], 8), ([max_tokens, 9, 3], max_tokens)):
            ids, mask = batch(lengths, width)
            expected, got = wrapper(ids, mask), traced(ids, mask)
            if got.shape != expected.shape or (got - expected).abs().max() > 1e-3:
                raise Refusal("the traced model gives different answers from the "
                              "original at another batch size or length")
        ids, mask = batch([6], 6)
        alone = traced(ids, mask)
        padded_ids = torch.full((1, max_tokens), pad_id, dtype=torch.long)
        padded_mask = torch.zeros((1, max_tokens), dtype=torch.long)
        padded_ids[0, :6], padded_mask[0, :6] = ids[0], 1
        if (traced(padded_ids, padded_mask) - alone).abs().max() > 1e-3:
            raise Refusal("the model's logits change with right-padding; Lantern pads "
                          "inputs, so the model must use the attention mask")
        if alone.dim() != 2:
            raise Refusal(f"the model returns a rank-{alone.dim()} tensor, not "
                          "logits [batch, labels]")
    return traced


# ---------------------------------------------------------------------------
# Command line.


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="export_model.py",
        description="Turn a Hugging Face sequence-classification checkpoint into a "
                    "TorchScript model, a Lantern spec and tokenizer files.",
        epilog="Warning: TorchScript saved by torch 2.x may not load in libtorch 1.13, "
               "which Lantern links; export with Debian's python3-torch 1.13. "
               "See the top of this file for details.")
    parser.add_argument("checkpoint", nargs="?",
                        help="folder written by save_pretrained (model + tokenizer)")
    parser.add_argument("--out", help="output folder, e.g. models/mine/<name>")
    parser.add_argument("--name", help="model name (default: the --out folder's name)")
    parser.add_argument("--role", default="user",
                        help="free-text role shown in signals (default: user)")
    parser.add_argument("--risks",
                        help="risk 0..1 per label, in label order ('0,0.3,1') or by name "
                             "('calm=0,crisis=1'); default: evenly spaced, with a warning")
    parser.add_argument("--max-tokens", type=int, default=128,
                        help="longest input in tokens, special tokens included "
                             "(default 128; capped by the model's positions)")
    parser.add_argument("--weight", type=float, default=1.0,
                        help="weight in the ensemble's weighted mean (default 1)")
    parser.add_argument("--skip-tokenizer-check", action="store_true",
                        help="do not compare tokenizations on probe sentences")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty --out folder")
    parser.add_argument("--self-test", action="store_true",
                        help="run this script's unit tests and exit")
    args = parser.parse_args(argv)
    if not args.self_test:
        if not args.checkpoint or not args.out:
            parser.error("CHECKPOINT and --out are required")
        if args.weight <= 0:
            parser.error("--weight must be > 0")
        if args.max_tokens < 3:
            parser.error("--max-tokens must be >= 3")
    return args


def export(args, torch, transformers):
    if not os.path.isdir(args.checkpoint):
        raise Refusal(f"{args.checkpoint} is not a folder")
    if os.path.isdir(args.out) and os.listdir(args.out) and not args.force:
        raise Refusal(f"{args.out} is not empty (use --force to overwrite)")
    if int(torch.__version__.split(".")[0]) >= 2:
        print(f"warning: torch {torch.__version__}: TorchScript saved by torch 2.x may not "
              "load in Lantern's libtorch 1.13", file=sys.stderr)

    tokenizer = transformers.AutoTokenizer.from_pretrained(args.checkpoint)
    plan = plan_tokenizer(tokenizer, args.checkpoint, args.skip_tokenizer_check)

    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        args.checkpoint, torchscript=True)
    model.eval()
    labels = labels_from_config(model.config.id2label)
    if args.risks:
        try:
            risks = parse_risks(args.risks, labels)
        except ValueError as e:
            raise Refusal(str(e))
    else:
        risks = default_risks(len(labels))
        print("WARNING: no --risks given. Risks are spaced evenly from 0 to 1 in label "
              "order:\n  " + ", ".join(f"{l}={r}" for l, r in zip(labels, risks)) +
              "\n  This is only right if the labels go from safe to dangerous. Check "
              "and pass --risks.", file=sys.stderr)
    positions = getattr(model.config, "max_position_embeddings", None) or args.max_tokens
    max_tokens = min(args.max_tokens, positions)
    vocab_size = getattr(model.config, "vocab_size", None) or len(tokenizer)

    traced = trace_model(torch, model, plan["spec"]["padId"], max_tokens, vocab_size)
    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, "model.pt")
    torch.jit.save(traced, model_path)
    torch.jit.load(model_path)  # Fails here rather than in the server.
    if plan["vocab"] is not None:
        with open(os.path.join(args.out, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(plan["vocab"]) + "\n")
    else:
        shutil.copyfile(plan["copy"], os.path.join(args.out, plan["spec"]["model"]))
    name = args.name or os.path.basename(os.path.normpath(args.out))
    spec = build_spec(name, file_version(model_path), args.role, labels, risks,
                      plan["spec"], max_tokens, args.weight)
    write_json(os.path.join(args.out, "model.json"), spec)
    print(f"wrote {args.out}: model.pt, model.json, {plan['spec']['model']} "
          f"({len(labels)} labels, {plan['spec']['type']} tokenizer, max {max_tokens} "
          f"tokens)\nnext: add \"{os.path.basename(os.path.normpath(args.out))}\" to the "
          f"\"models\" list of ensemble.json in the model directory")


def main(argv=None):
    args = parse_args(argv)
    if args.self_test:
        return run_self_test()
    try:
        import torch
        import transformers
    except ImportError as e:
        if getattr(e, "name", None) == "torch":
            print("error: torch is not installed; install Debian's python3-torch and "
                  "run with /usr/bin/python3", file=sys.stderr)
        else:
            print(MISSING_TRANSFORMERS.format(python=sys.executable), file=sys.stderr)
        return EXIT_USAGE
    try:
        export(args, torch, transformers)
    except Refusal as e:
        print(f"error: cannot export for Lantern: {e}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


# ---------------------------------------------------------------------------
# Self-test: python3 scripts/export_model.py --self-test


BERT_JSON = {
    "normalizer": {"type": "BertNormalizer", "clean_text": True,
                   "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100,
              "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4,
                        "world": 5, "##s": 6, "cafe": 7, ",": 8}},
    "added_tokens": [{"id": 9, "content": "[MASK]", "special": True}],
}


class SelfTest(unittest.TestCase):
    def test_missing_transformers_exits_2_with_instructions(self):
        saved = sys.modules.get("transformers", "absent")
        sys.modules["transformers"] = None  # Makes `import transformers` fail.
        err = io.StringIO()
        try:
            with redirect_stderr(err):
                code = main(["/nonexistent", "--out", "/tmp/never-written"])
        finally:
            if saved == "absent":
                del sys.modules["transformers"]
            else:
                sys.modules["transformers"] = saved
        self.assertEqual(code, EXIT_USAGE)
        self.assertIn("`transformers` is not installed", err.getvalue())
        self.assertIn("--system-site-packages", err.getvalue())
        self.assertFalse(os.path.exists("/tmp/never-written"))

    def test_checkpoint_and_out_are_required(self):
        with redirect_stderr(io.StringIO()), self.assertRaises(SystemExit) as ctx:
            parse_args(["--out", "x"])
        self.assertEqual(ctx.exception.code, EXIT_USAGE)

    def test_bad_weight_is_a_usage_error(self):
        with redirect_stderr(io.StringIO()), self.assertRaises(SystemExit) as ctx:
            parse_args(["ckpt", "--out", "x", "--weight", "0"])
        self.assertEqual(ctx.exception.code, EXIT_USAGE)

    def test_parse_args_defaults(self):
        args = parse_args(["ckpt", "--out", "o"])
        self.assertEqual((args.max_tokens, args.weight, args.role, args.risks),
                         (128, 1.0, "user", None))

    def test_risks_in_order_and_by_name(self):
        self.assertEqual(parse_risks("0, 0.5 ,1", ["a", "b", "c"]), [0.0, 0.5, 1.0])
        self.assertEqual(parse_risks("c=1,a=0,b=0.25", ["a", "b", "c"]), [0.0, 0.25, 1.0])

    def test_bad_risks_say_what_is_wrong(self):
        cases = [("0,1", "2 values for 3 labels"), ("0,2,1", "within 0..1"),
                 ("a=0,b=1", "missing ['c']"), ("a=0,b=1,c=1,d=0", "unknown ['d']"),
                 ("0,x,1", "not a number"), ("a=0,1,1", "mixes")]
        for text, message in cases:
            with self.assertRaises(ValueError) as ctx:
                parse_risks(text, ["a", "b", "c"])
            self.assertIn(message, str(ctx.exception), text)

    def test_default_risks_are_evenly_spaced(self):
        self.assertEqual(default_risks(2), [0.0, 1.0])
        self.assertEqual(default_risks(5), [0.0, 0.25, 0.5, 0.75, 1.0])

    def test_labels_from_config_orders_by_id(self):
        self.assertEqual(labels_from_config({"1": "crisis", "0": "ok"}), ["ok", "crisis"])
        with self.assertRaises(Refusal):
            labels_from_config({0: "a", 2: "b"})

    def test_build_spec_writes_what_lantern_reads(self):
        spec = build_spec("mine", "abc", "user", ["ok", "crisis"], [0.0, 1.0],
                          {"type": "wordpiece", "model": "vocab.txt", "padId": 0,
                           "bosId": 2, "eosId": 3, "lowercase": True}, 64, 0.5)
        self.assertEqual(spec, {
            "name": "mine", "version": "abc", "role": "user", "file": "model.pt",
            "tokenizer": {"type": "wordpiece", "model": "vocab.txt", "padId": 0,
                          "bosId": 2, "eosId": 3, "lowercase": True},
            "labels": [{"name": "ok", "risk": 0.0}, {"name": "crisis", "risk": 1.0}],
            "maxTokens": 64, "weight": 0.5, "handles": 0})
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.json")
            write_json(path, spec)
            with open(path, encoding="utf-8") as f:
                self.assertEqual(json.load(f), spec)
        with self.assertRaises(ValueError):
            build_spec("m", "v", "r", ["a", "b"], [0.0], {}, 64, 1.0)

    def test_wordpiece_settings_from_bert_json(self):
        settings = wordpiece_settings_from_json(BERT_JSON)
        self.assertTrue(settings["lowercase"])
        self.assertTrue(settings["strip_accents"])  # null follows lowercase
        self.assertEqual(settings["vocab"][4], "hello")
        self.assertEqual(settings["vocab"][9], "[MASK]")
        cased = json.loads(json.dumps(BERT_JSON))
        cased["normalizer"].update(lowercase=False, strip_accents=None)
        self.assertFalse(wordpiece_settings_from_json(cased)["strip_accents"])

    def test_other_tokenizers_are_refused_with_a_reason(self):
        bpe = {"model": {"type": "BPE", "vocab": {}}, "normalizer": None}
        with self.assertRaises(Refusal) as ctx:
            wordpiece_settings_from_json(bpe)
        self.assertIn("BPE", str(ctx.exception))
        no_cjk = json.loads(json.dumps(BERT_JSON))
        no_cjk["normalizer"]["handle_chinese_chars"] = False
        with self.assertRaises(Refusal):
            wordpiece_settings_from_json(no_cjk)
        gap = json.loads(json.dumps(BERT_JSON))
        gap["added_tokens"][0]["id"] = 12
        with self.assertRaises(Refusal) as ctx:
            wordpiece_settings_from_json(gap)
        self.assertIn("contiguous", str(ctx.exception))

    def test_wordpiece_known_tokenizations(self):
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s", "cafe",
                 ",", "un", "##believ", "##able", "!", "我", "i", "'", "m", "."]
        wp = WordPiece(vocab, lowercase=True)
        self.assertEqual(wp.tokenize("Hello, Worlds!"), ["hello", ",", "world", "##s", "!"])
        self.assertEqual(wp.tokenize("CAFÉ unbelievable"), ["cafe", "un", "##believ", "##able"])
        self.assertEqual(wp.tokenize("unbelievably 我"), ["[UNK]", "我"])
        self.assertEqual(wp.tokenize("I'm\u200b."), ["i", "'", "m", "."])
        self.assertEqual(wp.tokenize("s" * 101), ["[UNK]"])
        cased = WordPiece(vocab, lowercase=False)
        self.assertEqual(cased.tokenize("Hello hello café"), ["[UNK]", "hello", "[UNK]"])

    def test_lantern_normalize_matches_core_text(self):
        self.assertEqual(lantern_normalize("  a\t\tb\u200d\nc\u00a0 "), "a b c")
        self.assertEqual(lantern_normalize("ﬁne…"), "fine...")

    def test_probes_are_unchanged_by_nfkc(self):
        # Otherwise a tokenizer would be refused for a difference that is
        # Lantern's normalisation, not its tokenizer.
        for text in PROBES:
            self.assertEqual(unicodedata.normalize("NFKC", text), text)

    def test_probe_comparison_reports_disagreements(self):
        bad = compare_on_probes(lambda t: [len(t)], lambda t: [len(t.strip())],
                                probes=["same", " differs "])
        self.assertEqual(bad, [" differs "])

    def test_special_ids_from_a_fake_tokenizer(self):
        class Fake:
            def __call__(self, text, add_special_tokens=True):
                ids = [7, 8]
                return {"input_ids": [101] + ids + [102] if add_special_tokens else ids}
        self.assertEqual(special_ids(Fake()), (101, 102))


class ExportWithStandInTransformersTest(unittest.TestCase):
    """export() end to end with a stand-in for the parts of `transformers` it
    uses: a Python-only BERT-like tokenizer and a small masked-mean model."""

    def setUp(self):
        try:
            import torch
        except ImportError:
            self.skipTest("torch is not installed")
        self.torch = torch

    def stand_in(self, vocab, lowercase):
        torch = self.torch
        wp = WordPiece(vocab, lowercase=lowercase)

        class Tokenizer:
            unk_token = "[UNK]"
            pad_token_id = 0

            def __init__(self):
                self.vocab = {e: i for i, e in enumerate(vocab)}
                self.basic_tokenizer = type("Basic", (), dict(
                    do_lower_case=lowercase, strip_accents=None,
                    tokenize_chinese_chars=True))()
                self.wordpiece_tokenizer = object()

            def get_added_vocab(self):
                return {}

            def __call__(self, text, add_special_tokens=True):
                ids = wp.encode(text)
                return {"input_ids": [2] + ids + [3] if add_special_tokens else ids}

        class Model(torch.nn.Module):
            def __init__(self):
                super().__init__()
                torch.manual_seed(0)
                self.config = type("Config", (), dict(
                    id2label={0: "calm", 1: "crisis"}, max_position_embeddings=64,
                    vocab_size=len(vocab)))()
                self.embed = torch.nn.Embedding(len(vocab), 8)
                self.out = torch.nn.Linear(8, 2)

            def forward(self, input_ids=None, attention_mask=None, token_type_ids=None):
                m = attention_mask.unsqueeze(-1).float()
                pooled = (self.embed(input_ids) * m).sum(1) / m.sum(1).clamp(min=1.0)
                return (self.out(pooled),)

        auto_tok = type("AutoTokenizer", (), dict(
            from_pretrained=staticmethod(lambda path: Tokenizer())))
        auto_model = type("AutoModel", (), dict(
            from_pretrained=staticmethod(lambda path, torchscript: Model())))
        return type("Transformers", (), dict(
            AutoTokenizer=auto_tok, AutoModelForSequenceClassification=auto_model))

    def test_writes_a_folder_lantern_can_load(self):
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + sorted(set(
            "abcdefghijklmnopqrstuvwxyz0123456789.,!?'@:/-&()=_" + "我很好谢你呢"
            "ąçãéíóúàèüñöß😀🙂")) + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "mine")
            args = parse_args([tmp, "--out", out, "--risks", "calm=0,crisis=1",
                               "--max-tokens", "32"])
            with redirect_stdout(io.StringIO()) as printed:
                export(args, self.torch, self.stand_in(vocab, lowercase=True))
            self.assertIn('next: add "mine" to the "models" list', printed.getvalue())
            self.assertEqual(sorted(os.listdir(out)), ["model.json", "model.pt", "vocab.txt"])
            with open(os.path.join(out, "model.json"), encoding="utf-8") as f:
                spec = json.load(f)
            self.assertEqual(spec["tokenizer"], {
                "type": "wordpiece", "model": "vocab.txt", "padId": 0, "bosId": 2,
                "eosId": 3, "lowercase": True, "stripAccents": True, "unkToken": "[UNK]"})
            self.assertEqual([l["name"] for l in spec["labels"]], ["calm", "crisis"])
            self.assertEqual((spec["maxTokens"], spec["name"]), (32, "mine"))
            with open(os.path.join(out, "vocab.txt"), encoding="utf-8") as f:
                self.assertEqual(f.read().split("\n")[:-1], vocab)
            module = self.torch.jit.load(os.path.join(out, "model.pt"))
            ids = self.torch.tensor([[2, 10, 11, 3, 0, 0]])
            mask = self.torch.tensor([[1, 1, 1, 1, 0, 0]])
            self.assertEqual(tuple(module(ids, mask).shape), (1, 2))
            # A second export into the same folder needs --force.
            with self.assertRaises(Refusal):
                export(args, self.torch, self.stand_in(vocab, lowercase=True))


def run_self_test():
    loader = unittest.defaultTestLoader
    suite = unittest.TestSuite([loader.loadTestsFromTestCase(SelfTest),
                                loader.loadTestsFromTestCase(ExportWithStandInTransformersTest)])
    result = unittest.TextTestRunner(verbosity=1).run(suite)
    return EXIT_OK if result.wasSuccessful() else EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
