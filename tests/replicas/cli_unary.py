"""The C++ client's own retries through HAProxy during phase 2's drain.

Two loops run beside phase 2's Python clients. Each runs the real CLI,
`lantern stories --via unary` on data/conversations/stories_en.jsonl, again
and again: one process is one channel to the proxy that makes one Analyze
call after another (a few hundred), as a long-lived caller such as a chat
bot does.
  - `retrying`: the CLI as shipped, whose gRPC retry policy retries
    UNAVAILABLE (docs/api.md, "Retries in the C++ client and the CLI");
    every run must end with exit 0. gRPC's `retry` trace (stderr) says how
    many attempts were retried: counted.
  - `one_attempt`: the same with --max-attempts 1, the control. A run whose
    call reached r2 after SIGTERM and before HAProxy took it out ends with
    UNAVAILABLE; counted, not asserted, since whether a call falls in that
    window depends on the machine's speed.
Only exit codes, status code names and counts are kept. The CLI's table
(counts of alerts, no text) is discarded; the trace, which shows metadata
and message lengths but not text, is read in memory only. (It would show a
bearer token, which is sent as metadata; these runs use none.)
"""

import os
import re
import subprocess
import threading

from cluster import die_with_parent

import harness

STORIES = os.path.join(harness.REPO_ROOT, "data", "conversations", "stories_en.jsonl")
CODE_RE = re.compile(rb"^error: ([A-Z_]+)", re.M)  # the CLI's error line
RETRY_LINE = b"retrying failed call"


class CliLoop:
    """Runs `lantern --target TARGET [extra] stories --via unary` back to back
    on a thread until stop(); counts runs by outcome, and retried attempts."""

    def __init__(self, client, target, extra_args, trace_retries=False):
        self.command = die_with_parent(
            [client, "--target", target] + list(extra_args)
            + ["stories", "--via", "unary", "--json", STORIES])
        self.env = dict(os.environ)
        if trace_retries:
            self.env.update(GRPC_TRACE="retry", GRPC_VERBOSITY="debug")
        self.lock = threading.Lock()
        self.outcomes = {}  # "exit 0" or "exit N CODE" -> runs
        self.retries = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.is_set():
            try:
                proc = subprocess.run(self.command, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, env=self.env, timeout=120,
                                      check=False)
            except subprocess.TimeoutExpired:  # Killed by run(); a failed run.
                outcome, stderr = "timed out after 120 s", b""
            else:
                outcome, stderr = "exit %d" % proc.returncode, proc.stderr
                if proc.returncode != 0:
                    match = CODE_RE.search(stderr)
                    outcome += " " + (match.group(1).decode() if match else "?")
            with self.lock:
                self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
                self.retries += stderr.count(RETRY_LINE)

    def stop(self):
        """Lets the run in progress finish; returns {outcomes, retries}."""
        self.stopping.set()
        self.thread.join(timeout=150)
        with self.lock:
            return {"runs": dict(self.outcomes), "retried_attempts": self.retries}


def start(client, target):
    """The two loops, started."""
    return {"retrying": CliLoop(client, target, [], trace_retries=True),
            "one_attempt": CliLoop(client, target, ["--max-attempts", "1"])}


def stop(loops):
    """Stops the loops; returns ({loop: results}, failures)."""
    results = {name: loop.stop() for name, loop in loops.items()}
    runs = results["retrying"]["runs"]
    failures = []
    if not runs:
        failures.append("cli: the retrying loop finished no run")
    failed = {k: v for k, v in runs.items() if k != "exit 0"}
    if failed:
        failures.append("cli: `lantern stories --via unary` with retries failed through the "
                        "drain: %s" % failed)
    return results, failures
