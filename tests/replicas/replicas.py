#!/usr/bin/python3
"""Three lantern-server replicas behind HAProxy, as deploy/haproxy/lantern.cfg says.

Starts three real lantern-server processes on 127.0.0.1 (free ports, read
from their logs) and Debian's haproxy with the committed config, unchanged,
on a listening socket this process bound (so its port is free too). Then:

  test (default): checks what deploy/README.md promises, prints one JSON line
    with the numbers and a short table on stderr, exits 1 when a check fails:
    1. spread: --calls Analyze calls through the proxy; each replica's own
       GetStatus shows it analysed at least a quarter of them, and together
       exactly as many as were answered.
    2. drain under load: --threads clients call Analyze through the proxy
       back to back, retrying UNAVAILABLE and RESOURCE_EXHAUSTED with
       exponential backoff as docs/api.md documents (any other code, or no
       answer within --call-budget-s, is a failed call). Replica r2 gets
       SIGTERM (its --shutdown-grace-ms is --grace-ms, 5000). Checked: no
       call failed; HAProxy's runtime API shows r2 DOWN; while r2 still has
       its port open and answers NOT_SERVING, it gets no traffic: HAProxy
       selects it for nothing (lbtot), its own GetStatus counts no new call,
       and no attempt sent after HAProxy marked it DOWN got its "shutting
       down" answer; r1 and r3 take the load; r2 exits 0. Beside them
       (tests/replicas/cli_unary.py) the real CLI makes Analyze calls in a
       loop through the proxy (`lantern stories --via unary`): as shipped,
       retrying UNAVAILABLE itself, every run must succeed; with
       --max-attempts 1 (the control) its refused runs are only counted.
    3. streams (tests/replicas/streams.py, on a fresh set of three
       replicas): the real CLI, `lantern stream`, through the proxy, fed
       --stream-messages chat lines over --stream-feed-s; the replica that
       holds the stream gets SIGTERM. Checked: every message got exactly one
       answer, an analysis; the CLI exited 0 after exactly one reconnect;
       another replica holds the stream; the drained one exits 0; the
       replicas' GetStatus counted every message fed.
  --replica-tls (ctest `replicas_tls`): the same with TLS between HAProxy
    and the replicas. Certificates from a throwaway CA
    (tests/testing/make_certs.sh) go to the log folder; the replicas get
    --tls-cert/--tls-key and speak only TLS; HAProxy gets
    LANTERN_REPLICA_CA and LANTERN_REPLICA_NAME=localhost, so the config
    verifies each replica's certificate and name, for calls and checks
    alike; clients still speak cleartext to HAProxy. This process's own
    channels straight to the replicas use TLS with that CA. Before phase 1
    it checks that TLS is really in use: each replica refuses a cleartext
    Health/Check; two more HAProxy instances on the same config, one
    trusting another CA and one expecting another name, see every replica
    DOWN with a TLS (L6RSP) check failure. Then phases 1 and 2; phase 3
    (streams) is skipped, to keep the run short.
  --serve: starts the same set-up, prints the addresses, and waits for
    Ctrl-C or SIGTERM.
  --check-request [SERVICE]: prints the hex of the health check request the
    config sends (for another service name, or to check the config's bytes).

Every process it starts is killed when it ends, however it ends: children
get SIGKILL if this process dies (setpriv --pdeathsig), and SIGTERM, SIGINT
and SIGHUP unwind through the cleanup. Nothing printed contains message
text: only codes, counts and times.

    /usr/bin/python3 tests/replicas/replicas.py --server build/server/lantern-server \
        --models models/default
"""

import argparse
import json
import os
import random
import shutil
import signal
import sys
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "hardening"))
import harness  # noqa: E402  pylint: disable=wrong-import-position

REPO_ROOT = harness.REPO_ROOT
DEFAULT_CONFIG = os.path.join(REPO_ROOT, "deploy", "haproxy", "lantern.cfg")
from cluster import (HEALTH_SERVICE, REPLICAS, Cluster,  # noqa: E402
                     check_request, config_check_bytes)
import cli_unary  # noqa: E402
import streams  # noqa: E402
DRAINED = "r2"
RETRIED = ("UNAVAILABLE", "RESOURCE_EXHAUSTED")

# A client that retries as docs/api.md documents
# --------------------------------------------------------------------------

class Attempts:
    """Every attempt of every call, and what each worker has in flight."""

    def __init__(self, workers):
        self.lock = threading.Lock()
        self.log = []  # (t_sent, t_done, code, details)
        self.calls = {"ok": 0, "failed": 0}
        self.failures = []  # (code, details) of failed calls
        self.in_flight = [None] * workers  # t_sent of the attempt in flight

    def sent(self, worker, t):
        with self.lock:
            self.in_flight[worker] = t

    def done(self, worker, t_sent, code, details):
        with self.lock:
            self.in_flight[worker] = None
            self.log.append((t_sent, time.monotonic(), code, details))

    def call_ended(self, ok, code=None, details=""):
        with self.lock:
            if ok:
                self.calls["ok"] += 1
            else:
                self.calls["failed"] += 1
                self.failures.append((code, details[:100]))

    def any_in_flight_sent_before(self, t):
        with self.lock:
            return any(s is not None and s < t for s in self.in_flight)


def call_with_retries(api, request, attempts, worker, budget_s):
    """One Analyze call, retried on UNAVAILABLE/RESOURCE_EXHAUSTED with
    exponential backoff (50 ms doubling to 1 s, jittered) for up to budget_s."""
    give_up = time.monotonic() + budget_s
    backoff = 0.05
    while True:
        t_sent = time.monotonic()
        attempts.sent(worker, t_sent)
        code, details, _, _ = harness.rpc_outcome(api.analyze, request, timeout=10)
        attempts.done(worker, t_sent, code, details)
        if code == "OK":
            attempts.call_ended(True)
            return True
        pause = backoff * random.uniform(0.5, 1.0)
        if code not in RETRIED or time.monotonic() + pause > give_up:
            attempts.call_ended(False, code, details)
            return False
        time.sleep(pause)
        backoff = min(1.0, backoff * 2)


def load(apis, attempts, stop, budget_s, first_id):
    """One thread per api entry calling back to back until stop is set."""
    def worker(w):
        i = first_id + w * 1000000
        while not stop.is_set():
            i += 1
            call_with_retries(apis[w], apis[w].analyze_request(harness.chat_text(i), "c%d" % i),
                              attempts, w, budget_s)
    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(len(apis))]
    for t in threads:
        t.start()
    return threads


# --------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------

def seen(api):
    """(messages analysed, calls refused UNAVAILABLE) from a replica's GetStatus."""
    status = api.get_status(api.protos.analyzer.GetStatusRequest(), timeout=10)
    return status.requests_served, status.errors.get("UNAVAILABLE", 0)


def spread(cluster, direct, apis, attempts, args):
    """Phase 1: --calls calls through the proxy; each replica's share."""
    before = {n: seen(direct[n]) for n in REPLICAS}
    per_thread = args.calls // len(apis)
    done = threading.Semaphore(0)

    def worker(w):
        for k in range(per_thread):
            i = w * 1000000 + k
            call_with_retries(apis[w], apis[w].analyze_request(harness.chat_text(i), "s%d" % i),
                              attempts, w, args.call_budget_s)
        done.release()
    for w in range(len(apis)):
        threading.Thread(target=worker, args=(w,), daemon=True).start()
    for _ in apis:
        done.acquire()
    after = {n: seen(direct[n]) for n in REPLICAS}
    served = {n: after[n][0] - before[n][0] for n in REPLICAS}
    refused = {n: after[n][1] - before[n][1] for n in REPLICAS}
    calls = per_thread * len(apis)
    failures = []
    if attempts.calls["failed"]:
        failures.append("spread: %d of %d calls failed: %s" % (
            attempts.calls["failed"], calls, attempts.failures[:3]))
    if sum(served.values()) != attempts.calls["ok"]:
        failures.append("spread: replicas analysed %d messages, clients got %d answers" % (
            sum(served.values()), attempts.calls["ok"]))
    for n in REPLICAS:
        if served[n] < calls / len(REPLICAS) / 4:
            failures.append("spread: %s analysed %d of %d calls, under a quarter of its share" % (
                n, served[n], calls))
    lbtot = {n: int(r["lbtot"]) for n, r in cluster.proxy.stats().items()}
    return {"calls": calls, "ok": attempts.calls["ok"], "failed": attempts.calls["failed"],
            "analysed_by": served, "refused_by": refused, "haproxy_lbtot": lbtot}, failures


def drain(cluster, direct, apis, attempts, args):
    """Phase 2: SIGTERM to r2 under load; see the module docstring."""
    stop = threading.Event()
    threads = load(apis, attempts, stop, args.call_budget_s, first_id=500000)
    cli_loops = cli_unary.start(streams.client_path(args), cluster.proxy.target)
    time.sleep(args.load_before_s)
    victim = cluster.replicas[DRAINED]
    served_before = {n: seen(direct[n])[0] for n in REPLICAS}
    t_sigterm = time.monotonic()
    victim.signal(signal.SIGTERM)
    grace_end = t_sigterm + args.grace_ms / 1000.0

    # HAProxy's checks see NOT_SERVING and take r2 out.
    t_down = None
    while time.monotonic() < grace_end:
        if cluster.proxy.stats()[DRAINED]["status"].startswith("DOWN"):
            t_down = time.monotonic()
            break
        time.sleep(0.02)
    result = {"down_ms_after_sigterm": ms(t_down, t_sigterm)}
    failures = []
    if t_down is None:
        failures.append("HAProxy did not take %s out within its grace period" % DRAINED)
    else:
        lbtot_at_down = int(cluster.proxy.stats()[DRAINED]["lbtot"])
        # Attempts sent before DOWN may still reach r2; wait for them to end:
        # the Python clients' own, and any HAProxy still has open to r2 (the
        # CLI loops' calls, which this process does not see).
        while ((attempts.any_in_flight_sent_before(t_down)
                or int(cluster.proxy.stats()[DRAINED]["scur"] or 0) > 0)
               and time.monotonic() < grace_end):
            time.sleep(0.005)
        counts_at_down = seen(direct[DRAINED])
        window_end = min(time.monotonic() + args.window_s, grace_end - 0.5)
        health = []
        while time.monotonic() < window_end:
            health.append(direct[DRAINED].health(HEALTH_SERVICE, timeout=2))
            time.sleep(0.1)
        try:
            counts_after = seen(direct[DRAINED])
        except grpc.RpcError as err:  # The port closed: the window proves nothing.
            counts_after = counts_at_down
            failures.append("%s could not be asked after the window (%s): the machine is "
                            "too slow for --window-s within --grace-ms" % (DRAINED, err.code()))
        lbtot_after = int(cluster.proxy.stats()[DRAINED]["lbtot"])
        t_window = time.monotonic()
        with attempts.lock:
            in_window = [a for a in attempts.log if t_down < a[0] < t_window]
        late_refusals = sum(1 for a in in_window if a[2] == "UNAVAILABLE"
                            and "shutting down" in a[3])
        result.update({
            "window_ms": round((t_window - t_down) * 1000),
            "attempts_sent_in_window": len(in_window),
            "health_in_window": sorted(set(health)),
            "r2_lbtot_in_window": lbtot_after - lbtot_at_down,
            "r2_calls_seen_in_window": (counts_after[0] - counts_at_down[0])
                                       + (counts_after[1] - counts_at_down[1]),
            "draining_answers_in_window": late_refusals,
        })
        if set(health) != {"NOT_SERVING"}:
            failures.append("%s's health during the window: %s" % (DRAINED, sorted(set(health))))
        if not in_window:
            failures.append("no attempt was sent during the window: nothing was shown")
        if result["r2_lbtot_in_window"]:
            failures.append("HAProxy sent %s %d calls after marking it DOWN" % (
                DRAINED, result["r2_lbtot_in_window"]))
        if result["r2_calls_seen_in_window"]:
            failures.append("%s saw %d calls while DOWN" % (
                DRAINED, result["r2_calls_seen_in_window"]))
        if late_refusals:
            failures.append("%d attempts sent after DOWN got the draining answer" % late_refusals)

    code = victim.wait(timeout_s=60)
    t_exit = time.monotonic()
    if code is None:
        victim.kill()
    time.sleep(args.load_after_s)  # Load on the two left, port closed.
    stop.set()
    for t in threads:
        t.join(timeout=args.call_budget_s + 15)
    result["cli"], cli_failures = cli_unary.stop(cli_loops)
    failures += cli_failures
    served_after = {n: seen(direct[n])[0] for n in REPLICAS if n != DRAINED}
    with attempts.lock:
        codes = {}
        for a in attempts.log:
            codes[a[2]] = codes.get(a[2], 0) + 1
        calls = dict(attempts.calls)
        failed_calls = list(attempts.failures)
    retried_calls = sum(v for k, v in codes.items() if k != "OK")
    result.update({
        "exit_code": harness.describe_exit(victim.proc.returncode),
        "exit_ms_after_sigterm": ms(t_exit, t_sigterm) if code is not None else None,
        "calls": calls["ok"] + calls["failed"], "ok": calls["ok"], "failed": calls["failed"],
        "attempts": len(attempts.log), "attempts_by_code": codes,
        "retries": retried_calls,
        "analysed_by_after_sigterm": {n: served_after[n] - served_before[n] for n in served_after},
    })
    if calls["failed"]:
        failures.append("%d of %d calls failed after retries: %s" % (
            calls["failed"], result["calls"], failed_calls[:3]))
    if result["exit_code"] != "0":
        failures.append("%s exited %s after SIGTERM" % (DRAINED, result["exit_code"]))
    for n, v in result["analysed_by_after_sigterm"].items():
        if v <= 0:
            failures.append("%s analysed nothing after %s drained" % (n, DRAINED))
    return result, failures


def ms(t, t0):
    return None if t is None or t0 is None else round((t - t0) * 1000)


def run_test(args, protos):
    config_bytes = config_check_bytes(open(args.config).read())
    if config_bytes != check_request():
        return {"failures": ["%s: tcp-check send-binary is not the Health/Check request "
                             "for %s (see --check-request)" % (args.config, HEALTH_SERVICE)]}
    with Cluster(args) as cluster:
        t0 = time.monotonic()
        cluster.start()
        up = cluster.wait_all_up()
        started_s = round(time.monotonic() - t0, 1)
        direct = {n: harness.Analyzer(cluster.open_replica_channel(n), protos)
                  for n in cluster.replicas}
        tls, failures0 = (cluster.tls_checks(protos) if args.replica_tls else (None, []))
        channels = [harness.open_channel(cluster.proxy.target) for _ in range(2)]
        apis = [harness.Analyzer(channels[w % 2], protos) for w in range(args.threads)]
        phase1, failures1 = spread(cluster, direct, apis, Attempts(args.threads), args)
        phase2, failures2 = drain(cluster, direct, apis, Attempts(args.threads), args)
        result = {"replicas": {n: r.target for n, r in cluster.replicas.items()},
                  "proxy": cluster.proxy.target, "checks_at_start": {
                      n: r["check_status"] for n, r in up.items()},
                  "start_s": started_s, "tls": tls, "spread": phase1, "drain": phase2,
                  "logs": cluster.log_dir, "failures": failures0 + failures1 + failures2}
    if args.replica_tls:
        result["streams"] = None  # Skipped: see the module docstring.
        return result
    # r2 is gone: the stream check starts three replicas of its own.
    result["streams"], failures3 = streams.run(args, protos)
    result["failures"] += failures3
    return result


def table(result):
    lines = []
    s, d, t = result.get("spread"), result.get("drain"), result.get("tls")
    if t:
        lines.append("tls to replicas: cleartext call %s; TLS health %s; HAProxy with another CA "
                     "%s, with another name %s" % (
                         t["cleartext_to_replica"], t["tls_to_replica"],
                         t["haproxy_wrong_ca"], t["haproxy_wrong_name"]))
    if s:
        lines.append("spread: %d calls, %d ok, %d failed; analysed by %s" % (
            s["calls"], s["ok"], s["failed"], s["analysed_by"]))
    if d:
        lines.append("drain: %d calls, %d ok, %d failed; %d attempts %s" % (
            d["calls"], d["ok"], d["failed"], d["attempts"], d["attempts_by_code"]))
        lines.append("  %s DOWN in HAProxy %s ms after SIGTERM; then %s ms with %d attempts sent: "
                     "lbtot +%s, calls seen +%s, draining answers %s; health %s; exit %s" % (
                         DRAINED, d["down_ms_after_sigterm"], d.get("window_ms"),
                         d.get("attempts_sent_in_window", 0), d.get("r2_lbtot_in_window"),
                         d.get("r2_calls_seen_in_window"), d.get("draining_answers_in_window"),
                         d.get("health_in_window"), d["exit_code"]))
        lines.append("  analysed after SIGTERM by %s" % d["analysed_by_after_sigterm"])
        if d.get("cli"):
            lines.append("  lantern stories --via unary in a loop: retrying %s; one attempt %s" % (
                d["cli"]["retrying"], d["cli"]["one_attempt"]))
    if result.get("streams"):
        lines += streams.table_lines(result["streams"])
    elif "streams" in result:
        lines.append("streams: skipped (--replica-tls)")
    for f in result["failures"]:
        lines.append("FAIL: %s" % f)
    lines.append("PASS" if not result["failures"] else "FAILED")
    return "\n".join(lines)


def serve(args):
    with Cluster(args) as cluster:
        cluster.start()
        cluster.wait_all_up()
        print("replicas: %s" % ", ".join("%s %s" % (n, r.target)
                                         for n, r in cluster.replicas.items()))
        print("proxy:    %s  (e.g. build/client/lantern --target %s status)" % (
            cluster.proxy.target, cluster.proxy.target))
        print("runtime API: %s; logs in %s; Ctrl-C stops everything" % (
            cluster.proxy.admin_path, cluster.log_dir))
        if cluster.certs:
            print("replicas speak TLS only: CA %s, name %s" % (
                cluster.cert("ca.pem"), cluster.proxy_env["LANTERN_REPLICA_NAME"]))
        sys.stdout.flush()
        while (all(r.alive() for r in cluster.replicas.values())
               and cluster.proxy.proc.poll() is None):
            time.sleep(0.5)
        print("a process ended; stopping")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default=os.path.join(REPO_ROOT, "build", "server", "lantern-server"))
    p.add_argument("--models", default=os.path.join(REPO_ROOT, "models", "default"))
    p.add_argument("--haproxy", default=shutil.which("haproxy") or "/usr/sbin/haproxy")
    p.add_argument("--config", default=DEFAULT_CONFIG)
    p.add_argument("--server-arg", action="append", default=["--threads=1"],
                   help="extra lantern-server argument, repeatable (--threads=1)")
    p.add_argument("--grace-ms", type=int, default=5000, help="replicas' --shutdown-grace-ms")
    p.add_argument("--calls", type=int, default=600, help="calls in the spread phase (600)")
    p.add_argument("--threads", type=int, default=8, help="client threads (8)")
    p.add_argument("--load-before-s", type=float, default=2.0, help="load before SIGTERM (2)")
    p.add_argument("--window-s", type=float, default=2.0,
                   help="how long r2 is watched while DOWN and still open (2)")
    p.add_argument("--load-after-s", type=float, default=1.0, help="load after r2 exits (1)")
    p.add_argument("--call-budget-s", type=float, default=20.0,
                   help="a call retried this long without an answer has failed (20)")
    p.add_argument("--replica-tls", action="store_true",
                   help="TLS between HAProxy and the replicas; skips the stream phase")
    streams.add_arguments(p)
    p.add_argument("--runs", type=int, default=1, help="repeat the test with fresh processes")
    p.add_argument("--log-dir")
    p.add_argument("--serve", action="store_true", help="start everything and wait for Ctrl-C")
    p.add_argument("--check-request", nargs="?", const=HEALTH_SERVICE, metavar="SERVICE",
                   help="print the health check request's hex and exit")
    return p.parse_args(argv)


def unwind_on_signals():
    """SIGTERM, SIGHUP and SIGINT (even when started in the background, which
    ignores SIGINT) unwind like Ctrl-C, so every process is stopped."""
    def handler(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, handler)


def main(argv):
    args = parse_args(argv)
    if args.check_request:
        print(check_request(args.check_request).hex())
        return 0
    for path, what in ((args.server, "--server"), (args.haproxy, "--haproxy"),
                       (args.config, "--config"), (streams.client_path(args), "--client")):
        if not os.path.exists(path):
            print("replicas: %s %s does not exist" % (what, path), file=sys.stderr)
            return 2
    unwind_on_signals()
    try:
        if args.serve:
            serve(args)
            return 0
        protos = harness.load_protos()
        failed = False
        for run in range(args.runs):
            result = run_test(args, protos)
            result["run"] = run + 1
            print(json.dumps(result, sort_keys=True))
            sys.stdout.flush()
            print(table(result), file=sys.stderr)
            failed = failed or bool(result["failures"])
        return 1 if failed else 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
