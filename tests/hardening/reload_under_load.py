#!/usr/bin/env python3
"""Model reload without downtime, with the real binaries (issue 12).

Starts lantern-server on a copy of a model directory, runs `lantern bench`
against it, and while the bench runs changes the copy's ensemble.json (a new
version and a lower LOW threshold) and sends SIGHUP; --runs K times. Checks,
per run: the bench saw no error and answered every call it sent; health was
SERVING at every poll (every 20 ms) from before the reload to after it; the
server logged the reload; an Analyze after it carries the new
ensemble_version. A last run writes a broken ensemble.json: the server logs
the file and the reason, and keeps serving the old version.

Exit code: 0 when every check passed, 1 when one failed, 2 on a usage or
start-up error. Prints one JSON line per run and a summary.

    reload_under_load.py --server build/server/lantern-server \\
        --client build/client/lantern --models models/default [--runs 2]
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import harness

RELOADED = "models reloaded: ensemble "
FAILED = "model reload failed; ensemble "


def write_ensemble(models, version, broken=False):
    path = os.path.join(models, "ensemble.json")
    if broken:
        with open(path, "w") as f:
            f.write('{"version": "%s", "models": [' % version)
        return
    with open(path) as f:
        ensemble = json.load(f)
    ensemble["version"] = version
    ensemble["thresholds"]["low"] = round(ensemble["thresholds"]["low"] * 0.9, 4)
    with open(path, "w") as f:
        json.dump(ensemble, f, indent=2)


class HealthPoller:
    """Polls Health/Check for the Analyzer service until stopped."""

    def __init__(self, api, every_s=0.02):
        self.api, self.every_s = api, every_s
        self.polls, self.not_serving = 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                state = self.api.health("lantern.v1.Analyzer")
            except Exception as err:  # pylint: disable=broad-except
                state = "error %s" % type(err).__name__
            self.polls += 1
            if state != "SERVING":
                self.not_serving.append(state)
            time.sleep(self.every_s)

    def stop(self):
        self._stop.set()
        self._thread.join()


def wait_for_log(server, needle, count, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.log_text().count(needle) >= count:
            return True
        time.sleep(0.05)
    return False


def run_bench(args, target, seconds):
    command = [args.client, "bench", "--target", target, "--concurrency", "16",
               "--duration", str(seconds), "--warmup", "0", "--pause-probes", "0",
               "--json"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def one_reload(args, server, api, models, k):
    """SIGHUP under bench load; returns a result dict with "failures"."""
    failures = []
    version = "reload-test-%d" % (k + 1)
    poller = HealthPoller(api).start()
    bench = run_bench(args, server.target, args.bench_seconds)
    time.sleep(args.bench_seconds / 3.0)
    write_ensemble(models, version)
    server.signal(signal.SIGHUP)
    if not wait_for_log(server, RELOADED, k + 1, timeout_s=60):
        failures.append("no '%s' line within 60 s" % RELOADED.strip())
    out, err = bench.communicate(timeout=args.bench_seconds + 60)
    poller.stop()
    result = {"run": k + 1, "version": version, "health_polls": poller.polls}
    if bench.returncode != 0:
        failures.append("lantern bench exited %d: %s" % (bench.returncode, err.strip()[-300:]))
    else:
        report = json.loads(out)
        result["bench"] = {key: report.get(key) for key in
                           ("sent", "ok", "unanswered", "throughput", "errors")}
        if report.get("errors") or report.get("unanswered"):
            failures.append("bench errors %s, unanswered %s"
                            % (report.get("errors"), report.get("unanswered")))
        if not report.get("sent") or report.get("sent") != report.get("ok"):
            failures.append("bench sent %s, %s OK" % (report.get("sent"), report.get("ok")))
    if poller.not_serving:
        failures.append("health not SERVING at %d of %d polls: %s"
                        % (len(poller.not_serving), poller.polls, sorted(set(poller.not_serving))))
    code, details, response, _ = harness.rpc_outcome(
        api.analyze, api.analyze_request("good morning everyone"), timeout=10)
    if code != "OK":
        failures.append("Analyze after the reload: %s %s" % (code, details))
    elif response.analysis.ensemble_version != version:
        failures.append("Analyze after the reload carries ensemble_version %r, not %r"
                        % (response.analysis.ensemble_version, version))
    result["failures"] = failures
    return result


def broken_reload(server, api, models, last_version):
    """A broken ensemble.json: logged with the file, the old version serves."""
    failures = []
    write_ensemble(models, "broken", broken=True)
    server.signal(signal.SIGHUP)
    if not wait_for_log(server, FAILED, 1, timeout_s=60):
        failures.append("no '%s' line within 60 s" % FAILED.strip())
    else:
        line = [l for l in server.log_text().splitlines() if FAILED in l][-1]
        if "ensemble.json" not in line:
            failures.append("the failure line does not name ensemble.json")
    code, details, response, _ = harness.rpc_outcome(
        api.analyze, api.analyze_request("good morning everyone"), timeout=10)
    if code != "OK":
        failures.append("Analyze after the broken reload: %s %s" % (code, details))
    elif response.analysis.ensemble_version != last_version:
        failures.append("after a broken reload the version is %r, not %r"
                        % (response.analysis.ensemble_version, last_version))
    if api.health("lantern.v1.Analyzer") != "SERVING":
        failures.append("health not SERVING after the broken reload")
    return {"run": "broken", "failures": failures}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", required=True)
    p.add_argument("--client", required=True)
    p.add_argument("--models", required=True)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--bench-seconds", type=float, default=9)
    args = p.parse_args(argv)
    for path in (args.server, args.client, args.models):
        if not os.path.exists(path):
            sys.stderr.write("not found: %s\n" % path)
            return 2
    work = tempfile.mkdtemp(prefix="lantern-reload-")
    models = os.path.join(work, "models")
    shutil.copytree(args.models, models)
    protos = harness.load_protos()
    server = harness.ServerProcess(args.server, models, log_dir=work, name="server")
    try:
        server.start()
        api = harness.Analyzer(harness.open_channel(server.target), protos)
        results = [one_reload(args, server, api, models, k) for k in range(args.runs)]
        results.append(broken_reload(server, api, models, "reload-test-%d" % args.runs))
        for r in results:
            print(json.dumps(r), flush=True)
        failed = [r for r in results if r["failures"]]
        for r in failed:
            for f in r["failures"]:
                sys.stderr.write("run %s: %s\n" % (r["run"], f))
        sys.stderr.write("%d passed, %d failed (server log: %s)\n"
                         % (len(results) - len(failed), len(failed), server.log_path))
        return 1 if failed else 0
    except harness.ServerStartError as err:
        sys.stderr.write("server did not start: %s\n%s\n" % (err, err.log_tail))
        return 2
    finally:
        server.stop()
        if server.proc is not None and server.proc.returncode in (0, -signal.SIGTERM):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
