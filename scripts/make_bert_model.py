#!/usr/bin/python3
"""Build a BERT-shaped sequence classifier with RANDOM weights for Lantern.

The model answers nothing meaningful: it exists to exercise the "bring your
own model" path (WordPiece tokenizer, [CLS]/[SEP]/[PAD], an encoder with an
attention mask) in tests, and to give benchmarks a realistic model cost.

    /usr/bin/python3 scripts/make_bert_model.py --size tiny  --out /tmp/bert_tiny
    /usr/bin/python3 scripts/make_bert_model.py --size small --out /tmp/bert_small

writes into --out:
    model.pt     TorchScript: forward(input_ids int64[B,T], attention_mask
                 int64[B,T]) -> logits float[B, 5]; padding-invariant
    vocab.txt    a synthetic but well-formed WordPiece vocabulary:
                 [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, characters,
                 "##" characters, common English words, then letter pairs
                 and triples (with and without "##") up to the vocab size
    model.json   Lantern spec (tokenizer type "wordpiece", uncased)

Sizes: "tiny" (2 layers, hidden 64, ~1k vocab, ~0.2M parameters) for tests,
"small" (6 layers, hidden 384, 12 heads, 30,522 vocab, ~22.7M parameters,
the shape of a MiniLM-L6 sentence encoder) for benchmarks. Weights come
from a fixed seed. Uses Debian's python3-torch only (no transformers); run
with /usr/bin/python3 so that TorchScript matches libtorch 1.13.
"""

import argparse
import hashlib
import itertools
import json
import math
import os
import statistics
import string
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

SIZES = {
    "tiny": dict(layers=2, hidden=64, heads=4, intermediate=256,
                 vocab_size=1024, max_positions=128, max_tokens=64),
    "small": dict(layers=6, hidden=384, heads=12, intermediate=1536,
                  vocab_size=30522, max_positions=512, max_tokens=128),
}

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD_ID, UNK_ID, CLS_ID, SEP_ID = 0, 1, 2, 3

LABELS = [("none", 0.0), ("low", 0.25), ("medium", 0.5), ("high", 0.75),
          ("critical", 1.0)]

# Everyday chat words, written for this script.
WORDS = """
the a an and or but if so not no yes to of in on at by for with from up down
out over under about after before again once here there when where why how
what who which this that these those i me my mine you your yours he him his
she her hers it its we us our they them their am is are was were be been
being have has had do does did doing will would shall should can could may
might must go goes going went gone come came get got make made take took see
saw look know knew think thought feel felt want need like love hate say said
tell told ask help try call work play game games team match win lose lost
won good bad great fine okay ok sure really very just still even also too
much many more most some any all every each other another same new old
first last next long short big small little high low right left time times
day days night today tonight tomorrow yesterday morning evening week weekend
month year now then soon later never always sometimes often home school
class exam test homework friend friends family mom dad brother sister people
person someone anyone everyone nobody nothing something everything thing
things way life world hand head heart eyes face body mind room house car
phone message chat server channel stream voice video music song movie book
food water coffee sleep tired happy sad angry scared alone lonely okay hurt
pain safe help hope sorry thanks thank please hello hi hey bye lol haha
gg wp raid boss level rank ranked queue lag noob pro clutch carry
""".split()


def build_vocab(size):
    """Specials, characters, "##" characters, words, then letter n-grams."""
    vocab, seen = [], set()

    def add(entry):
        if entry not in seen and len(vocab) < size:
            seen.add(entry)
            vocab.append(entry)

    for entry in SPECIALS:
        add(entry)
    chars = string.ascii_lowercase + string.digits + string.punctuation
    for ch in chars:
        add(ch)
    for ch in string.ascii_lowercase + string.digits:
        add("##" + ch)
    for word in WORDS:
        add(word)
    letters = string.ascii_lowercase
    for n in (2, 3):
        for combo in itertools.product(letters, repeat=n):
            piece = "".join(combo)
            add("##" + piece)
            add(piece)
            if len(vocab) >= size:
                return vocab
    return vocab


class SelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.output = nn.Linear(hidden, hidden)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores + mask_bias, dim=-1)
        context = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, h)
        return self.output(context)


class EncoderLayer(nn.Module):
    def __init__(self, hidden, heads, intermediate):
        super().__init__()
        self.attention = SelfAttention(hidden, heads)
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.ffn_in = nn.Linear(hidden, intermediate)
        self.ffn_out = nn.Linear(intermediate, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        x = self.attention_norm(x + self.attention(x, mask_bias))
        return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))


class BertClassifier(nn.Module):
    """Post-norm BERT encoder, tanh pooler on [CLS], linear classifier."""

    def __init__(self, vocab_size, layers, hidden, heads, intermediate,
                 max_positions, num_labels):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, hidden)
        self.position_embeddings = nn.Embedding(max_positions, hidden)
        self.token_type_embeddings = nn.Embedding(2, hidden)
        self.embedding_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(
            [EncoderLayer(hidden, heads, intermediate) for _ in range(layers)])
        self.pooler = nn.Linear(hidden, hidden)
        self.classifier = nn.Linear(hidden, num_labels)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        t = input_ids.size(1)
        positions = torch.arange(t, dtype=torch.long, device=input_ids.device)
        x = (self.word_embeddings(input_ids)
             + self.position_embeddings(positions).unsqueeze(0)
             + self.token_type_embeddings.weight[0])
        x = self.embedding_norm(x)
        # Padded keys get a large negative bias: exp() makes their attention
        # weight exactly 0, so real positions never see padding.
        mask_bias = (1.0 - attention_mask.to(x.dtype))[:, None, None, :] * -10000.0
        for layer in self.layers:
            x = layer(x, mask_bias)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.classifier(pooled)


def init_weights(model):
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def sample_ids(rng, vocab_size, length):
    body = torch.randint(5, vocab_size, (length - 2,), generator=rng)
    return torch.cat([torch.tensor([CLS_ID]), body, torch.tensor([SEP_ID])])


def padded_batch(sequences, length):
    ids = torch.full((len(sequences), length), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for i, seq in enumerate(sequences):
        ids[i, :len(seq)] = seq
        mask[i, :len(seq)] = 1
    return ids, mask


def check_model(module, vocab_size, max_tokens):
    """Shape and padding invariance of the saved module; returns timings."""
    rng = torch.Generator().manual_seed(7)
    short = sample_ids(rng, vocab_size, 10)
    long = sample_ids(rng, vocab_size, max_tokens)
    with torch.no_grad():
        alone = module(*padded_batch([short], len(short)))
        batched = module(*padded_batch([short, long], max_tokens))
    if tuple(batched.shape) != (2, len(LABELS)):
        sys.exit(f"error: logits have shape {tuple(batched.shape)}, "
                 f"expected (2, {len(LABELS)})")
    diff = (alone[0] - batched[0]).abs().max().item()
    if diff > 1e-4:
        sys.exit(f"error: padding changes the logits by {diff:.2e}")
    ids, mask = padded_batch([sample_ids(rng, vocab_size, max_tokens)], max_tokens)
    times = []
    with torch.no_grad():
        for _ in range(3):  # The profiling executor optimises the first calls.
            module(ids, mask)
        for _ in range(10):
            start = time.perf_counter()
            module(ids, mask)
            times.append(time.perf_counter() - start)
    return diff, statistics.median(times)


def write_spec(path, name, max_tokens, weight, version):
    spec = {
        "name": name,
        "version": version,
        "role": "bert-random",
        "file": "model.pt",
        "tokenizer": {"type": "wordpiece", "model": "vocab.txt",
                      "padId": PAD_ID, "bosId": CLS_ID, "eosId": SEP_ID,
                      "lowercase": True, "unkToken": "[UNK]"},
        "labels": [{"name": n, "risk": r} for n, r in LABELS],
        "maxTokens": max_tokens,
        "weight": weight,
        "handles": 0,
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")


def fix_hash_seed():
    """TorchScript writes module constants in set order, which follows
    Python's per-process string hashing; a fixed seed makes model.pt (and
    so the spec's version) the same on every run."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable] + sys.argv,
                  dict(os.environ, PYTHONHASHSEED="0"))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Output is for tests and benchmarks: the weights are random.")
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--name", help="model name in the spec (default: bert_<size>)")
    parser.add_argument("--weight", type=float, default=0.2,
                        help="ensemble weight in the spec (default 0.2)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for the timing check (default 1)")
    args = parser.parse_args(argv)
    if args.weight <= 0:
        parser.error("--weight must be > 0")

    config = SIZES[args.size]
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    vocab = build_vocab(config["vocab_size"])
    with open(os.path.join(args.out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")

    model = BertClassifier(len(vocab), config["layers"], config["hidden"],
                           config["heads"], config["intermediate"],
                           config["max_positions"], len(LABELS))
    init_weights(model)
    model.eval()
    params = sum(p.numel() for p in model.parameters())

    model_path = os.path.join(args.out, "model.pt")
    torch.jit.save(torch.jit.script(model), model_path)
    start = time.perf_counter()
    loaded = torch.jit.load(model_path)
    loaded.eval()
    load_s = time.perf_counter() - start
    diff, forward_s = check_model(loaded, len(vocab), config["max_tokens"])

    with open(model_path, "rb") as f:
        version = hashlib.sha256(f.read()).hexdigest()[:10]
    name = args.name or f"bert_{args.size}"
    write_spec(os.path.join(args.out, "model.json"), name, config["max_tokens"],
               args.weight, version)

    print(f"{name}: {params:,} parameters ({config['layers']} layers, hidden "
          f"{config['hidden']}, {config['heads']} heads, vocab {len(vocab):,}); "
          f"random weights, seed {args.seed}")
    print(f"  load {load_s * 1000:.0f} ms; forward batch 1 x {config['max_tokens']} "
          f"tokens: {forward_s * 1000:.2f} ms median on {args.threads} thread(s); "
          f"padding changes logits by {diff:.1e}")
    print(f"  wrote {args.out}/model.pt, model.json, vocab.txt; add its folder to "
          f"ensemble.json to serve it")
    return 0


if __name__ == "__main__":
    fix_hash_seed()
    sys.exit(main())
