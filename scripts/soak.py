#!/usr/bin/python3
"""Soak test: --minutes of mixed traffic against one lantern-server it starts.

    /usr/bin/python3 scripts/soak.py [--minutes 30] [--server BIN] [--models DIR]
        [--unary-threads 4] [--streams 2] [--max-rss-growth-pct 10] [--server-arg=...]

Traffic (each kind has the status codes it may end with; anything else is
"unexpected"):
  unary threads pick, by weight, a normal Analyze, blank text, invalid UTF-8
  (a frame built byte by byte, since Python's protobuf refuses to encode it),
  text one code point over the limit, a frame over gRPC's size limit, a
  request without a message, a 1 ms deadline, a call cancelled a few ms in,
  and now and then GetStatus;
  stream threads open streams that send 5-40 messages (some blank), read
  every answer and half-close, or cancel the stream part-way (1 ms deadlines
  and cancellations mid-call and mid-stream are all in the mix).

Each minute a row is printed (calls ok, errors by code, unexpected, RSS MB);
at the end one JSON summary line. Exit code 1 when the server died, any call
ended with an unexpected code, a stream broke its every-message-answered
contract, streams stayed open on the server after the soak, the server did
not exit 0 on SIGTERM, or the final RSS exceeds the plateau (RSS at the end
of minute --plateau-minute, default 2; for a soak of 2 minutes or less, of
the minute before the last) by more than --max-rss-growth-pct. No message
text is ever printed.
"""

import argparse
import json
import os
import random
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "hardening"))
import harness  # noqa: E402  pylint: disable=wrong-import-position
from harness import Analyzer, chat_text, code_name, open_channel, padded_text  # noqa: E402


# --------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------

class Stats:
    """Thread-safe counters for the current minute, plus totals and samples
    of unexpected outcomes (kind, code, details; never message text)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.minute = self._fresh()
        self.total = self._fresh()
        self.unexpected_samples = []

    @staticmethod
    def _fresh():
        return {"ok": 0, "codes": {}, "unexpected": 0, "by_kind": {}}

    def record(self, kind, code, expected, details=""):
        with self.lock:
            for bucket in (self.minute, self.total):
                if code == "OK":
                    bucket["ok"] += 1
                else:
                    bucket["codes"][code] = bucket["codes"].get(code, 0) + 1
                per_kind = bucket["by_kind"].setdefault(kind, {})
                per_kind[code] = per_kind.get(code, 0) + 1
                if code not in expected:
                    bucket["unexpected"] += 1
            if code not in expected and len(self.unexpected_samples) < 20:
                self.unexpected_samples.append({"kind": kind, "code": code,
                                                "details": details[:200]})

    def take_minute(self):
        with self.lock:
            minute, self.minute = self.minute, self._fresh()
        return minute


# --------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------

def length_delimited(field, payload):
    return harness.varint(field << 3 | 2) + harness.varint(len(payload)) + payload


def bad_utf8_frame(i):
    """AnalyzeRequest{message{id, text = bytes that are not UTF-8}}, by hand."""
    chat = length_delimited(1, b"soak-utf8-%d" % i) + length_delimited(2, b"ok \xff\xfe\xc3 #%d" % i)
    return length_delimited(1, chat)


class Unary:
    """The unary kinds: name -> (weight, expected codes, call function)."""

    def __init__(self, api, max_chars):
        self.api = api
        self.max_chars = max_chars
        self.kinds = {
            "analyze": (50, {"OK"}, self.analyze),
            "blank": (5, {"INVALID_ARGUMENT"}, self.blank),
            "bad_utf8": (5, {"INVALID_ARGUMENT"}, self.bad_utf8),
            "too_long": (4, {"INVALID_ARGUMENT"}, self.too_long),
            "oversized_frame": (2, {"RESOURCE_EXHAUSTED"}, self.oversized_frame),
            "missing_message": (5, {"INVALID_ARGUMENT"}, self.missing_message),
            "deadline_1ms": (10, {"DEADLINE_EXCEEDED", "OK"}, self.deadline_1ms),
            "cancel_mid_call": (10, {"CANCELLED", "OK"}, self.cancel_mid_call),
            "get_status": (1, {"OK"}, self.get_status),
        }
        self.names = list(self.kinds)
        self.weights = [self.kinds[k][0] for k in self.names]

    def analyze(self, i, rng):
        self.api.analyze(self.api.analyze_request(chat_text(i), "soak-%d" % i), timeout=10)

    def blank(self, i, rng):
        self.api.analyze(self.api.analyze_request(" \t  "), timeout=10)

    def bad_utf8(self, i, rng):
        self.api.analyze_raw(bad_utf8_frame(i), timeout=10)

    def too_long(self, i, rng):
        self.api.analyze(self.api.analyze_request(padded_text("word ", self.max_chars + 1, i)),
                         timeout=10)

    def oversized_frame(self, i, rng):
        # 4 bytes per code point + 64 KiB is the server's receive limit.
        size = self.max_chars * 4 + 128 * 1024
        self.api.analyze(self.api.analyze_request(padded_text("word ", size, i)), timeout=10)

    def missing_message(self, i, rng):
        self.api.analyze(self.api.protos.analyzer.AnalyzeRequest(), timeout=10)

    def deadline_1ms(self, i, rng):
        self.api.analyze(self.api.analyze_request(chat_text(i)), timeout=0.001)

    def cancel_mid_call(self, i, rng):
        future = self.api.analyze.future(self.api.analyze_request(chat_text(i)), timeout=10)
        time.sleep(rng.uniform(0, 0.004))
        future.cancel()
        future.result()

    def get_status(self, i, rng):
        self.api.get_status(self.api.protos.analyzer.GetStatusRequest(), timeout=10)

    def run_one(self, i, rng, stats):
        kind = rng.choices(self.names, self.weights)[0]
        _, expected, fn = self.kinds[kind]
        try:
            fn(i, rng)
            stats.record(kind, "OK", expected)
        except grpc.FutureCancelledError:
            stats.record(kind, "CANCELLED", expected)
        except grpc.RpcError as err:
            stats.record(kind, code_name(err.code()), expected, err.details() or "")


def unary_worker(api, max_chars, stats, stop, seed, pause_s):
    rng = random.Random(seed)
    calls = Unary(api, max_chars)
    i = seed * 10000000
    while not stop.is_set():
        i += 1
        calls.run_one(i, rng, stats)
        stop.wait(pause_s)


def stream_session(api, rng, stats, i):
    """Sends 5-40 messages (about 1 in 8 blank), reads every answer, half-closes.

    Expected: final OK, every sequence answered once, blank ones with a
    per-message INVALID_ARGUMENT and the others with an analysis.
    """
    n = rng.randint(5, 40)
    blanks = {k for k in range(n) if rng.random() < 0.125}
    requests = [api.stream_request("   " if k in blanks else chat_text(i + k), "ss%d" % k)
                for k in range(n)]
    answers = {}
    try:
        for response in api.stream(iter(requests), timeout=30):
            kind = response.WhichOneof("result")
            answers.setdefault(response.sequence, []).append(
                "analysis" if kind == "analysis" else response.error.code)
        code, details = "OK", ""
    except grpc.RpcError as err:
        code, details = code_name(err.code()), err.details() or ""
    wanted = {k: ([3] if k in blanks else ["analysis"]) for k in range(n)}
    if code == "OK" and answers != wanted:
        code, details = "ANSWERS_MISMATCH", "%d sent, %d sequences answered" % (n, len(answers))
    stats.record("stream_session", code, {"OK"}, details)


def stream_cancelled(api, rng, stats, i):
    """Sends 10-40 messages, reads 1-3 answers, cancels. Expected: CANCELLED
    (or OK when the server had finished the whole stream first)."""
    n = rng.randint(10, 40)
    requests = [api.stream_request(chat_text(i + k), "sc%d" % k) for k in range(n)]
    call = api.stream(iter(requests), timeout=30)
    to_read = rng.randint(1, 3)
    try:
        for _ in call:
            to_read -= 1
            if to_read == 0:
                call.cancel()
        code, details = code_name(call.code()), call.details() or ""
    except grpc.RpcError as err:
        code, details = code_name(err.code()), err.details() or ""
    # OK only when every answer and the status were in before the cancel.
    stats.record("stream_cancel", code, {"CANCELLED", "OK"}, details)


def stream_worker(api, stats, stop, seed, pause_s):
    rng = random.Random(seed)
    i = seed * 10000000
    while not stop.is_set():
        i += 100
        if rng.random() < 0.8:
            stream_session(api, rng, stats, i)
        else:
            stream_cancelled(api, rng, stats, i)
        stop.wait(pause_s)


# --------------------------------------------------------------------------
# The soak
# --------------------------------------------------------------------------

def start_traffic(args, server, protos, stats, stop):
    threads = []
    for t in range(args.unary_threads):
        api = Analyzer(open_channel(server.target), protos)
        threads.append(threading.Thread(target=unary_worker, daemon=True, args=(
            api, args.max_message_chars, stats, stop, t + 1, args.pause_ms / 1000.0)))
    for t in range(args.streams):
        api = Analyzer(open_channel(server.target), protos)
        threads.append(threading.Thread(target=stream_worker, daemon=True, args=(
            api, stats, stop, 100 + t, args.pause_ms / 1000.0)))
    for t in threads:
        t.start()
    return threads


def format_codes(codes):
    return " ".join("%s=%d" % kv for kv in sorted(codes.items())) or "-"


def run_minutes(args, server, stats):
    """Sleeps out each minute (checking the server every second), prints its row.

    Returns (rows, died): died is True when the server process exited.
    """
    rows = []
    print("%6s %9s %6s %9s  %s" % ("minute", "calls ok", "unexp", "RSS MB", "errors by code"),
          flush=True)
    t_next = time.monotonic()
    for minute in range(1, args.minutes + 1):
        t_next += 60
        while time.monotonic() < t_next:
            if not server.alive():
                return rows, True
            time.sleep(min(1.0, max(0.0, t_next - time.monotonic())))
        mem = server.memory()
        counts = stats.take_minute()
        row = {"minute": minute, "ok": counts["ok"], "codes": counts["codes"],
               "unexpected": counts["unexpected"], "rss_mb": mem["rss_mb"] if mem else None}
        rows.append(row)
        print("%6d %9d %6d %9s  %s" % (minute, row["ok"], row["unexpected"], row["rss_mb"],
                                       format_codes(row["codes"])), flush=True)
    return rows, not server.alive()


def plateau(rows, plateau_minute):
    """RSS at the end of plateau_minute; a soak too short for that uses the
    minute before its last, so the end is still compared with something."""
    plateau_minute = min(plateau_minute, max(1, len(rows) - 1))
    usable = [r for r in rows if r["minute"] <= plateau_minute and r["rss_mb"]]
    return (usable[-1]["minute"], usable[-1]["rss_mb"]) if usable else (None, None)


def final_checks(args, rows, died, stats, status, exit_code):
    """The list of reasons to fail."""
    failures = []
    if died:
        failures.append("server died")
    if stats.total["unexpected"]:
        failures.append("%d calls ended with an unexpected code" % stats.total["unexpected"])
    if status is not None and status.active_streams != 0:
        failures.append("%d streams still open on the server after the soak"
                        % status.active_streams)
    if not died and exit_code != "0":
        failures.append("server exit %s on SIGTERM, expected 0" % exit_code)
    p_minute, p_rss = plateau(rows, args.plateau_minute)
    if rows and p_rss and rows[-1]["rss_mb"]:
        limit = p_rss * (1 + args.max_rss_growth_pct / 100.0)
        if rows[-1]["rss_mb"] > limit:
            failures.append("RSS %.1f MB at the end > %.1f MB (minute-%d plateau %.1f MB + %g%%)" % (
                rows[-1]["rss_mb"], limit, p_minute, p_rss, args.max_rss_growth_pct))
    return failures


def soak(args):
    protos = harness.load_protos()
    server = harness.ServerProcess(args.server, args.models, args.server_arg,
                                   log_dir=args.log_dir, name="soak").start()
    sys.stderr.write("server pid %d on %s, log %s\n" % (server.pid, server.target, server.log_path))
    start_mem = server.memory()
    stats, stop = Stats(), threading.Event()
    threads = start_traffic(args, server, protos, stats, stop)
    rows, died = run_minutes(args, server, stats)
    stop.set()
    for t in threads:
        t.join(timeout=40)
    status = None
    if not died:
        time.sleep(2)  # Let cancelled streams finish on the server.
        api = Analyzer(open_channel(server.target), protos)
        _, _, status, _ = harness.rpc_outcome(api.get_status, protos.analyzer.GetStatusRequest(),
                                              timeout=10)
    hwm = (server.memory() or {}).get("hwm_mb")
    exit_code = harness.describe_exit(server.proc.returncode if died else server.stop())
    failures = final_checks(args, rows, died, stats, status, exit_code)
    summary = {
        "minutes": len(rows), "start_rss_mb": start_mem["rss_mb"],
        "plateau": dict(zip(("minute", "rss_mb"), plateau(rows, args.plateau_minute))),
        "end_rss_mb": rows[-1]["rss_mb"] if rows else None, "hwm_mb": hwm,
        "calls_ok": stats.total["ok"], "errors": stats.total["codes"],
        "unexpected": stats.total["unexpected"], "unexpected_samples": stats.unexpected_samples,
        "by_kind": stats.total["by_kind"],
        "server_status": None if status is None else {
            "requests_served": status.requests_served, "errors": dict(status.errors),
            "active_streams": status.active_streams, "queue_depth": status.queue_depth},
        "server_exit": exit_code, "failures": failures, "ok": not failures,
    }
    if died:
        summary["server_log_tail"] = server.log_tail()
    print(json.dumps(summary), flush=True)
    for failure in failures:
        sys.stderr.write("FAIL: %s\n" % failure)
    return 0 if not failures else 1


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = harness.REPO_ROOT
    p.add_argument("--server", default=os.path.join(root, "build/server/lantern-server"))
    p.add_argument("--models", default=os.path.join(root, "models/default"))
    p.add_argument("--minutes", type=int, default=30, help="length of the soak (30)")
    p.add_argument("--unary-threads", type=int, default=4, help="unary caller threads (4)")
    p.add_argument("--streams", type=int, default=2, help="stream threads (2)")
    p.add_argument("--pause-ms", type=float, default=10,
                   help="pause after each call or stream, per thread (10)")
    p.add_argument("--max-rss-growth-pct", type=float, default=10,
                   help="fail when the final RSS exceeds the plateau by more than this (10)")
    p.add_argument("--plateau-minute", type=int, default=2,
                   help="minute whose closing RSS is the plateau (2)")
    p.add_argument("--max-message-chars", type=int, default=4096,
                   help="the server's --max-message-chars, for the too-long kinds (4096)")
    p.add_argument("--server-arg", action="append", default=[],
                   help="extra server argument (repeatable), e.g. --server-arg=--threads=2")
    p.add_argument("--log-dir", help="where the server log goes (default: a temp dir)")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(soak(parse_args(sys.argv[1:])))
