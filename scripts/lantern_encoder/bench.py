"""--bench: fp32 vs fixed-range int8 speed (one thread) and agreement."""

import os
import time

import torch

from .model import batch_ids, script_encoder
from .quantize import pick_quantized_engine, quantize
from .samples import BENCH_SENTENCES


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


def _roundtrip(module, path):
    torch.jit.save(module, path)
    return torch.jit.load(path).eval()


def run_bench(encoder, tokenizer, out_dir, kept):
    """The speed table, then an int8 encoder saved into out_dir and loaded
    back; kept says out_dir is the user's --out, not a scratch folder."""
    engine = pick_quantized_engine()
    benchmark(encoder, tokenizer, engine)
    qscripted = script_encoder(quantize(
        encoder, [tokenizer.encode(t) for t in BENCH_SENTENCES]))
    path = os.path.join(out_dir, "encoder_int8.pt")
    reloaded = _roundtrip(qscripted, path)
    ids, mask = batch_ids([tokenizer.encode(s) for s in BENCH_SENTENCES])
    with torch.inference_mode():
        same = torch.equal(qscripted(ids, mask), reloaded(ids, mask))
    where = path if kept else "encoder_int8.pt (not kept: no --out)"
    print(f"wrote {where}; save/load gives identical outputs: {same}")
