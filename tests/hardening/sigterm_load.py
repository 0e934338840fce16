"""sigterm_under_load for hostile_clients.py: SIGTERM while clients keep sending.

scenario_sigterm_under_load (at the end) runs --runs fresh servers.

One run: a fresh server; --unary-threads threads call Analyze back to back,
--load-streams streams send continuously and read their answers, and a
poller calls grpc.health.v1.Health/Check every --health-poll-ms. After
--sigterm-after-s the server gets SIGTERM. The server is started with
--shutdown-grace-ms (1000 here; the server's own default is 2000).

What the clients do next is --client-policy:
  balancer (default): clients behind a load balancer, the case the server's
    shutdown contract is written for. A unary caller thread that gets
    UNAVAILABLE, or once the health poller has seen NOT_SERVING, records its
    call and stops sending to this server (it would go to another replica).
    A stream stops writing and half-closes once NOT_SERVING is seen (its
    request iterator ends), or when the stream itself ends.
  stubborn: every client keeps sending regardless until connections are
    refused (a unary thread stops at its first refused connection).

Asserted for balancer (the hardening issue's rule: nothing sent is lost):
  * every unary call ends OK or UNAVAILABLE (CANCELLED, DEADLINE_EXCEEDED or
    anything else counts as lost);
  * every stream ends UNAVAILABLE or OK, the sequences it got answers for are
    exactly 0..n-1 once each, and a stream that ended OK got an answer for
    every message it sent (OK means the server read up to the half-close);
  * the health poller saw NOT_SERVING, and before any connection was refused;
  * the server exits 0.
For stubborn only the exit code and the 0..n-1 answer order are asserted;
call codes are counted, and the calls that ended neither OK nor UNAVAILABLE
(typically CANCELLED) are timed against the first refused connection.
Recorded for both: when (ms after SIGTERM) health first said NOT_SERVING,
the first Analyze got UNAVAILABLE, connections were first refused, and the
process exited.
"""

import signal
import threading
import time

import grpc

import harness
from harness import RssSampler, chat_text, code_name
from scenario_env import check_rss_bound

CONNECT_HINTS = ("failed to connect", "connection refused", "connections to all backends failing")


def add_arguments(parser):
    g = parser.add_argument_group("sigterm_under_load")
    g.add_argument("--runs", type=int, default=1, help="repeat with a fresh server each time (1)")
    g.add_argument("--sigterm-after-s", type=float, default=2.0, help="load before SIGTERM (2)")
    g.add_argument("--unary-threads", type=int, default=32, help="unary caller threads (32)")
    g.add_argument("--load-streams", type=int, default=4, help="streams sending continuously (4)")
    g.add_argument("--health-poll-ms", type=float, default=2.0, help="health poll interval (2)")
    g.add_argument("--client-policy", choices=("balancer", "stubborn"), default="balancer",
                   help="balancer: clients stop sending on UNAVAILABLE or health NOT_SERVING "
                        "and are held to the shutdown contract; stubborn: clients keep sending "
                        "until refused, codes only counted (balancer)")
    g.add_argument("--shutdown-grace-ms", type=int, default=1000,
                   help="passed to the server as --shutdown-grace-ms when it accepts it; "
                        "0 = never pass it (1000)")


def unavailable_kind(details):
    """Why an UNAVAILABLE happened: 'draining' (the server said so), 'connect'
    (nothing listens any more) or 'transport' (the connection broke)."""
    text = (details or "").lower()
    if "shutting down" in text or "draining" in text:
        return "draining"
    if any(hint in text for hint in CONNECT_HINTS):
        return "connect"
    return "transport"


def outcome_label(code, details):
    return "UNAVAILABLE:" + unavailable_kind(details) if code == "UNAVAILABLE" else code


class Shared:
    """State the client threads share: a stop flag and a lock-guarded log."""

    def __init__(self, policy):
        self.policy = policy
        self.stop = threading.Event()
        self.not_serving = threading.Event()  # The health poller has seen NOT_SERVING.
        self.lock = threading.Lock()
        self.unary = []  # (t_sent, t_done, label, details of a lost call)
        self.health_first = {}  # label -> first time seen
        self.health_polls = 0

    def note_health(self, label, t):
        if label == "NOT_SERVING":
            self.not_serving.set()
        with self.lock:
            self.health_polls += 1
            self.health_first.setdefault(label, t)

    def balancer_left(self):
        """True once a balancer-policy client would have left this server."""
        return self.policy == "balancer" and self.not_serving.is_set()


def unary_worker(api, shared, worker_no):
    """Calls Analyze back to back until the server refuses connections
    (stubborn) or until UNAVAILABLE or health NOT_SERVING (balancer)."""
    i = worker_no * 1000000
    while not shared.stop.is_set() and not shared.balancer_left():
        i += 1
        t_sent = time.monotonic()
        code, details, _, _ = harness.rpc_outcome(api.analyze, api.analyze_request(chat_text(i)),
                                                  timeout=30)
        label = outcome_label(code, details)
        lost_details = "" if code in ("OK", "UNAVAILABLE") else details
        with shared.lock:
            shared.unary.append((t_sent, time.monotonic(), label, lost_details))
        if label == "UNAVAILABLE:connect":
            return
        if shared.policy == "balancer" and code == "UNAVAILABLE":
            return


class StreamLoad:
    """One stream that sends continuously and reads every answer.

    Under the balancer policy its request iterator ends (gRPC half-closes)
    once the health poller has seen NOT_SERVING or the stream has ended.
    """

    def __init__(self, api, stream_no, shared):
        self.api = api
        self.stream_no = stream_no
        self.shared = shared
        self.handed = 0
        self.half_closed_at = None
        self.sequences = []
        self.message_errors = {}
        self.code = None
        self.details = ""
        self.ended_at = None
        self.thread = threading.Thread(target=self._read, daemon=True)

    def __iter__(self):
        return self

    def __next__(self):
        if self.half_closed_at is not None:
            raise StopIteration
        if self.shared.balancer_left() or (self.shared.policy == "balancer"
                                            and self.ended_at is not None):
            self.half_closed_at = time.monotonic()
            raise StopIteration
        self.handed += 1
        return self.api.stream_request(chat_text(self.stream_no * 1000000 + self.handed),
                                       "st%d-%d" % (self.stream_no, self.handed))

    def start(self):
        self.call = self.api.stream(self)
        self.thread.start()
        return self

    def _read(self):
        try:
            for response in self.call:
                self.sequences.append(response.sequence)
                if response.WhichOneof("result") == "error":
                    c = response.error.code
                    self.message_errors[c] = self.message_errors.get(c, 0) + 1
            self.code, self.details = code_name(self.call.code()), self.call.details() or ""
        except grpc.RpcError as err:
            self.code, self.details = code_name(err.code()), err.details() or ""
        self.ended_at = time.monotonic()

    def report(self, t_sigterm):
        answered = len(self.sequences)
        return {
            "sent": self.handed, "answered": answered, "unanswered": self.handed - answered,
            "final": outcome_label(self.code, self.details), "details": self.details,
            "sequences_are_prefix": sorted(self.sequences) == list(range(answered)),
            "message_errors": self.message_errors,
            "half_closed_ms": ms_after(self.half_closed_at, t_sigterm),
            "ended_ms": ms_after(self.ended_at, t_sigterm),
        }


def health_poller(api, shared, interval_s):
    """Polls Health/Check until stopped; records the first time of each answer."""
    while not shared.stop.is_set():
        code, details, response, _ = harness.rpc_outcome(
            api.health_check, api.protos.health.HealthCheckRequest(service=""), timeout=0.5)
        if code == "OK":
            label = harness.HEALTH_NAMES.get(response.status, "?")
        else:
            label = outcome_label(code, details)
        shared.note_health(label, time.monotonic())
        time.sleep(interval_s)


def ms_after(t, t0):
    return None if t is None or t0 is None else round((t - t0) * 1000, 1)


def start_server(env, k):
    """A started server, with --shutdown-grace-ms when the server accepts it."""
    grace = env.args.shutdown_grace_ms
    if grace > 0:
        server = env.new_server("sigterm-%d" % k, ["--shutdown-grace-ms=%d" % grace])
        try:
            return server.start(), "passed %d" % grace
        except harness.ServerStartError as err:
            if server.proc.returncode != 2:
                raise
            note = "rejected by the server (%s); ran without it" % err.log_tail.strip()[:80]
    else:
        note = "not passed"
    return env.new_server("sigterm-%d" % k).start(), note


def start_clients(env, server, shared):
    """Starts unary workers, streams and the health poller; returns them."""
    a = env.args
    apis = [env.api(server) for _ in range(4)]
    workers = [threading.Thread(target=unary_worker, args=(apis[w % 4], shared, w), daemon=True)
               for w in range(a.unary_threads)]
    streams = [StreamLoad(env.api(server), s, shared) for s in range(a.load_streams)]
    poller = threading.Thread(target=health_poller,
                              args=(env.api(server), shared, a.health_poll_ms / 1000.0), daemon=True)
    for t in workers:
        t.start()
    for s in streams:
        s.start()
    poller.start()
    return workers, streams, poller


def is_lost(label):
    """A unary outcome that is neither an answer nor UNAVAILABLE."""
    return not (label == "OK" or label.startswith("UNAVAILABLE"))


def count_unary(shared, t_sigterm):
    """Unary outcomes by label, UNAVAILABLEs for calls sent before SIGTERM,
    the first UNAVAILABLE's time, and every lost call's (label, details,
    sent, ended) with times as ms after SIGTERM."""
    counts, before, lost = {}, 0, []
    first_unavailable = None
    for t_sent, t_done, label, details in shared.unary:
        counts[label] = counts.get(label, 0) + 1
        if is_lost(label):
            lost.append({"code": label, "details": details, "sent_ms": ms_after(t_sent, t_sigterm),
                         "ended_ms": ms_after(t_done, t_sigterm)})
        if label.startswith("UNAVAILABLE"):
            if t_sent < t_sigterm:
                before += 1
            if first_unavailable is None or t_done < first_unavailable:
                first_unavailable = t_done
    return counts, before, first_unavailable, lost


def first_refused(shared, t_sigterm):
    times = [t_done for _, t_done, label, _ in shared.unary if label == "UNAVAILABLE:connect"]
    if "UNAVAILABLE:connect" in shared.health_first:
        times.append(shared.health_first["UNAVAILABLE:connect"])
    return ms_after(min(times), t_sigterm) if times else None


def lost_timing(lost, refused_ms, exit_ms):
    """When the lost calls ended, relative to the first refused connection
    (negative: before the port closed) and to the server's exit."""
    if not lost:
        return {"count": 0}
    ended = [c["ended_ms"] for c in lost]
    out = {"count": len(lost), "codes": {},
           "sent_ms_min": min(c["sent_ms"] for c in lost),
           "sent_ms_max": max(c["sent_ms"] for c in lost),
           "ended_ms_min": min(ended), "ended_ms_max": max(ended)}
    for c in lost:
        out["codes"][c["code"]] = out["codes"].get(c["code"], 0) + 1
    if refused_ms is not None:
        out["ended_before_refused"] = sum(1 for t in ended if t < refused_ms)
        out["ended_vs_refused_ms"] = [round(min(ended) - refused_ms, 1),
                                      round(max(ended) - refused_ms, 1)]
    if exit_ms is not None:
        out["ended_vs_exit_ms"] = [round(min(ended) - exit_ms, 1), round(max(ended) - exit_ms, 1)]
    return out


def judge(policy, unary_counts, streams, timeline, exit_code):
    """Failures for one run; see the module docstring for what each policy asserts."""
    failures = []
    if exit_code != "0":
        failures.append("server exit %s after SIGTERM, expected 0" % exit_code)
    for n, s in enumerate(streams):
        if not s["sequences_are_prefix"]:
            failures.append("stream %d: answered sequences are not 0..n-1" % n)
    if policy != "balancer":
        return failures
    lost = {k: v for k, v in unary_counts.items() if is_lost(k)}
    if lost:
        failures.append("unary calls lost (neither answered nor UNAVAILABLE): %s" % lost)
    for n, s in enumerate(streams):
        if not (s["final"] == "OK" or s["final"].startswith("UNAVAILABLE")):
            failures.append("stream %d ended %s (%r), expected UNAVAILABLE or OK" % (
                n, s["final"], s["details"][:60]))
        elif s["final"] == "OK" and s["unanswered"]:
            failures.append("stream %d ended OK with %d of %d sent messages unanswered" % (
                n, s["unanswered"], s["sent"]))
    not_serving, refused = timeline["health_not_serving_ms"], timeline["first_refused_ms"]
    if not_serving is None:
        failures.append("health never seen NOT_SERVING (first refused %s ms)" % refused)
    elif refused is not None and refused <= not_serving:
        failures.append("connection refused at %s ms, before health NOT_SERVING at %s ms" % (
            refused, not_serving))
    return failures


def run_once(env, k):
    """One fresh server, load, SIGTERM, and the accounting described above."""
    server, grace_note = start_server(env, k)
    try:
        result = load_and_terminate(env, server, grace_note)
        result["log"] = server.log_path
        return result
    finally:
        server.kill()  # Only if something went wrong before it exited.


def load_and_terminate(env, server, grace_note):
    """run_once's work once the server is up."""
    sampler = RssSampler(server.pid, 0.5).start()
    baseline = server.memory()["rss_mb"]
    shared = Shared(env.args.client_policy)
    workers, streams, poller = start_clients(env, server, shared)
    time.sleep(env.args.sigterm_after_s)
    t_sigterm = time.monotonic()
    server.signal(signal.SIGTERM)
    code = server.wait(timeout_s=40)
    t_exit = time.monotonic() if code is not None else None
    if code is None:
        server.kill()
    exit_code = harness.describe_exit(server.proc.returncode)
    time.sleep(1.0)  # Let the clients see the closed port.
    shared.stop.set()
    for t in workers + [poller] + [s.thread for s in streams]:
        t.join(timeout=35)
    sampler.stop()
    return summarise(shared, streams, t_sigterm, t_exit, exit_code, grace_note,
                     {"baseline_mb": baseline, "peak_mb": sampler.peak_mb, "hwm_mb": sampler.hwm_mb})


def run_row(unary_counts, timeline, exit_code):
    """The per-run numbers the report table shows."""
    unavailable = sum(v for k, v in unary_counts.items() if k.startswith("UNAVAILABLE"))
    return {"ok": unary_counts.get("OK", 0), "unavailable": unavailable,
            "cancelled_or_other": sum(v for k, v in unary_counts.items() if is_lost(k)),
            "not_serving_ms": timeline["health_not_serving_ms"],
            "first_unavailable_ms": timeline["first_analyze_unavailable_ms"],
            "first_refused_ms": timeline["first_refused_ms"],
            "exit_ms": timeline["server_exit_ms"], "exit_code": exit_code}


def summarise(shared, streams, t_sigterm, t_exit, exit_code, grace_note, rss):
    """The run's result dict with failures and table lines."""
    unary_counts, unavailable_before, first_unavail, lost = count_unary(shared, t_sigterm)
    stream_reports = [s.report(t_sigterm) for s in streams]
    timeline = {
        "health_not_serving_ms": ms_after(shared.health_first.get("NOT_SERVING"), t_sigterm),
        "first_analyze_unavailable_ms": ms_after(first_unavail, t_sigterm),
        "first_refused_ms": first_refused(shared, t_sigterm),
        "server_exit_ms": ms_after(t_exit, t_sigterm),
    }
    health_seen = {k: ms_after(v, t_sigterm) for k, v in shared.health_first.items()}
    failures = judge(shared.policy, unary_counts, stream_reports, timeline, exit_code)
    lost_summary = lost_timing(lost, timeline["first_refused_ms"], timeline["server_exit_ms"])
    summary = [
        "unary: %s (UNAVAILABLE for %d sent before SIGTERM)" % (unary_counts, unavailable_before),
        "streams sent/answered/final: %s" % ", ".join(
            "%d/%d/%s" % (s["sent"], s["answered"], s["final"]) for s in stream_reports),
        "ms after SIGTERM: health NOT_SERVING %s, first Analyze UNAVAILABLE %s, "
        "refused %s, exit %s (code %s)" % (
            timeline["health_not_serving_ms"], timeline["first_analyze_unavailable_ms"],
            timeline["first_refused_ms"], timeline["server_exit_ms"], exit_code),
        "--client-policy %s; --shutdown-grace-ms: %s" % (shared.policy, grace_note),
    ]
    if lost:
        summary.append("calls neither OK nor UNAVAILABLE: %s, ended %s..%s ms after SIGTERM "
                       "(%s ms vs first refused; %s before it); e.g. %r" % (
                           lost_summary["codes"], lost_summary["ended_ms_min"],
                           lost_summary["ended_ms_max"], lost_summary.get("ended_vs_refused_ms"),
                           lost_summary.get("ended_before_refused"), lost[0]["details"][:80]))
    return {"policy": shared.policy, "row": run_row(unary_counts, timeline, exit_code),
            "unary": unary_counts, "unary_unavailable_sent_before_sigterm": unavailable_before,
            "lost_calls": lost_summary, "lost_call_samples": lost[:10],
            "streams": stream_reports, "timeline_ms": timeline, "health_first_seen_ms": health_seen,
            "health_polls": shared.health_polls, "server_exit": exit_code,
            "shutdown_grace": grace_note, "rss": rss, "failures": failures, "summary": summary}


# --------------------------------------------------------------------------
# The scenario: --runs fresh servers, one table row per run
# --------------------------------------------------------------------------

def scenario_sigterm_under_load(env):
    """SIGTERM while 32 unary callers and 4 streams keep sending; --runs K times.

    See this module's docstring for the two --client-policy values and what
    each asserts. The summary ends with one row per run.
    """
    runs, failures, summary = [], [], []
    peak = {"baseline_mb": 0.0, "peak_mb": 0.0, "hwm_mb": 0.0}
    for k in range(env.args.runs):
        run = run_once(env, k)
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
