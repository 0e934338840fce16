"""The model as TorchScript: (input_ids, attention_mask) -> logits, traced
and checked on other shapes and for padding invariance."""

import inspect

from .errors import Refusal


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
        _check_traced(torch, wrapper, traced, batch, pad_id, max_tokens)
    return traced


def _check_traced(torch, wrapper, traced, batch, pad_id, max_tokens):
    """Refuses a trace that differs from the model at shapes other than the
    traced one, that changes with right-padding, or that is not [B, labels].
    batch(lengths, width) makes random right-padded (ids, mask)."""
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
