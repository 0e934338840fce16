"""--check: the port against the package's own JavaScript runtime.

The fixture (tests/data/encoder_reference.jsonl, made by
scripts/make_encoder_reference.mjs) holds {text, ids, embedding} per line:
UseTokenizer's ids must equal the JS ids, and embeddings computed from the
JS ids must be within TOLERANCE (max abs difference), in one padded batch
and one by one. Padding and batching must not change outputs either.
"""

import torch

from .model import batch_ids
from .samples import BENCH_SENTENCES, read_jsonl

TOLERANCE = 1e-5


def check_fixture(encoder, tokenizer, fixture_path):
    """Compares ids and embeddings with the JS reference; returns failures."""
    cases = read_jsonl(fixture_path)
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


def run_check(encoder_path, tokenizer, fixture_path):
    """Loads the saved encoder, runs both checks, prints every mismatch and
    a verdict; returns True when everything matched."""
    reloaded = torch.jit.load(encoder_path).eval()
    failures, worst = check_fixture(reloaded, tokenizer, fixture_path)
    drift = check_invariance(reloaded, tokenizer)
    print(f"padding/batch invariance: max abs difference {drift:.3g}")
    if drift > TOLERANCE:
        failures.append(f"padding/batching changes outputs by {drift:.3g}")
    for failure in failures:
        print("MISMATCH: " + failure)
    print(f"check: {'FAILED' if failures else 'passed'} "
          f"(max embedding difference {worst:.3g}, tolerance {TOLERANCE})")
    return not failures
