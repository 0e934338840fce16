#!/usr/bin/python3
"""Writes docs/benchmarks.md from the raw results of scripts/bench.sh.

    /usr/bin/python3 scripts/bench_report.py WORK_DIR OUT_FILE

bench.sh calls it last; `bench.sh --keep` keeps WORK_DIR and `bench.sh
--report-only WORK_DIR` writes the report again from it. WORK_DIR holds:
  machine.json    the machine, the commit and the run settings
  results.jsonl   one JSON object a line, tagged with "config" (and "run"):
                  the output of `lantern bench --json` or `raw_baseline
                  --json`, a server's start-up and memory ("<kind>_server"),
                  how idle the machine was before each section ("idle") and
                  the benchmark time ("elapsed")
  micro.json      tests/bench/micro_bench's Google Benchmark JSON
  status.KIND.RUN[.CONFIG].json  `lantern status` after a run (and after
                  each of its configurations)
  blas.txt, bert_make.log        optional
Every number in the report is a median over runs, of the clean runs when a
configuration has any (see Results.is_clean).
"""
import json
import os
import statistics
import sys
from types import SimpleNamespace

# Configurations in the results table, in order, with their row names.
NAMES = [
    ("raw_direct_c1", "raw model, direct, concurrency 1"),
    ("raw_engine_c1", "raw engine in-process, concurrency 1"),
    ("rpc_unary_c1", "RPC unary, concurrency 1"),
    ("rpc_health_c1", "RPC Health/Check (gRPC's own round trip), concurrency 1"),
    ("raw_direct_c32", "raw model, direct, concurrency 32 (2 threads, batches)"),
    ("raw_engine_c32", "raw engine in-process, concurrency 32"),
    ("rpc_unary_c32", "RPC unary, concurrency 32"),
    ("rpc_health_c32", "RPC Health/Check, concurrency 32"),
    ("rpc_unary_c32_metrics", "RPC unary, concurrency 32, recording metrics (scraped every second)"),
    ("rpc_stream_10k", "RPC one stream, 10,000 messages"),
    ("rpc_stream_10k_people", "RPC one stream, 10,000 messages from 200 people in 8 channels (conversation context)"),
    ("bert_raw_direct_c1", "BERT-shaped: raw model, direct, concurrency 1"),
    ("bert_rpc_unary_c1", "BERT-shaped: RPC unary, concurrency 1"),
    ("bert_raw_direct_c32", "BERT-shaped: raw model, direct, concurrency 32 (2 threads, batches)"),
    ("bert_raw_engine_c32", "BERT-shaped: raw engine in-process, concurrency 32"),
    ("bert_rpc_unary_c32", "BERT-shaped: RPC unary, concurrency 32"),
]


def fmt(v, digits=0, unit=""):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}{unit}"


def ratio(a, b):
    return a / b if a is not None and b else None


def mb(kb):
    return kb * 1024 / 1e6 if kb is not None else None


def status_max(value, limit, unit, digits=0):
    if value is None:
        return "not measured"
    if value <= limit:
        return f"**met** ({fmt(limit - value, digits, unit)} to spare)"
    return f"**missed** by {fmt(value - limit, digits, unit)}"


def status_min(value, limit, unit, digits=0):
    if value is None:
        return "not measured"
    if value >= limit:
        return f"**met** ({fmt(value - limit, digits, unit)} above)"
    return f"**missed** by {fmt(limit - value, digits, unit)}"


def describe(status):
    """One line of what GetStatus said about the server."""
    if not status:
        return "(GetStatus not available)"
    models = ", ".join(f"{m.get('name')} v{m.get('version')} ({m.get('handles')} handles)" for m in status.get("models", []))
    cache = status.get("cache", {})
    parts = [f"version {status.get('version', '?')}",
             f"worker_threads {status.get('worker_threads', '?')}",
             f"torch_threads {status.get('torch_threads', '?')}",
             f"models: {models}"]
    if cache:
        parts.append(f"result cache capacity {cache.get('capacity', '0')}")
    return "; ".join(parts)


def counters(path):
    """Per model: (inferences, batches, queue_time_us, compute_time_us)."""
    try:
        st = json.load(open(path))
    except (OSError, ValueError):
        return None
    # `lantern status` prints proto field names, 64-bit integers as strings.
    return {m.get("name"): tuple(int(m.get(k, 0)) for k in ("inferences", "batches", "queue_time_us", "compute_time_us"))
            for m in st.get("models", [])}


class Results:
    """The contents of WORK_DIR, and medians over the runs in it."""

    def __init__(self, work):
        self.work = work
        self.machine = json.load(open(os.path.join(work, "machine.json")))
        blas = os.path.join(work, "blas.txt")
        self.blas = open(blas).read().strip() if os.path.exists(blas) else "unknown"
        self.rows = [json.loads(l) for l in open(os.path.join(work, "results.jsonl")) if l.strip()]
        self.micro = json.load(open(os.path.join(work, "micro.json")))

    def is_clean(self, r):
        """At most machine["other_limit"] cores of other load (tools), or as
        recorded ("clean", the server's start-up rows)."""
        if r.get("other_cores") is not None:
            return r["other_cores"] <= float(self.machine["other_limit"])
        return r.get("clean", True)

    def all_runs(self, config):
        return [r for r in self.rows if r.get("config") == config and "error" not in r]

    def runs(self, config):
        """Clean runs when there are any, else every run."""
        everything = self.all_runs(config)
        clean = [r for r in everything if self.is_clean(r)]
        return clean if clean else everything

    def run_count(self, config):
        everything = self.all_runs(config)
        clean = sum(1 for r in everything if self.is_clean(r))
        return f"{clean}/{len(everything)}" if clean == len(everything) else f"**{clean}/{len(everything)}**"

    def med(self, config, *path):
        vals = []
        for r in self.runs(config):
            v = r
            for p in path:
                v = v.get(p) if isinstance(v, dict) else None
            if isinstance(v, (int, float)):
                vals.append(v)
        return statistics.median(vals) if vals else None

    def total_errors(self, config):
        return sum(sum(r.get("errors", {}).values()) + r.get("unanswered", 0) for r in self.runs(config))

    def reliable(self, status, *configs):
        """Qualifies a met/missed verdict when a config had no clean run."""
        unclean = [c for c in configs if self.all_runs(c) and not any(self.is_clean(r) for r in self.all_runs(c))]
        loads = [x for x in (self.med(c, "other_cores") for c in unclean) if x is not None]
        if not loads and not unclean:
            return status
        worst = f"{max(loads):.1f} cores of " if loads else ""
        return f"{status}; **not reliable**: no clean run, measured under {worst}background load"

    def load_status(self, kind, run):
        path = os.path.join(self.work, f"status.{kind}.{run}.json")
        try:
            return json.load(open(path))
        except (OSError, ValueError):
            return {}

    def cache_line(self, kind, nruns):
        hits = misses = 0
        for run in range(1, nruns + 1):
            c = self.load_status(kind, run).get("cache", {})
            hits += int(c.get("hits", 0))
            misses += int(c.get("misses", 0))
        if hits + misses == 0:
            return "no result cache reported"
        return f"result cache over all runs: {hits:,} hits, {misses:,} misses ({100 * hits / (hits + misses):.2f}% hits)"

    def headline(self):
        """The medians the targets and the explanations use."""
        med = self.med
        return SimpleNamespace(
            d1=med("raw_direct_c1", "latency_us", "p50"),
            e1=med("raw_engine_c1", "latency_us", "p50"),
            r1=med("rpc_unary_c1", "latency_us", "p50"),
            h1=med("rpc_health_c1", "latency_us", "p50"),
            d32=med("raw_direct_c32", "throughput"),
            r32=med("rpc_unary_c32", "throughput"),
            s10k=med("rpc_stream_10k", "throughput"),
            first=med("rpc_unary_c1", "first_us"),
            after_pause=med("rpc_unary_c1", "after_pause_us"),
            health_pause=med("rpc_health_c1", "after_pause_us"),
            pause_ms=med("rpc_unary_c1", "pause_ms"),
            start_ms=med("default_server", "launch_to_serving_ms"),
            log_ms=med("default_server", "server_log_ms"),
            health_ms=med("default_server", "health_call_ms"),
            rss=med("default_server", "rss_kb"),
            hwm=med("default_server", "hwm_kb"),
            rss_idle=med("default_server", "rss_idle_kb"),
            bd32=med("bert_raw_direct_c32", "throughput"),
            br32=med("bert_rpc_unary_c32", "throughput"),
        )


def write_introduction(res, w):
    machine = res.machine
    w("# Benchmarks")
    w("")
    w("Written by `scripts/bench.sh` (issues 4 and 9); do not edit by hand, run the script again. Every number is")
    w(f"the median of {machine['runs']} runs (BERT-shaped model: {machine['bert_runs']}) on this machine, server and load")
    w("generator on loopback. Latencies in µs; throughput in messages per second.")
    w("")


def write_machine(res, w):
    machine = res.machine
    w("## Machine and configuration")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| machine | {machine['nproc']} CPUs, {machine['cpu']}, {machine['mem_kb'] / 1048576:.1f} GiB RAM, Linux {machine['kernel']} |")
    w(f"| BLAS | `{res.blas}` |")
    w(f"| date | {machine['date']} |")
    w(f"| commit | {machine['commit']} |")
    w(f"| server | `lantern-server` with its defaults and a copy of `models/default` taken when the run started; GetStatus says: {describe(res.load_status('default', 1))} |")
    w(f"| messages | the built-in mix of `lantern bench` (short everyday chat to long messages, a few distressed and crisis lines), every message made distinct with an @handle so that a result cache cannot answer it: {res.cache_line('default', machine['runs'])} |")
    w(f"| load | `lantern bench` (gRPC callback API, one channel): {machine['duration']} s recorded after {machine['warmup']} s warm-up; the stream run sends 10,000 messages with a window of 32 |")
    w(f"| raw baseline | `raw_baseline --driver direct`: the models alone, no engine: tokenize, pad, one Forward per model, softmax and risk; min(concurrency, 2) threads with their own warm handles, each running batches of min({machine['max_batch']}, concurrency / threads) messages padded as the server's batcher pads (so concurrency 1 is unbatched); text normalised before the clock starts. `--driver engine`: `core::Engine` in-process with the server's batching (max batch {machine['max_batch']}, delay {machine['batch_delay_us']} µs), `Submit()` from N threads |")
    bert_log = os.path.join(res.work, "bert_make.log")
    if res.all_runs("bert_server") and os.path.exists(bert_log):
        first_line = open(bert_log).readline().strip()
        w(f"| BERT-shaped model | `scripts/make_bert_model.py --size small`: {first_line}; served alone from a temporary model directory. GetStatus: {describe(res.load_status('bert', 1))}; {res.cache_line('bert', machine['bert_runs'])} |")
    idle = [r for r in res.rows if r.get("config") == "idle"]
    w("| machine idle before each section | " + ", ".join(f"{r['section']} {r['idle_pct']}% (load {r['loadavg']})" for r in idle) + " |")
    elapsed = [r for r in res.rows if r.get("config") == "elapsed"]
    if elapsed:
        w(f"| benchmark time | {elapsed[0]['seconds']} s (without the build) |")
    w("")


def write_speed_targets(res, h, w):
    """The latency and throughput rows of the targets table."""
    reliable = res.reliable
    overhead = h.r1 - h.d1 if h.r1 is not None and h.d1 is not None else None
    w(f"| typical chat message at concurrency 1: client p50 (issue 9) | ≤ 5 ms | {fmt(h.r1)} µs | {reliable(status_max(h.r1, 5000, ' µs'), 'rpc_unary_c1')} |")
    w(f"| saturated throughput, concurrency 32 (issue 9) | ≥ 1,000 msg/s | {fmt(h.r32)} msg/s | {reliable(status_min(h.r32, 1000, ' msg/s'), 'rpc_unary_c32')} |")
    w(f"| serving overhead at concurrency 1: client p50 − raw-model p50 | ≤ 150 µs | {fmt(overhead)} µs ({fmt(h.r1)} − {fmt(h.d1)}) | {reliable(status_max(overhead, 150, ' µs'), 'raw_direct_c1', 'rpc_unary_c1')} |")
    tr = ratio(h.r32, h.d32)
    errs32 = res.total_errors("rpc_unary_c32")
    w(f"| saturated throughput, concurrency 32, vs raw model | ≥ 85%, no errors | {fmt(tr and 100 * tr, 1)}% ({fmt(h.r32)} / {fmt(h.d32)} msg/s), {errs32} errors | {reliable(status_min(tr and 100 * tr, 85, ' points', 1) if errs32 == 0 else '**missed** (errors)', 'raw_direct_c32', 'rpc_unary_c32')} |")
    btr = ratio(h.br32, h.bd32)
    w(f"| BERT-shaped model: end-to-end throughput vs its raw baseline | ≥ 95% | {fmt(btr and 100 * btr, 1)}% ({fmt(h.br32, 1)} / {fmt(h.bd32, 1)} msg/s) | {reliable(status_min(btr and 100 * btr, 95, ' points', 1), 'bert_raw_direct_c32', 'bert_rpc_unary_c32')} |")
    sr = ratio(h.s10k, h.r32)
    errs_s = res.total_errors("rpc_stream_10k")
    w(f"| one stream of 10,000 messages vs saturated unary | ≥ 80%, every message answered | {fmt(sr and 100 * sr, 1)}% ({fmt(h.s10k)} / {fmt(h.r32)} msg/s), {errs_s} errors or unanswered | {reliable(status_min(sr and 100 * sr, 80, ' points', 1) if errs_s == 0 else '**missed** (unanswered)', 'rpc_stream_10k', 'rpc_unary_c32')} |")
    c10k = res.med("rpc_stream_10k", "server_cpu_us_per_message")
    c10kp = res.med("rpc_stream_10k_people", "server_cpu_us_per_message")
    cr = ratio(c10kp, c10k)
    w(f"| conversation context (issue 11): server CPU per message, one stream from 200 people vs without user ids | ≤ +5% | {fmt(cr and 100 * (cr - 1), 1)}% ({fmt(c10kp, 1)} / {fmt(c10k, 1)} µs) | {reliable(status_max(cr and 100 * (cr - 1), 5, ' points', 1), 'rpc_stream_10k', 'rpc_stream_10k_people')} |")
    m32 = res.med("rpc_unary_c32_metrics", "throughput")
    mr = ratio(m32, h.r32)
    mcost = mr and 100 * (1 - mr)
    w(f"| metrics (issue 12): saturated throughput lost to recording, concurrency 32, launches alternated | ≤ 2% | {fmt(mcost, 1)}% ({fmt(m32)} / {fmt(h.r32)} msg/s) | {reliable(status_max(mcost, 2, ' points', 1), 'rpc_unary_c32', 'rpc_unary_c32_metrics')} |")


def write_startup_targets(res, h, w):
    """The first-request, start-up and memory rows of the targets table."""
    fr = ratio(h.first, h.r1)
    first_status = status_max(fr, 1.2, '×', 2) if fr is None or fr <= 1.2 else f"**missed**: {fr / 1.2:.1f}× the allowed ratio"
    fp = ratio(h.first, h.after_pause)
    pause_note = f"; against any request sent after {fmt(h.pause_ms)} ms with no traffic ({fmt(h.after_pause)} µs): {fmt(fp, 2)}×" if fp is not None else ""
    w(f"| first request after SERVING vs warm p50 | ≤ 1.2× | {fmt(fr, 2)}× ({fmt(h.first)} / {fmt(h.r1)} µs){pause_note} | {res.reliable(first_status, 'rpc_unary_c1')} |")
    w(f"| start to SERVING (launch to health SERVING, polled every 5 ms) | ≤ 3 s | {fmt(h.start_ms)} ms (server's own count from its creation: {fmt(h.log_ms)} ms; one health call takes {fmt(h.health_ms)} ms) | {res.reliable(status_max(h.start_ms, 3000, ' ms'), 'default_server')} |")
    w(f"| resident memory with the defaults (peak; issue 9: ≤ 600 MB with the encoder) | ≤ 600 MB | VmHWM {fmt(mb(h.hwm))} MB; VmRSS {fmt(mb(h.rss))} MB after the runs, {fmt(mb(h.rss_idle))} MB when SERVING before any traffic | {status_max(mb(h.hwm), 600, ' MB')} |")


def write_targets(res, h, w):
    w("## Targets")
    w("")
    w("| target | goal | measured | status |")
    w("|---|---|---|---|")
    write_speed_targets(res, h, w)
    write_startup_targets(res, h, w)
    w("")


def write_results(res, h, w):
    med = res.med
    w("## Results")
    w("")
    w("| configuration | clean runs | throughput | p50 | p90 | p99 | max | first | after pause | errors | CPU µs/msg (this process) | server CPU µs/msg | server cores | other load (cores) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, name in NAMES:
        if not res.runs(key):
            continue
        w(f"| {name} | {res.run_count(key)} | {fmt(med(key, 'throughput'), 1)} | {fmt(med(key, 'latency_us', 'p50'))} | {fmt(med(key, 'latency_us', 'p90'))} | "
          f"{fmt(med(key, 'latency_us', 'p99'))} | {fmt(med(key, 'latency_us', 'max'))} | {fmt(med(key, 'first_us'))} | {fmt(med(key, 'after_pause_us'))} | {res.total_errors(key)} | "
          f"{fmt(med(key, 'cpu_us_per_message'), 1)} | {fmt(med(key, 'server_cpu_us_per_message'), 1)} | {fmt(med(key, 'server_cpu_cores'), 2)} | {fmt(med(key, 'other_cores'), 2)} |")
    if not res.runs("bert_rpc_unary_c32"):
        w("")
        w("**TODO (BERT-shaped model):** not measured in this run (no `scripts/make_bert_model.py`, `--no-bert`, or it failed).")
    w("")
    w("For the raw rows, *CPU µs/msg (this process)* is the whole process (model included); for the RPC rows it is")
    w("the load generator alone, and the server's CPU time is in the next column (from `/proc/PID/stat`, 10 ms ticks).")
    w(f"*Other load* is CPU taken by processes outside the benchmark during the measurement; a run with more than {res.machine['other_limit']} cores")
    w("of it is not clean: medians use clean runs only, and a **bold** count means none or not all were clean.")
    w("*First* is the first call on a new connection (for the server rows, the server's first Analyze after SERVING); *after pause*")
    w(f"is the median of single calls each sent after {fmt(h.pause_ms)} ms with no traffic, before the run (`lantern bench --pause-probes`).")
    w("")


def write_where_time_goes(res, h, w):
    d1, e1, r1, h1 = h.d1, h.e1, h.r1, h.h1
    w("## Where the time goes (concurrency 1, p50)")
    w("")
    w("| step | µs | share of the RPC p50 |")
    w("|---|---:|---:|")
    if None not in (d1, e1, r1) and r1:
        w(f"| the models (tokenize, Forward on each model, scoring) | {fmt(d1)} | {100 * d1 / r1:.0f}% |")
        w(f"| the engine around them (validation, normalisation, result cache lookup, hand-off to the batchers and their runner threads, combining) | {fmt(e1 - d1)} | {100 * (e1 - d1) / r1:.0f}% |")
        if h1 is not None:
            w(f"| gRPC's own round trip, both sides and the network stack (a Health/Check call: {fmt(h1)} µs) | {fmt(h1)} | {100 * h1 / r1:.0f}% |")
            w(f"| the rest, between the engine and the RPC: on this VM mostly thread wake-ups and caches cooled while vCPUs halt (docs/performance.md), and Analyze's larger messages | {fmt(r1 - e1 - h1)} | {100 * (r1 - e1 - h1) / r1:.0f}% |")
        else:
            w(f"| gRPC, proto conversion and the network stack, both sides | {fmt(r1 - e1)} | {100 * (r1 - e1) / r1:.0f}% |")
    if None not in (h.first, h.after_pause, r1) and h.health_pause is not None and h1:
        w("")
        w(f"The first request ({fmt(h.first)} µs) costs about what any request costs after {fmt(h.pause_ms)} ms without traffic "
          f"({fmt(h.after_pause)} µs): the server has no cold start of its own left, but on this machine a quiet pause makes the next "
          f"call slower, gRPC's cheapest call included (Health/Check: {fmt(h.health_pause)} µs after a pause against {fmt(h1)} µs back to back).")
    write_cpu_budget(res, h, w)
    w("")


def write_cpu_budget(res, h, w):
    """CPU per message at concurrency 32, against what the 85% target allows."""
    dcpu = res.med("raw_direct_c32", "cpu_us_per_message")
    scpu = res.med("rpc_unary_c32", "server_cpu_us_per_message")
    ccpu = res.med("rpc_unary_c32", "cpu_us_per_message")
    hcpu = res.med("rpc_health_c32", "server_cpu_us_per_message")
    hccpu = res.med("rpc_health_c32", "cpu_us_per_message")
    if not (dcpu and scpu):
        return
    nproc = res.machine["nproc"]
    w("")
    w(f"CPU per message at concurrency 32: the server spends {fmt(scpu, 1)} µs against {fmt(dcpu, 1)} µs for the raw model "
      f"({scpu / dcpu:.2f}×); the load generator adds {fmt(ccpu, 1)} µs on the same two cores.")
    if h.d32 and ccpu is not None:
        goal = 0.85 * h.d32
        budget = nproc * 1e6 / goal
        left = budget - ccpu - dcpu
        w(f"The 85% target means {fmt(goal)} msg/s, so {fmt(budget)} µs of CPU per message on {nproc} CPUs for everything: "
          f"after the load generator ({fmt(ccpu)} µs) and the models at the raw baseline's cost ({fmt(dcpu)} µs), "
          f"{fmt(left)} µs would be left for all the server does besides the models"
          + (f". gRPC's cheapest call at the same concurrency, Health/Check, costs {fmt(hcpu)} µs of server CPU"
             f" and {fmt(hccpu)} µs of the load generator's." if hcpu and hccpu is not None else "."))


def batch_rows(res):
    """(config, model, rows per pass, µs per pass, µs queued per message):
    medians over runs of each configuration's share of the GetStatus
    counters (the difference to the configuration before it)."""
    out = []
    for kind, configs, nruns in (("default", ["rpc_unary_c1", "rpc_unary_c32", "rpc_stream_10k"], res.machine["runs"]),
                                 ("bert", ["bert_rpc_unary_c1", "bert_rpc_unary_c32"], res.machine["bert_runs"])):
        for idx, config in enumerate(configs):
            sizes, waits, passes = {}, {}, {}
            for run in range(1, nruns + 1):
                after = counters(os.path.join(res.work, f"status.{kind}.{run}.{config}.json"))
                before = counters(os.path.join(res.work, f"status.{kind}.{run}.{configs[idx - 1]}.json")) if idx > 0 else {}
                if not after or before is None:
                    continue
                for model, now in after.items():
                    rows_n, batches_n, queue_us, compute_us = (
                        a - b for a, b in zip(now, before.get(model, (0, 0, 0, 0))))
                    if batches_n > 0:
                        sizes.setdefault(model, []).append(rows_n / batches_n)
                        passes.setdefault(model, []).append(compute_us / batches_n)
                        waits.setdefault(model, []).append(queue_us / rows_n)
            for m, v in sizes.items():
                out.append((config, m, statistics.median(v), statistics.median(passes[m]), statistics.median(waits[m])))
    return out


def write_batching(res, w):
    rows = batch_rows(res)
    if not rows:
        return
    w("Forward passes in the server, from GetStatus counters (medians over runs of the per-run means):")
    w("")
    w(f"| configuration | model | rows per pass (at most {res.machine['max_batch']}) | µs per pass | µs a message waited in the model's queue |")
    w("|---|---|---:|---:|---:|")
    for config, model, rows_per, pass_us, wait_us in rows:
        w(f"| {dict(NAMES).get(config, config)} | {model} | {rows_per:.2f} | {pass_us:,.0f} | {wait_us:,.0f} |")
    w("")


def write_micro(res, w):
    w("## Micro-benchmarks")
    w("")
    w("`tests/bench/micro_bench`, median of 3 repetitions; one message per iteration, except Forward, which runs a batch of `batchN` rows (last column: per row).")
    w("")
    w("| benchmark | wall ns | CPU ns | wall ns per message |")
    w("|---|---:|---:|---:|")
    for b in res.micro.get("benchmarks", []):
        if b.get("aggregate_name") != "median":
            continue
        rows_per_iter = b.get("rows", 1) or 1
        w(f"| {b['run_name']} | {b['real_time']:,.0f} | {b['cpu_time']:,.0f} | {b['real_time'] / rows_per_iter:,.0f} |")
    w("")


def write_reproduce(w):
    w("## Reproduce")
    w("")
    w("```sh")
    w("bash scripts/bench.sh                      # everything (about 6 minutes), rewrites this file")
    w("build/client/lantern bench --concurrency 32 --server-pid $(pidof lantern-server)")
    w("build/client/lantern bench --mode stream --count 10000")
    w("build/client/lantern bench --rate 500 --duration 10         # open loop, Poisson arrivals")
    w("build/tests/bench/raw_baseline --model-dir models/default --driver direct")
    w("```")


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: bench_report.py WORK_DIR OUT_FILE")
    work, out = argv[1], argv[2]
    res = Results(work)
    h = res.headline()
    lines = []
    w = lines.append
    write_introduction(res, w)
    write_machine(res, w)
    write_targets(res, h, w)
    write_results(res, h, w)
    write_where_time_goes(res, h, w)
    write_batching(res, w)
    write_micro(res, w)
    write_reproduce(w)
    open(out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv)
