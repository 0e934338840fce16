#!/usr/bin/python3
"""Hostile clients against the real lantern-server binary.

Each scenario starts its own server (127.0.0.1, port 0), misbehaves at it in
one specific way, samples the server's memory from /proc and checks what the
hardening issue asks for. One JSON line per scenario goes to stdout; a
readable table goes to stderr at the end. The exit code is 1 when any
scenario's assertion failed, 2 on a usage or start-up error.

    /usr/bin/python3 tests/hardening/hostile_clients.py \
        --server build/server/lantern-server --models models/default \
        [--scenario bad_frame --scenario bad_unary ...] [--server-arg=--threads=2]

Scenarios: bad_frame, bad_unary, nonreading_streams, oversized, expansion,
sigterm_under_load (see each function's docstring). No message text is ever
printed: only codes, counts, sequence numbers, sizes, timings and memory.
"""

import argparse
import json
import os
import queue
import random
import re
import sys
import tempfile
import threading
import time
import traceback

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  pylint: disable=wrong-import-position
import sigterm_load  # noqa: E402  pylint: disable=wrong-import-position
from harness import (Analyzer, RssSampler, ServerProcess, chat_text, median_ms,  # noqa: E402
                     open_channel, padded_text, rpc_outcome)


# --------------------------------------------------------------------------
# Running a scenario against a fresh server
# --------------------------------------------------------------------------

class Env:
    """What every scenario gets: parsed options, the protos, a log folder."""

    def __init__(self, args, protos):
        self.args = args
        self.protos = protos
        self.log_dir = args.log_dir or tempfile.mkdtemp(prefix="lantern-hostile-")
        os.makedirs(self.log_dir, exist_ok=True)

    def new_server(self, label, extra_args=()):
        """A ServerProcess (not started) with --server-arg values and extra_args."""
        return ServerProcess(self.args.server, self.args.models,
                             list(self.args.server_arg) + list(extra_args),
                             log_dir=self.log_dir, name=label)

    def api(self, server, private=True):
        return Analyzer(open_channel(server.target, private), self.protos)


def with_server(env, label, body, sample_s=0.5):
    """Starts a server, runs body(server, api, sampler), then checks and stops it.

    body returns a dict of results, optionally with "failures" (list of
    strings) and "summary" (list of strings for the table). Added here: the
    memory figures, a normal Analyze after the body (the server must still
    answer it), whether the server survived, the RSS bound, and the exit code
    of a clean SIGTERM stop.
    """
    server = env.new_server(label).start()
    try:
        return checked_run(env, server, body, sample_s)
    finally:
        server.kill()  # Only if a tool error left it running.


def checked_run(env, server, body, sample_s):
    """with_server's work once the server is up."""
    api = env.api(server)
    sampler = RssSampler(server.pid, sample_s).start()
    baseline = server.memory()["rss_mb"]
    result = body(server, api, sampler)
    failures = result.setdefault("failures", [])
    if server.alive():
        code, details, _, secs = rpc_outcome(api.analyze, api.analyze_request(chat_text(0)),
                                             timeout=10)
        result["analyze_after"] = {"code": code, "ms": round(secs * 1000, 1)}
        if code != "OK":
            failures.append("a normal Analyze after the scenario got %s (%s)" % (code, details))
    sampler.stop()
    result["rss"] = {"baseline_mb": baseline, "peak_mb": sampler.peak_mb,
                     "hwm_mb": sampler.hwm_mb}
    check_rss_bound(env, result)
    if not server.alive():
        result["server_exit"] = harness.describe_exit(server.proc.returncode)
        result["server_log_tail"] = server.log_tail()
        failures.append("server died: exit %s (log: %s)" % (result["server_exit"], server.log_path))
    else:
        result["server_exit"] = harness.describe_exit(server.stop())
    api.channel.close()
    return result


def check_rss_bound(env, result):
    """Fails the scenario when the server's peak RSS (VmHWM) passed --max-rss-mb."""
    peak = max(result["rss"]["peak_mb"], result["rss"]["hwm_mb"])
    if peak > env.args.max_rss_mb:
        result["failures"].append("peak RSS %.0f MB > --max-rss-mb %d" % (peak, env.args.max_rss_mb))


# --------------------------------------------------------------------------
# Frames that do not parse
# --------------------------------------------------------------------------

def fails_to_parse(message_cls, data):
    try:
        message_cls.FromString(data)
        return False
    except Exception:  # pylint: disable=broad-except  (DecodeError or RuntimeWarning)
        return True


def random_garbage(message_cls, seed=7, size=64):
    """Seeded random bytes that message_cls (Python's parser) rejects."""
    rng = random.Random(seed)
    while True:
        data = bytes(rng.getrandbits(8) for _ in range(size))
        if fails_to_parse(message_cls, data):
            return data


def deep_groups(depth, field=20):
    """An unknown field `field` holding groups nested `depth` levels deep.

    The request messages have no recursive field, so nesting comes from
    unknown-field groups (wire types 3/4); protobuf's parser refuses nesting
    past its recursion limit (100).
    """
    return harness.varint(field << 3 | 3) * depth + harness.varint(field << 3 | 4) * depth


def bad_payloads(message_cls, valid_bytes):
    """name -> bytes that are not a valid message_cls, each checked with Python's parser."""
    payloads = {
        "random": random_garbage(message_cls),
        "truncated": valid_bytes[:-10],
        "deep_groups_200": deep_groups(200),
    }
    for name, data in payloads.items():
        assert fails_to_parse(message_cls, data), name
    return payloads


def long_ordinary_text(n):
    """A valid request text of about n characters (ordinary chat)."""
    return padded_text(" ".join(harness.CHAT_LINES) + " ", n, 0)


# --------------------------------------------------------------------------
# bad_frame
# --------------------------------------------------------------------------

def stream_with_bad_frame(api, frame, timeout_s):
    """3 valid messages, wait for their answers, then frame, then 3 more valid.

    Returns the answered sequence numbers and the stream's final status.
    """
    good = [api.stream_request(chat_text(i), "bf%d" % i).SerializeToString() for i in range(6)]
    outbox = queue.Queue()
    for data in good[:3]:
        outbox.put(data)
    call = api.stream_raw(iter(outbox.get, None), timeout=timeout_s)
    answered, errors = [], []
    code, details = "OK", ""
    try:
        for response in call:
            answered.append(response.sequence)
            if response.WhichOneof("result") == "error":
                errors.append({"sequence": response.sequence, "code": response.error.code})
            if len(answered) == 3:
                for data in [frame] + good[3:]:
                    outbox.put(data)
                outbox.put(None)  # Half-close after the last one.
        code, details = harness.code_name(call.code()), call.details() or ""
    except grpc.RpcError as err:
        code, details = harness.code_name(err.code()), err.details() or ""
    finally:
        outbox.put(None)
    return {"answered": answered, "message_errors": errors, "code": code, "details": details}


def judge_bad_frame(name, got):
    """Expected: sequences 0-2 answered, then INVALID_ARGUMENT naming sequence 3."""
    failures = []
    if got["code"] == "OK":
        failures.append("%s: stream ended OK after a frame that does not parse" % name)
    elif got["code"] != "INVALID_ARGUMENT":
        failures.append("%s: stream ended %s, expected INVALID_ARGUMENT" % (name, got["code"]))
    elif not re.search(r"\b3\b", got["details"]):
        failures.append("%s: INVALID_ARGUMENT message does not name sequence 3" % name)
    if sorted(got["answered"]) != [0, 1, 2]:
        failures.append("%s: answered sequences %s, expected [0, 1, 2]" % (name, got["answered"]))
    return failures


def scenario_bad_frame(env):
    """A StreamAnalyze stream with one frame that is not a StreamAnalyzeRequest.

    Variants: random bytes, a truncated valid frame, unknown groups nested 200
    deep. Each: 3 valid messages (answered first), the bad frame, 3 more
    valid ones, half-close. Expected: answers for 0-2 only, then the stream
    ends INVALID_ARGUMENT with a message naming sequence 3; never OK.
    """
    def body(server, api, sampler):
        cls = env.protos.analyzer.StreamAnalyzeRequest
        valid = api.stream_request(long_ordinary_text(100), "x").SerializeToString()
        out = {"variants": {}, "failures": [], "summary": []}
        for name, frame in bad_payloads(cls, valid).items():
            got = stream_with_bad_frame(api, frame, timeout_s=15)
            got["frame_bytes"] = len(frame)
            out["variants"][name] = got
            out["failures"] += judge_bad_frame(name, got)
            out["summary"].append("%s: answered %s, ended %s %r" % (
                name, got["answered"], got["code"], got["details"][:70]))
        return out
    return with_server(env, "bad_frame", body)


# --------------------------------------------------------------------------
# bad_unary
# --------------------------------------------------------------------------

def scenario_bad_unary(env):
    """Analyze with request bytes that do not parse (same three variants).

    Expected: INVALID_ARGUMENT with a non-empty message.
    """
    def body(server, api, sampler):
        cls = env.protos.analyzer.AnalyzeRequest
        valid = api.analyze_request(long_ordinary_text(100), "x").SerializeToString()
        out = {"variants": {}, "failures": [], "summary": []}
        for name, frame in bad_payloads(cls, valid).items():
            code, details, _, secs = rpc_outcome(api.analyze_raw, frame, timeout=10)
            out["variants"][name] = {"code": code, "details": details, "frame_bytes": len(frame),
                                     "ms": round(secs * 1000, 1)}
            if code != "INVALID_ARGUMENT":
                out["failures"].append("%s: got %s, expected INVALID_ARGUMENT" % (name, code))
            elif not details:
                out["failures"].append("%s: INVALID_ARGUMENT with an empty message" % name)
            out["summary"].append("%s: %s %r" % (name, code, details[:70]))
        return out
    return with_server(env, "bad_unary", body)


# --------------------------------------------------------------------------
# nonreading_streams
# --------------------------------------------------------------------------

class Flood:
    """A request iterator that never ends: valid frames whose text is
    message_bytes bytes of UTF-8, distinct per frame, as fast as gRPC takes
    them (gRPC Python sends the next only when the last is sent, so HTTP/2
    flow control sets the pace). `handed` counts frames given out."""

    def __init__(self, api, stream_no, message_bytes, max_chars):
        self.api = api
        self.stream_no = stream_no
        self.message_bytes = message_bytes
        self.max_chars = max_chars
        self.handed = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.handed += 1
        text = harness.text_of_bytes(self.message_bytes, "%d/%d" % (self.stream_no, self.handed),
                                     self.max_chars)
        return self.api.stream_request(text, "s%d-%d" % (self.stream_no, self.handed)
                                       ).SerializeToString()


def probe_latency(api, stop, every_s, out):
    """Every every_s, one normal Analyze; appends (code, client ms, server ms) to out.

    The server's own figure (Analysis.processing_time_us, arrival to verdict)
    tells server-side delay apart from this Python client's own contention.
    """
    i = 1000
    while not stop.wait(every_s):
        i += 1
        code, _, response, secs = rpc_outcome(api.analyze, api.analyze_request(chat_text(i)),
                                              timeout=10)
        server_ms = response.analysis.processing_time_us / 1000.0 if response else None
        out.append((code, round(secs * 1000, 1), server_ms))


def server_max_chars(env):
    """The server's --max-message-chars: from --server-arg if given, else 4096."""
    value = 4096
    args = list(env.args.server_arg)
    for n, arg in enumerate(args):
        if arg.startswith("--max-message-chars="):
            value = int(arg.split("=", 1)[1])
        elif arg == "--max-message-chars" and n + 1 < len(args):
            value = int(args[n + 1])
    return value


def open_floods(env, server, n_streams, n_connections, message_bytes):
    """Opens n_streams never-reading streams spread over n_connections."""
    apis = [env.api(server) for _ in range(n_connections)]
    max_chars = server_max_chars(env)
    floods, calls = [], []
    for i in range(n_streams):
        api = apis[i % n_connections]
        flood = Flood(api, i, message_bytes, max_chars)
        floods.append(flood)
        calls.append(api.stream_raw(flood))  # Responses are never read.
    return apis, floods, calls


def status_dict(status):
    """The GetStatus fields this scenario records."""
    return {"active_streams": status.active_streams, "queue_depth": status.queue_depth,
            "errors": dict(status.errors)}


def poll_status(server, api, stop, every_s, out, timeout_s=15):
    """every_s after the last answer: the server's RSS and its GetStatus;
    appends dicts to out. The deadline is long because GetStatus can take
    seconds under this load, and a call that times out before the server
    reads it shows up in the server's own errors."""
    t0 = time.monotonic()
    while not stop.wait(every_s):
        mem = server.memory()
        code, _, status, secs = rpc_outcome(api.get_status,
                                            api.protos.analyzer.GetStatusRequest(),
                                            timeout=timeout_s)
        row = {"t_s": round(time.monotonic() - t0, 1), "rss_mb": mem["rss_mb"] if mem else None,
               "code": code, "ms": round(secs * 1000, 1)}
        if status is not None:
            row.update(status_dict(status))
        out.append(row)


def stream_final_codes(calls):
    """Final codes of the streams that have ended, plus how many are still open.

    A stream's status arrives without its answers being read, so one the
    server refused at open (RESOURCE_EXHAUSTED past --max-streams) shows here.
    """
    codes = {}
    for call in calls:
        code = harness.code_name(call.code()) if call.done() else "open"
        codes[code] = codes.get(code, 0) + 1
    return codes


def at_peak(status_rows):
    """The status row with the highest RSS, and the largest of each count."""
    rows = [r for r in status_rows if r.get("rss_mb") is not None and "active_streams" in r]
    if not rows:
        return None, None
    peak = max(rows, key=lambda r: r["rss_mb"])
    most = {"active_streams": max(r["active_streams"] for r in rows),
            "queue_depth": max(r["queue_depth"] for r in rows)}
    return peak, most


def scenario_nonreading_streams(env):
    """N streams that send valid messages as fast as they may and never read.

    Each message's text is --message-bytes bytes of UTF-8 (within the
    server's code point limit; distinct texts). For --stream-seconds, RSS is
    sampled each second, a normal Analyze is timed each second on another
    connection, and GetStatus (open streams, queue depth, errors by code) is
    read each second on a third; the status at the highest RSS is reported.
    Before cancelling, the streams that already ended are counted by code (a
    stream refused at open ends RESOURCE_EXHAUSTED). Then every stream is
    cancelled, and 5 s later RSS is sampled again and GetStatus read.
    Asserted: the RSS bound only.
    """
    a = env.args

    def body(server, api, sampler):
        # Raises here, not in gRPC's sending thread, when the size cannot fit.
        message_chars = len(harness.text_of_bytes(a.message_bytes, "%d/%d" % (a.streams, 1),
                                                  server_max_chars(env)))
        probes, statuses, stop = [], [], threading.Event()
        prober = threading.Thread(target=probe_latency, args=(env.api(server), stop, 1.0, probes))
        status_api = env.api(server)
        poller = threading.Thread(target=poll_status,
                                  args=(server, status_api, stop, 1.0, statuses))
        prober.start()
        poller.start()
        t_open = time.monotonic()
        apis, floods, calls = open_floods(env, server, a.streams, a.connections, a.message_bytes)
        open_s = round(time.monotonic() - t_open, 1)
        time.sleep(a.stream_seconds)
        during_mb = sampler.peak_mb
        final_codes = stream_final_codes(calls)
        stop.set()
        prober.join()
        poller.join()
        for call in calls:
            call.cancel()
        time.sleep(5)
        after = server.memory()
        code, _, status, _ = rpc_outcome(api.get_status, env.protos.analyzer.GetStatusRequest(),
                                         timeout=10)
        for other in apis + [status_api]:
            other.channel.close()
        latencies = [ms for c, ms, _ in probes if c == "OK"]
        server_ms = [ms for c, _, ms in probes if c == "OK"]
        peak_status, most = at_peak(statuses)
        out = {
            "streams": a.streams, "connections": a.connections, "seconds": a.stream_seconds,
            "message_bytes": a.message_bytes,
            "message_chars": message_chars,
            "open_seconds": open_s,  # status_samples' t_s counts from before the opening.
            "frames_handed": sum(f.handed for f in floods),
            "stream_final_codes": final_codes,
            "refused_at_open": final_codes.get("RESOURCE_EXHAUSTED", 0),
            "peak_during_mb": during_mb,
            "status_at_peak": peak_status, "status_max": most,
            "status_polls": len(statuses),
            "status_polls_failed": sum(1 for r in statuses if r["code"] != "OK"),
            "status_samples": statuses,
            "after_cancel_mb": after["rss_mb"] if after else None,
            "probes": len(probes),
            "probe_results": [{"code": c, "ms": ms, "server_ms": sm} for c, ms, sm in probes],
            "probe_codes": sorted({c for c, _, _ in probes}),
            "probe_median_ms": median_ms([ms / 1000 for ms in latencies]),
            "probe_max_ms": max(latencies) if latencies else None,
            "probe_server_median_ms": median_ms([ms / 1000 for ms in server_ms]),
            "status_after_cancel": None if status is None else status_dict(status),
            "status_code": code,
            "rss_samples": sampler.samples[:],
        }
        out["summary"] = [
            "%d streams on %d connections for %ds, %d-byte texts (%d code points): "
            "%d frames handed to gRPC" % (a.streams, a.connections, a.stream_seconds,
                                          a.message_bytes, out["message_chars"],
                                          out["frames_handed"]),
            "stream codes before cancel: %s (refused at open: %d)" % (
                final_codes, out["refused_at_open"]),
            "RSS peak during %.0f MB, after cancel +5 s %s MB" % (during_mb, out["after_cancel_mb"]),
            "GetStatus at peak RSS: %s; max streams %s, max queue %s (%d polls, %d failed)" % (
                None if peak_status is None else {k: peak_status.get(k) for k in (
                    "rss_mb", "active_streams", "queue_depth", "errors")},
                most and most["active_streams"], most and most["queue_depth"],
                out["status_polls"], out["status_polls_failed"]),
            "normal Analyze meanwhile (%d probes): median %s ms (server's own %s ms), "
            "max %s ms, codes %s" % (out["probes"], out["probe_median_ms"],
                                     out["probe_server_median_ms"], out["probe_max_ms"],
                                     out["probe_codes"]),
            "after cancel: %s" % out["status_after_cancel"],
        ]
        return out
    return with_server(env, "nonreading_streams", body, sample_s=1.0)


# --------------------------------------------------------------------------
# oversized
# --------------------------------------------------------------------------

def scenario_oversized(env):
    """--oversized-calls concurrent Analyze calls with a 4 MB text each.

    Expected: every call RESOURCE_EXHAUSTED (gRPC's receive limit), memory
    within the bound. RSS is sampled every 0.2 s, and 3 s and 10 s after the
    last call (whether the memory was given back is reported, not asserted).
    """
    a = env.args

    def body(server, api, sampler):
        text = padded_text("lorem ipsum dolor sit amet ", a.oversized_mb * 1024 * 1024, 0)
        payload = api.analyze_request(text, "big").SerializeToString()
        t0 = time.monotonic()
        futures = [api.analyze_raw.future(payload, timeout=120) for _ in range(a.oversized_calls)]
        codes = {}
        for fut in futures:
            try:
                fut.result()
                code = "OK"
            except grpc.RpcError as err:
                code = harness.code_name(err.code())
            codes[code] = codes.get(code, 0) + 1
        secs = time.monotonic() - t0
        t_done = time.monotonic()
        time.sleep(3)
        after = server.memory()
        time.sleep(max(0.0, 10 - (time.monotonic() - t_done)))
        after_10 = server.memory()
        out = {"calls": a.oversized_calls, "request_bytes": len(payload), "codes": codes,
               "seconds": round(secs, 2), "after_mb": after["rss_mb"] if after else None,
               "after_10s_mb": after_10["rss_mb"] if after_10 else None,
               "failures": []}
        if set(codes) != {"RESOURCE_EXHAUSTED"}:
            out["failures"].append("codes %s, expected only RESOURCE_EXHAUSTED" % codes)
        out["summary"] = ["%d x %.1f MB: %s in %.1f s" % (
            a.oversized_calls, len(payload) / 1048576, codes, secs),
            "RSS peak %.0f MB; after the calls +3 s %s MB, +10 s %s MB" % (
                sampler.peak_mb, out["after_mb"], out["after_10s_mb"])]
        return out
    return with_server(env, "oversized", body, sample_s=0.2)


# --------------------------------------------------------------------------
# expansion
# --------------------------------------------------------------------------

ENGLISH = ("I have been feeling a bit off this week, work has been busy and I keep "
           "staying up too late playing games with friends, but honestly it is fine. ")

# Code points whose NFKC form is longest (found by scanning unicodedata):
# U+FDFA -> 18 code points, U+FDFB -> 8, U+3316 -> 6, U+33AF -> 6, U+3315 -> 5,
# U+FB2C (a Hebrew letter with two marks) -> 3.
NFKC_MIX = "\uFDFB\u3316\u33AF\u3315\uFB2C"
EMOJI = "\U0001F600\U0001F525\U0001F480\U0001F64F"


def combining_text(marks, n_chars, i):
    """One base letter carrying combining marks, n_chars code points in all."""
    suffix = " #%d" % i
    body = n_chars - 1 - len(suffix)
    return "a" + (marks * (body // len(marks) + 1))[:body] + suffix


def expansion_inputs(n):
    """name -> function(i) giving the i-th distinct text of that kind."""
    return {
        "normal chat (~60 chars)": chat_text,
        "english x%d" % n: lambda i: padded_text(ENGLISH, n, i),
        "U+FDFA x%d" % n: lambda i: padded_text("\uFDFA", n, i),
        "NFKC mix x%d" % n: lambda i: padded_text(NFKC_MIX, n, i),
        "emoji x%d" % n: lambda i: padded_text(EMOJI, n, i),
        "combining U+0301 x%d" % n: lambda i: combining_text("\u0301", n, i),
        "combining 0301/0316 alternating x%d" % n: lambda i: combining_text("\u0301\u0316", n, i),
    }


def time_calls(api, make_text, count, start_i):
    """count sequential Analyze calls; returns (latencies of OK calls, codes)."""
    latencies, codes = [], {}
    for i in range(start_i, start_i + count):
        code, _, _, secs = rpc_outcome(api.analyze, api.analyze_request(make_text(i)), timeout=60)
        codes[code] = codes.get(code, 0) + 1
        if code == "OK":
            latencies.append(secs)
    return latencies, codes


def hammer(api, make_text, stop, start_i):
    """Sends make_text(i) back to back until stop is set."""
    i = start_i
    while not stop.is_set():
        rpc_outcome(api.analyze, api.analyze_request(make_text(i)), timeout=60)
        i += 1


def normal_under_attack(env, server, api, worst, make_text, count, threads=4):
    """Median of the normal message while `threads` threads send the worst input."""
    stop = threading.Event()
    apis = [env.api(server) for _ in range(threads)]
    attackers = [threading.Thread(target=hammer, args=(apis[t], make_text, stop, 100000 * (t + 1)))
                 for t in range(threads)]
    for t in attackers:
        t.start()
    time.sleep(0.5)
    latencies, codes = time_calls(api, chat_text, count, 50000)
    stop.set()
    for t in attackers:
        t.join()
    for other in apis:
        other.channel.close()
    return {"worst_input": worst, "threads": threads, "normal_median_ms": median_ms(latencies),
            "codes": codes}


def scenario_expansion(env):
    """What nasty text costs: median latency of --calls Analyze calls per input.

    Inputs: a normal chat message, 4,096 chars of ordinary English, and 4,096
    code points of U+FDFA, of other large NFKC expanders, of emoji, and of
    combining marks on one base letter (one mark; two marks of different
    classes, alternating, so canonical ordering has work to do). Every text
    is distinct (a counter) so the result cache cannot hide the cost.
    Asserted: each input's median is at most --max-cost-ratio x the normal
    message's. Then the worst input is sent from 4 threads while the normal
    message's median is measured again (reported, not asserted).
    """
    a = env.args

    def body(server, api, sampler):
        inputs = expansion_inputs(a.expansion_chars)
        time_calls(api, chat_text, 5, 900)  # Warm the connection and caches of code.
        rows, failures = [], []
        for n, (name, make_text) in enumerate(inputs.items()):
            latencies, codes = time_calls(api, make_text, a.calls, 1000 * (n + 1))
            rows.append({"input": name, "median_ms": median_ms(latencies), "codes": codes})
        base = rows[0]["median_ms"]
        for row in rows:
            row["ratio"] = round(row["median_ms"] / base, 2) if row["median_ms"] and base else None
            if set(row["codes"]) != {"OK"}:
                failures.append("%s: codes %s" % (row["input"], row["codes"]))
            elif row["ratio"] > a.max_cost_ratio:
                failures.append("%s costs %.1fx a normal message (> --max-cost-ratio %g)" % (
                    row["input"], row["ratio"], a.max_cost_ratio))
        worst = max(rows[1:], key=lambda r: r["median_ms"] or 0)
        attack = normal_under_attack(env, server, api, worst["input"], inputs[worst["input"]],
                                     a.calls)
        attack["ratio_to_quiet"] = (round(attack["normal_median_ms"] / base, 2)
                                    if attack["normal_median_ms"] and base else None)
        summary = ["%-36s %10s ms %8sx %s" % (r["input"], r["median_ms"], r["ratio"],
                                              "" if set(r["codes"]) == {"OK"} else r["codes"])
                   for r in rows]
        summary.append("normal chat while 4 threads send %s: %s ms (%sx quiet)" % (
            worst["input"], attack["normal_median_ms"], attack["ratio_to_quiet"]))
        return {"rows": rows, "under_attack": attack, "failures": failures, "summary": summary}
    return with_server(env, "expansion", body)


# --------------------------------------------------------------------------
# sigterm_under_load (the machinery is in sigterm_load.py)
# --------------------------------------------------------------------------

def scenario_sigterm_under_load(env):
    """SIGTERM while 32 unary callers and 4 streams keep sending; --runs K times.

    See sigterm_load's docstring for the two --client-policy values and what
    each asserts. The summary ends with one row per run.
    """
    runs, failures, summary = [], [], []
    peak = {"baseline_mb": 0.0, "peak_mb": 0.0, "hwm_mb": 0.0}
    for k in range(env.args.runs):
        run = sigterm_load.run_once(env, k)
        runs.append(run)
        failures += ["run %d: %s (log: %s)" % (k + 1, f, run["log"]) for f in run.pop("failures")]
        summary += ["run %d: %s" % (k + 1, line) for line in run.pop("summary")]
        for key in peak:
            peak[key] = max(peak[key], run["rss"][key])
    summary += sigterm_rows([run["row"] for run in runs])
    result = {"policy": env.args.client_policy, "runs": runs, "failures": failures,
              "summary": summary, "rss": peak}
    check_rss_bound(env, result)
    return result


def sigterm_rows(rows):
    """Table lines: per run, unary codes and the shutdown timeline (ms after SIGTERM)."""
    header = "%-4s %6s %6s %6s %12s %12s %9s %9s" % (
        "run", "OK", "UNAV", "other", "NOT_SERVING", "first UNAV", "refused", "exit")
    lines = [header]
    for n, r in enumerate(rows, 1):
        lines.append("%-4d %6d %6d %6d %12s %12s %9s %9s" % (
            n, r["ok"], r["unavailable"], r["cancelled_or_other"], r["not_serving_ms"],
            r["first_unavailable_ms"], r["first_refused_ms"],
            "%s(%s)" % (r["exit_ms"], r["exit_code"])))
    return lines


SCENARIOS = {
    "bad_frame": scenario_bad_frame,
    "bad_unary": scenario_bad_unary,
    "nonreading_streams": scenario_nonreading_streams,
    "oversized": scenario_oversized,
    "expansion": scenario_expansion,
    "sigterm_under_load": scenario_sigterm_under_load,
}


# --------------------------------------------------------------------------
# Command line and report
# --------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default=os.path.join(harness.REPO_ROOT, "build/server/lantern-server"),
                   help="lantern-server binary")
    p.add_argument("--models", default=os.path.join(harness.REPO_ROOT, "models/default"),
                   help="model directory passed as --model-dir")
    p.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                   help="scenario to run (repeatable); default: all")
    p.add_argument("--server-arg", action="append", default=[],
                   help="extra server argument, e.g. --server-arg=--threads=2 (repeatable)")
    p.add_argument("--log-dir", help="where server logs go (default: a new temp dir)")
    p.add_argument("--max-rss-mb", type=float, default=600,
                   help="fail when the server's peak RSS (VmHWM) exceeds this (default 600)")
    p.add_argument("--max-cost-ratio", type=float, default=5,
                   help="expansion: fail when an input's median exceeds this multiple of a "
                        "normal message's (default 5)")
    p.add_argument("--calls", type=int, default=20, help="expansion: calls per input (20)")
    p.add_argument("--expansion-chars", type=int, default=4096,
                   help="expansion: code points per long input (4096, the server's default limit)")
    p.add_argument("--streams", type=int, default=200, help="nonreading_streams: streams (200)")
    p.add_argument("--connections", type=int, default=10,
                   help="nonreading_streams: TCP connections the streams share (10)")
    p.add_argument("--stream-seconds", type=int, default=15,
                   help="nonreading_streams: how long the streams push (15)")
    p.add_argument("--message-bytes", type=int, default=300,
                   help="nonreading_streams: UTF-8 bytes of each streamed text; past the "
                        "server's code point limit they are mostly 4-byte emoji (300)")
    p.add_argument("--oversized-calls", type=int, default=200, help="oversized: calls (200)")
    p.add_argument("--oversized-mb", type=int, default=4, help="oversized: text size in MB (4)")
    sigterm_load.add_arguments(p)
    return p.parse_args(argv)


def print_table(results, out):
    """A readable table: one block per scenario."""
    out.write("\n%-20s %-6s %-24s %s\n" % ("scenario", "result", "RSS MB base/peak/HWM", "numbers"))
    out.write("-" * 100 + "\n")
    for r in results:
        rss = r.get("rss") or {}
        mem = "%s/%s/%s" % (rss.get("baseline_mb"), rss.get("peak_mb"), rss.get("hwm_mb"))
        lines = r.get("summary") or [""]
        out.write("%-20s %-6s %-24s %s\n" % (r["scenario"], "ok" if r["ok"] else "FAIL", mem, lines[0]))
        for line in lines[1:]:
            out.write("%52s %s\n" % ("", line))
        for failure in r["failures"]:
            out.write("%52s ! %s\n" % ("", failure))
    out.write("-" * 100 + "\n")


def run_scenario(env, name):
    """Runs one scenario; a tool or start-up error becomes a failed result."""
    t0 = time.monotonic()
    try:
        result = SCENARIOS[name](env)
    except harness.ServerStartError as err:
        result = {"failures": ["server did not start: %s" % err], "server_log_tail": err.log_tail}
    except Exception as err:  # pylint: disable=broad-except
        traceback.print_exc()
        result = {"failures": ["tool error: %r" % err]}
    result = dict({"scenario": name, "ok": not result["failures"]}, **result)
    result["seconds"] = round(time.monotonic() - t0, 1)
    return result


def main(argv):
    args = parse_args(argv)
    for path in (args.server, args.models):
        if not os.path.exists(path):
            sys.stderr.write("not found: %s\n" % path)
            return 2
    env = Env(args, harness.load_protos())
    sys.stderr.write("server logs in %s\n" % env.log_dir)
    results = []
    for name in args.scenario or list(SCENARIOS):
        sys.stderr.write("running %s ...\n" % name)
        result = run_scenario(env, name)
        results.append(result)
        print(json.dumps(result, sort_keys=False), flush=True)
    print_table(results, sys.stderr)
    failed = [r["scenario"] for r in results if not r["ok"]]
    sys.stderr.write("%d passed, %d failed%s\n" % (len(results) - len(failed), len(failed),
                                                   (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
