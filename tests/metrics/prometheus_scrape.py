"""A real Prometheus scrapes a real lantern-server; values are read back
through Prometheus's own query API (ctest: metrics).

Starts lantern-server with --metrics-listen 127.0.0.1:0 (port read from its
log) and Debian's `prometheus` on a free loopback port with a temporary
config (scrape interval 1 s) and a temporary storage dir. Once Prometheus
reports the target up, it drives a known number of calls: --calls Analyze
calls with distinct ordinary texts, --invalid Analyze calls with empty text,
and one StreamAnalyze stream of --stream-messages messages. Then, through
/api/v1/query, it asserts:

  * lantern_requests_total{rpc="Analyze",code="OK"} equals --calls exactly,
    {code="INVALID_ARGUMENT"} equals --invalid, and {rpc="StreamAnalyze",
    code="OK"} equals --stream-messages (the counters are never seen above
    these either);
  * sum(lantern_analyses_total) equals the analyses returned;
  * histogram_quantile() of the Analyze latency (p50 and p99 over a rate
    window) and of the encoder's forward pass exists and is finite, and p50
    <= p99;
  * lantern_serving is 1 and lantern_build_info has a version.

Everything it started (both processes, the temp dirs) is removed at the end,
also on failure. One JSON line of results on stdout; exit 1 on a failed
assertion. Nothing printed contains message text.
"""

import argparse
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hardening"))
import harness  # noqa: E402

METRICS_RE = re.compile(r"metrics on http://[^ ]*:(\d+)/metrics")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """Debian's prometheus on 127.0.0.1, scraping one target every second."""

    def __init__(self, binary, target, workdir):
        self.port = free_port()
        self.workdir = workdir
        config = os.path.join(workdir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: lantern\n    scrape_interval: 1s\n"
                    "    scrape_timeout: 1s\n"
                    "    static_configs:\n      - targets: ['%s']\n" % target)
        self.log_path = os.path.join(workdir, "prometheus.log")
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "--config.file=" + config,
             "--storage.tsdb.path=" + os.path.join(workdir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def get(self, path, timeout=5.0):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                    timeout=timeout) as r:
            return r.read().decode()

    def wait_ready(self, timeout_s=60.0):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("prometheus exited: " + self.log_tail())
            try:
                self.get("/-/ready", timeout=1.0)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("prometheus not ready in %.0f s: %s" % (timeout_s, self.log_tail()))

    def query(self, expr):
        """The instant vector of `expr` as [(labels, float)]."""
        body = json.loads(self.get("/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
        if body.get("status") != "success":
            raise RuntimeError("query %r failed: %s" % (expr, body))
        return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]

    def scalar(self, expr):
        """The single value of `expr`, or None when it has no result."""
        result = self.query(expr)
        if not result:
            return None
        if len(result) != 1:
            raise RuntimeError("%r returned %d series" % (expr, len(result)))
        return result[0][1]

    def log_tail(self, lines=10):
        try:
            with open(self.log_path, errors="replace") as f:
                return "\n".join(f.read().splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_until(fn, timeout_s, what):
    """Polls fn() until it returns a truthy value; returns it or raises."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout_s, what))


def drive(target, protos, calls, invalid, stream_messages):
    """Makes the calls; returns how many analyses came back."""
    channel = harness.open_channel(target)
    harness.wait_channel_ready(channel)
    analyzer = harness.Analyzer(channel, protos)
    analyses = 0
    for i in range(calls):
        analyzer.analyze(analyzer.analyze_request(harness.chat_text(i), "m%d" % i), timeout=30)
        analyses += 1
    for i in range(invalid):
        try:
            analyzer.analyze(analyzer.analyze_request("", "bad%d" % i), timeout=30)
            raise AssertionError("an empty text was accepted")
        except harness.grpc.RpcError as e:
            if e.code() != harness.grpc.StatusCode.INVALID_ARGUMENT:
                raise
    requests = [analyzer.stream_request(harness.chat_text(1000 + i), "s%d" % i)
                for i in range(stream_messages)]
    answers = list(analyzer.stream(iter(requests), timeout=60))
    if len(answers) != stream_messages or any(a.HasField("error") for a in answers):
        raise AssertionError("stream answered %d of %d" % (len(answers), stream_messages))
    analyses += stream_messages
    channel.close()
    return analyses


def run(args):
    protos = harness.load_protos()
    workdir = tempfile.mkdtemp(prefix="lantern-metrics-test-")
    server = harness.ServerProcess(args.server, args.models, log_dir=workdir,
                                   extra_args=["--metrics-listen", "127.0.0.1:0"])
    prometheus = None
    results = {}
    try:
        server.start()
        match = METRICS_RE.search(server.log_text())
        if not match:
            raise AssertionError("no 'metrics on' line in the server log")
        metrics_port = int(match.group(1))
        prometheus = Prometheus(args.prometheus, "127.0.0.1:%d" % metrics_port, workdir)
        prometheus.wait_ready()
        wait_until(lambda: prometheus.scalar('up{job="lantern"}') == 1, 30,
                   "Prometheus to scrape lantern (up == 1)")

        start = time.monotonic()
        analyses = drive(server.target, protos, args.calls, args.invalid,
                         args.stream_messages)
        results["drive_s"] = round(time.monotonic() - start, 2)

        ok = 'lantern_requests_total{job="lantern",rpc="Analyze",code="OK"}'
        wait_until(lambda: prometheus.scalar(ok) == args.calls, 30,
                   "%s == %d" % (ok, args.calls))
        # A few more scrapes: the value stays exact (nothing counted twice,
        # no warm-up or GetStatus traffic counted as Analyze).
        time.sleep(2.5)
        checks = {
            ok: args.calls,
            'lantern_requests_total{rpc="Analyze",code="INVALID_ARGUMENT"}': args.invalid,
            'lantern_requests_total{rpc="StreamAnalyze",code="OK"}': args.stream_messages,
            "sum(lantern_analyses_total)": analyses,
            'max_over_time(lantern_requests_total{rpc="Analyze",code="OK"}[5m])': args.calls,
            "lantern_serving": 1,
        }
        failures = []
        for expr, want in checks.items():
            got = prometheus.scalar(expr)
            results[expr] = got
            if got != want:
                failures.append("%s = %s, want %s" % (expr, got, want))

        quantiles = {
            "p50": 'histogram_quantile(0.5, sum by (le) (rate('
                   'lantern_request_duration_seconds_bucket{rpc="Analyze"}[1m])))',
            "p99": 'histogram_quantile(0.99, sum by (le) (rate('
                   'lantern_request_duration_seconds_bucket{rpc="Analyze"}[1m])))',
            "encoder_forward_p50": 'histogram_quantile(0.5, sum by (le) ('
                                   'lantern_model_forward_seconds_bucket{model="encoder"}))',
        }
        for name, expr in quantiles.items():
            value = prometheus.scalar(expr)
            results[name + "_s"] = value
            if value is None or not math.isfinite(value) or value <= 0:
                failures.append("%s = %s, want a finite value > 0 (%s)" % (name, value, expr))
        if (results.get("p50_s") and results.get("p99_s")
                and results["p50_s"] > results["p99_s"]):
            failures.append("p50 %s > p99 %s" % (results["p50_s"], results["p99_s"]))
        info = prometheus.query("lantern_build_info")
        results["version"] = info[0][0].get("version") if info else None
        if not results["version"]:
            failures.append("lantern_build_info has no version label")
        results["failures"] = failures
        return results
    finally:
        if prometheus is not None:
            prometheus.stop()
        results["server_exit"] = server.stop() if server.proc else None
        if args.keep:
            results["workdir"] = workdir
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.path.join(harness.REPO_ROOT, "build", "server",
                                                         "lantern-server"))
    parser.add_argument("--models", default=os.path.join(harness.REPO_ROOT, "models", "default"))
    parser.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--invalid", type=int, default=3)
    parser.add_argument("--stream-messages", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, config)")
    args = parser.parse_args()
    if not os.path.exists(args.prometheus):
        print("prometheus not found (Debian package 'prometheus'; scripts/setup.sh installs it)",
              file=sys.stderr)
        return 1
    results = run(args)
    print(json.dumps(results, sort_keys=True))
    if results["failures"]:
        for failure in results["failures"]:
            print("FAIL: " + failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
