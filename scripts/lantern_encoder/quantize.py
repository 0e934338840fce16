"""int8 quantization of the encoder on input ranges fixed at calibration.

quantize() turns every nn.Linear into a FixedRangeInt8Linear whose input
range comes from real text (calibrate_bounds), so a message's result never
depends on what shares its batch. Set the engine first
(pick_quantized_engine).
"""

import collections
import copy

import torch
from torch import nn

from .model import batch_ids

# FixedRangeInt8Linear's input bound: this times the largest |input| seen
# while calibrating, so text a little outside the calibration set is
# rarely clamped.
CALIBRATION_MARGIN = 1.1


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
