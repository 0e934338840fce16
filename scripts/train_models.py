#!/usr/bin/python3
"""Trains Lantern's default model ensemble from data/corpus/.

Writes into --out (default models/default):
  tokenizer.model            SentencePiece unigram model shared by both models
  severity/model.pt, .json   5-way classifier: none/low/medium/high/critical
  distress/model.pt, .json   3-way classifier: calm/distress/danger
  ensemble.json              model list and score thresholds

Run with Debian's interpreter (it sees python3-torch and python3-sentencepiece):
  /usr/bin/python3 scripts/train_models.py --out models/default

Text normalisation (must match core/text.cc in the C++ server):
  1. Unicode NFKC.
  2. Whitespace is TAB, LF, VT, FF, CR, NEL (U+0085) and every character of
     category Zs, Zl or Zp. Each run of whitespace becomes one ASCII space;
     leading and trailing whitespace is dropped.
  3. Every other character of category Cc or Cf (e.g. U+200B, U+200D, U+00AD)
     is removed without leaving a space.
Case folding is left to the tokenizer (nmt_nfkc_cf rule). Token ids are the
SentencePiece ids of the normalised text, no BOS/EOS, truncated to 64.

Everything is deterministic: fixed seeds, two torch threads, sorted inputs.
The train/dev/test split is recomputed from a hash of each message, never
stored.
"""

import argparse
import dataclasses
import hashlib
import io
import json
import os
import pathlib
import random
import sys
import time
import unicodedata

import sentencepiece as spm
import torch
from torch import nn
from torch.nn import functional as F

SEED = 1234
MAX_TOKENS = 64
PAD_ID = 0
VOCAB_SIZE = 2000

LEVELS = ["none", "low", "medium", "high", "critical"]
LEVEL_RISKS = [0.0, 0.25, 0.5, 0.75, 1.0]
DISTRESS_LABELS = ["calm", "distress", "danger"]
DISTRESS_RISKS = [0.0, 0.5, 1.0]
# Level index -> distress label index.
LEVEL_TO_DISTRESS = [0, 1, 1, 2, 2]
# Ensemble weight of the severity model (distress gets 1 - w), chosen on dev
# together with the thresholds; ties prefer the first entry.
SEVERITY_WEIGHTS = [0.6, 0.5, 0.7, 0.8]
HIGH = LEVELS.index("high")
MEDIUM = LEVELS.index("medium")

# Threshold search on dev: grid step, smallest gap between thresholds (so
# every level stays reachable), false-alarm budget, and the objective
# accuracy + RECALL_WEIGHT * high+critical recall - FALSE_ALARM_WEIGHT * rate
# of none messages scored medium or above.
THRESHOLD_STEP = 0.025
THRESHOLD_MIN_GAP = 0.1
FALSE_ALARM_CAP = 0.05
RECALL_WEIGHT = 1.0
FALSE_ALARM_WEIGHT = 1.0

# The first two must pass or the script fails; the rest are printed.
REQUIRED_SANITY = [
    ("I have the pills and I'm doing it tonight", {"high", "critical"}),
    ("what time is the raid tonight?", {"none"}),
]
# None of these occurs in the corpus (checked at start-up).
EXTRA_SANITY = [
    "that boss killed me 50 times lol",
    "this lab report is killing me",
    "I'm dead 💀 that video",
    "i wish i could just not wake up",
    "honestly i feel like a burden to everyone around me",
    "my friend keeps saying she wants to disappear, what do i do",
    "goodbye everyone, thank you for everything. i won't be here tomorrow",
    "happy pride month!! 🏳️‍🌈",
    "my parents kicked me out because i'm trans",
    "ugh, rough day at work",
    "quiero morir, ya no puedo más",
    "ich habe tabletten gesammelt und mache es heute nacht",
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


CONTROL_SPACES = frozenset("\t\n\x0b\x0c\r\x85")


def normalize_text(text):
    """Normalises text exactly as the C++ server does (see module doc)."""
    words, current = [], []
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


def split_key(normalized):
    """Lower-cased letters and digits only, so near-duplicates share a key."""
    kept = [ch if unicodedata.category(ch)[0] in "LN" else " "
            for ch in normalized.lower()]
    return " ".join("".join(kept).split())


def assign_split(normalized):
    """Stable 80/10/10 split from the sha1 of the split key."""
    digest = hashlib.sha1(split_key(normalized).encode("utf-8")).hexdigest()
    bucket = int(digest[:8], 16) % 10
    return "dev" if bucket == 8 else "test" if bucket == 9 else "train"


def load_corpus(corpus_dir):
    """Loads every *.jsonl file, normalised, deduplicated and sorted."""
    by_text = {}
    for path in sorted(corpus_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                row = json.loads(line)
                text = normalize_text(row["text"])
                level = LEVELS.index(row["level"])
                if not text:
                    raise ValueError(f"{path}:{line_no}: empty text")
                if by_text.get(text, level) != level:
                    print(f"warning: {path}:{line_no} repeats a message "
                          "with a different level; keeping the first")
                by_text.setdefault(text, level)
    return [Example(text, level, assign_split(text))
            for text, level in sorted(by_text.items())]


def corpus_version(corpus_dir):
    """Short sha1 of the corpus files and this script."""
    digest = hashlib.sha1()
    script = pathlib.Path(__file__).resolve()
    for path in sorted(corpus_dir.glob("*.jsonl")) + [script]:
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


AUG_EMOJI = ["😭", "😔", "💀", "lol", "🙃", "...", "😂", "💔", "!!"]


def augment(text, rng):
    """Returns a light, label-preserving chat-style variant of text."""
    choice = rng.randrange(5)
    if choice == 0:
        out = text.lower()
    elif choice == 1:
        out = text[:1].upper() + text[1:]
    elif choice == 2:
        out = "".join(ch for ch in text
                      if not unicodedata.category(ch).startswith("P"))
    elif choice == 3:
        out = f"{text} {AUG_EMOJI[rng.randrange(len(AUG_EMOJI))]}"
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
    width = max(1, max(len(ids) for ids in id_lists))
    input_ids = torch.full((len(id_lists), width), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(id_lists), width), dtype=torch.long)
    for row, ids in enumerate(id_lists):
        input_ids[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[row, :len(ids)] = 1
    return input_ids, mask


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


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class TrainConfig:
    """Optimiser and regularisation settings shared by both models."""
    epochs: int = 15
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
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


def train_classifier(name, model, train, dev, num_labels, config):
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
    for epoch in range(1, config.epochs + 1):
        model.train()
        total = 0.0
        order = torch.randperm(len(train_ids), generator=order_gen).tolist()
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
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
        print(f"  [{name}] epoch {epoch:2d} loss {total / len(order):.4f} "
              f"dev macro-recall {score:.3f}{marker}")
    model.load_state_dict(best_state)
    model.eval()
    print(f"  [{name}] kept best epoch: dev macro-recall {best_score:.3f}")
    return model


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
        "tokenizer": {"type": "sentencepiece", "model": "../tokenizer.model",
                      "padId": PAD_ID, "bosId": -1, "eosId": -1},
        "labels": [{"name": n, "risk": r}
                   for n, r in zip(member.labels, member.risks)],
        "maxTokens": MAX_TOKENS, "weight": member.weight, "handles": 0,
    }


# ---------------------------------------------------------------------------
# Ensemble
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Member:
    """One trained model of the ensemble."""
    name: str
    module: torch.jit.ScriptModule
    labels: list
    risks: list
    weight: float = 0.0


def member_scores(member, id_lists):
    """The model's risk score per message: sum of probability x label risk."""
    probs = torch.softmax(predict_logits(member.module, id_lists), dim=1)
    return (probs * torch.tensor(member.risks)).sum(1)


def combine(score_lists, weights):
    """Weighted mean of per-model scores, as the C++ server computes it."""
    total = sum(w * s for w, s in zip(weights, score_lists))
    return total / sum(weights)


def ensemble_scores(members, id_lists):
    """Combined score per message with the members' own weights."""
    return combine([member_scores(m, id_lists) for m in members],
                   [m.weight for m in members])


def levels_from_scores(scores, thresholds):
    """Level index per score: the number of thresholds it reaches."""
    return (scores.unsqueeze(-1) >= torch.tensor(thresholds)).sum(-1)


def tune_thresholds(scores, gold):
    """Grid-searches thresholds low < medium < high < critical on dev scores.

    Candidates keep THRESHOLD_MIN_GAP between neighbours and at most
    FALSE_ALARM_CAP none->medium+ false alarms (if none qualifies, the
    fewest). The best maximises accuracy + RECALL_WEIGHT * high+critical
    recall - FALSE_ALARM_WEIGHT * false alarms; ties go to the candidate
    closest to the evenly spaced 1/8, 3/8, 5/8, 7/8.
    """
    steps = int(round(1 / THRESHOLD_STEP))
    grid = [round(i * THRESHOLD_STEP, 4) for i in range(1, steps)]
    combos = torch.combinations(torch.tensor(grid), r=4)      # ascending rows
    gaps = combos[:, 1:] - combos[:, :-1]
    combos = combos[(gaps >= THRESHOLD_MIN_GAP - 1e-6).all(1)]
    gold = torch.tensor(gold)
    pred = (scores.view(1, -1, 1) >= combos.view(-1, 1, 4)).sum(-1)  # [C, N]
    accuracy = (pred == gold).float().mean(1)
    recall = (pred[:, gold >= HIGH] >= HIGH).float().mean(1)
    false_alarm = (pred[:, gold == 0] >= MEDIUM).float().mean(1)
    allowed = false_alarm <= max(FALSE_ALARM_CAP, false_alarm.min().item())
    objective = (accuracy + RECALL_WEIGHT * recall
                 - FALSE_ALARM_WEIGHT * false_alarm)
    objective[~allowed] = -float("inf")
    even = torch.tensor([0.125, 0.375, 0.625, 0.875])
    distance = (combos - even).abs().sum(1)
    best_value = objective.max()
    candidates = torch.nonzero(objective >= best_value - 1e-9).flatten()
    best = candidates[distance[candidates].argmin()].item()
    return [round(v, 4) for v in combos[best].tolist()], best_value.item()


def tune_ensemble(dev_score_lists, gold):
    """Chooses the severity weight and thresholds with the best dev objective.

    Returns ([severity weight, distress weight], thresholds).
    """
    best = None
    for weight in SEVERITY_WEIGHTS:
        weights = [weight, round(1.0 - weight, 4)]
        thresholds, value = tune_thresholds(
            combine(dev_score_lists, weights), gold)
        print(f"  severity weight {weight:.2f}: objective {value:.4f} "
              f"thresholds {thresholds}")
        if best is None or value > best[0] + 1e-9:
            best = (value, weights, thresholds)
    return best[1], best[2]


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def report_split(name, gold, pred):
    """Prints accuracy, confusion matrix, serious recall and false alarms."""
    gold_t, pred_t = torch.tensor(gold), torch.tensor(pred)
    accuracy = (gold_t == pred_t).float().mean().item()
    serious = gold_t >= HIGH
    recall = (pred_t[serious] >= HIGH).float().mean().item()
    calm = gold_t == 0
    false_alarm = (pred_t[calm] >= MEDIUM).float().mean().item()
    print(f"\n== {name}: n={len(gold)} accuracy {accuracy:.3f} "
          f"high+critical recall {recall:.3f} "
          f"none->medium+ false alarms {false_alarm:.3f}")
    print("   gold \\ pred " + " ".join(f"{lvl:>8}" for lvl in LEVELS))
    for g, level in enumerate(LEVELS):
        row = [sum(1 for a, b in zip(gold, pred) if a == g and b == p)
               for p in range(len(LEVELS))]
        print(f"   {level:>12} " + " ".join(f"{c:8d}" for c in row))


def show_errors(subset, pred, scores):
    """Prints each misclassified message with gold and predicted level."""
    for ex, p, score in zip(subset, pred, scores.tolist()):
        if p != ex.level:
            print(f"   {LEVELS[ex.level]:>8} -> {LEVELS[p]:<8} {score:.2f}  "
                  f"{ex.text}")


def check_sanity_held_out(examples):
    """Warns when a sanity sentence (or a near-duplicate) is in the corpus."""
    keys = {split_key(e.text) for e in examples}
    for text in [t for t, _ in REQUIRED_SANITY] + EXTRA_SANITY:
        if split_key(normalize_text(text)) in keys:
            print(f"warning: sanity sentence is in the corpus: {text!r}")


def run_sanity(sp, members, thresholds):
    """Prints sanity verdicts; returns False if a required one fails."""
    print("\n== sanity checks")
    ok = True
    texts = [t for t, _ in REQUIRED_SANITY] + EXTRA_SANITY
    normalized = [normalize_text(t) for t in texts]
    scores = ensemble_scores(members, encode(sp, normalized))
    levels = levels_from_scores(scores, thresholds).tolist()
    for i, text in enumerate(texts):
        level = LEVELS[levels[i]]
        status = ""
        if i < len(REQUIRED_SANITY):
            passed = level in REQUIRED_SANITY[i][1]
            ok &= passed
            status = "PASS" if passed else "FAIL"
        print(f"  {status:4} {level:>8} {scores[i].item():.3f}  {text}")
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


def seed_everything():
    """Fixes every source of randomness and the torch thread count."""
    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)


def build_train_set(examples, rng):
    """Train texts and levels, plus one augmented copy of each message."""
    texts, levels = [], []
    for ex in examples:
        texts.append(ex.text)
        levels.append(ex.level)
        variant = augment(ex.text, rng)
        if variant != ex.text:
            texts.append(variant)
            levels.append(ex.level)
    return texts, levels


def train_all(examples, out_dir):
    """Trains tokenizer and both models; returns (sp, list of Member)."""
    train = [e for e in examples if e.split == "train"]
    dev = [e for e in examples if e.split == "dev"]
    print(f"training tokenizer on {len(train)} train messages")
    sp = train_tokenizer([e.text for e in train], out_dir / "tokenizer.model")
    print(f"  vocabulary size {sp.get_piece_size()}")

    train_texts, train_levels = build_train_set(train, random.Random(SEED))
    train_ids = encode(sp, train_texts)
    dev_ids = encode(sp, [e.text for e in dev])
    dev_levels = [e.level for e in dev]
    print(f"  {len(train_ids)} training rows after augmentation")

    members = []
    specs = [
        ("severity", SeverityCNN, LEVELS, LEVEL_RISKS, lambda lvl: lvl),
        ("distress", DistressBag, DISTRESS_LABELS, DISTRESS_RISKS,
         lambda lvl: LEVEL_TO_DISTRESS[lvl]),
    ]
    for name, cls, labels, risks, to_label in specs:
        torch.manual_seed(SEED)
        model = cls(sp.get_piece_size(), len(labels))
        model = train_classifier(
            name, model, (train_ids, [to_label(v) for v in train_levels]),
            (dev_ids, [to_label(v) for v in dev_levels]), len(labels),
            TrainConfig())
        model_dir = out_dir / name
        model_dir.mkdir(parents=True, exist_ok=True)
        loaded = export_model(model, model_dir / "model.pt", dev_ids[:64])
        print(f"  saved {model_dir / 'model.pt'} (reload and padding verified)")
        members.append(Member(name, loaded, labels, risks))
    return sp, members


def evaluate(examples, sp, members, thresholds, show):
    """Prints ensemble and per-model metrics for dev, train and test."""
    for split in ("dev", "train", "test"):
        subset = [e for e in examples if e.split == split]
        gold = [e.level for e in subset]
        ids = encode(sp, [e.text for e in subset])
        scores = ensemble_scores(members, ids)
        pred = levels_from_scores(scores, thresholds).tolist()
        report_split(split, gold, pred)
        for member in members:
            argmax = predict_logits(member.module, ids).argmax(1).tolist()
            target = gold if member.name == "severity" else [
                LEVEL_TO_DISTRESS[g] for g in gold]
            accuracy = sum(a == b for a, b in zip(argmax, target)) / len(gold)
            print(f"   {member.name} model alone: "
                  f"argmax accuracy {accuracy:.3f}")
        if show and split != "train":
            show_errors(subset, pred, scores)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="data/corpus", type=pathlib.Path)
    parser.add_argument("--out", default="models/default", type=pathlib.Path)
    parser.add_argument("--dump-token-samples", metavar="FILE",
                        help="write tokenizer samples for the C++ tests")
    parser.add_argument("--show-errors", action="store_true",
                        help="list misclassified dev and test messages")
    args = parser.parse_args()
    reexec_with_fixed_hash_seed()
    started = time.time()
    seed_everything()

    examples = load_corpus(args.corpus)
    check_sanity_held_out(examples)
    version = corpus_version(args.corpus)
    counts = {split: sum(e.split == split for e in examples)
              for split in ("train", "dev", "test")}
    print(f"corpus {version}: {len(examples)} messages {counts}")
    args.out.mkdir(parents=True, exist_ok=True)
    sp, members = train_all(examples, args.out)

    print("\ntuning ensemble weights and thresholds on dev")
    dev = [e for e in examples if e.split == "dev"]
    dev_ids = encode(sp, [e.text for e in dev])
    weights, thresholds = tune_ensemble(
        [member_scores(m, dev_ids) for m in members], [e.level for e in dev])
    print(f"  chose weights {weights} thresholds {thresholds}")
    for member, weight in zip(members, weights):
        member.weight = weight
        write_json(args.out / member.name / "model.json",
                   model_spec(member, version))
    write_json(args.out / "ensemble.json", {
        "version": version, "models": [m.name for m in members],
        "thresholds": dict(zip(LEVELS[1:], thresholds))})
    evaluate(examples, sp, members, thresholds, args.show_errors)
    if args.dump_token_samples:
        dump_token_samples(sp, args.dump_token_samples)
    ok = run_sanity(sp, members, thresholds)
    print(f"\ndone in {time.time() - started:.1f}s; wrote {args.out}")
    if not ok:
        print("error: required sanity check failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
