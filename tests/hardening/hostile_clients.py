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

This file is the command line and the report; the scenarios live next to
it: bad_input.py (bad_frame, bad_unary), memory_pressure.py
(nonreading_streams, oversized), expansion.py, sigterm_load.py
(sigterm_under_load), all run through scenario_env.py.
"""

import argparse
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# pylint: disable=wrong-import-position
import harness  # noqa: E402
import sigterm_load  # noqa: E402
from bad_input import scenario_bad_frame, scenario_bad_unary  # noqa: E402
from expansion import scenario_expansion  # noqa: E402
from memory_pressure import scenario_nonreading_streams, scenario_oversized  # noqa: E402
from scenario_env import Env  # noqa: E402


SCENARIOS = {
    "bad_frame": scenario_bad_frame,
    "bad_unary": scenario_bad_unary,
    "nonreading_streams": scenario_nonreading_streams,
    "oversized": scenario_oversized,
    "expansion": scenario_expansion,
    "sigterm_under_load": sigterm_load.scenario_sigterm_under_load,
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
