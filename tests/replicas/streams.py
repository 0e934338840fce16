"""Phase 3 of tests/replicas/replicas.py: a StreamAnalyze feed through HAProxy
survives the drain of the replica that holds it.

It runs on a fresh Cluster of three replicas, because the drain check
before it has taken r2 away, and two replicas are not enough: the CLI's
reconnect polls health through the proxy, round robin sends that poll to
the survivor (SERVING, so the backoff ends at once) and the new stream to
the draining replica, which refuses it; this repeats until the helper gives
up after 10 streams, all before HAProxy's check takes the replica out
(measured 3 of 3 times). With three, the poll goes to the next replica and
the stream to the one after it, never back to the drained one, because the
CLI is the proxy's only client here; with other clients of the proxy a
reconnect may land on the draining replica too (see deploy/README.md).

The real CLI, `lantern --target PROXY stream` (client/cli_stream.cc, on the
C++ ReliableStream helper), reads --stream-messages JSON lines of generic
chat from a thread that writes them to its stdin, paced over
--stream-feed-s. After --stream-before-s the replica that holds the stream
(the one whose own GetStatus reports an active stream) gets SIGTERM; it
answers what it read and ends the stream with UNAVAILABLE (docs/api.md).
Checked:
  - every message fed got exactly one answer, by message id and index
    (`sequence`), each an analysis, none an error;
  - the CLI exited 0 and its summary says every message was sent and
    answered, no errors, exactly one reconnect;
  - the drained replica exited 0;
  - after SIGTERM, while the feed goes on, a replica other than the drained
    one holds the stream, and no other;
  - the replicas' own GetStatus counted at least as many messages analysed
    as were fed, and at most that plus the messages the CLI resent.

Only counts, codes and times are printed; the CLI's answers are parsed in
memory and never written anywhere.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "hardening"))
import harness  # noqa: E402  pylint: disable=wrong-import-position
from cluster import REPLICAS, Cluster, die_with_parent  # noqa: E402

# Everyday chat, nothing to flag; a counter makes every text distinct, so
# the result cache answers none of them.
CHAT = (
    "who is bringing snacks to the meetup on saturday",
    "the new map is huge, took me an hour to find the shop",
    "brb making tea, save me a spot in the queue",
    "anyone tried the noodle place next to the station",
    "my build finally compiled, going to grab lunch",
    "rain again today so we are playing indoors",
    "congrats on the new job, well deserved",
    "can someone post the link to the tournament bracket",
)
CHANNELS = 4
SUMMARY_RE = re.compile(r"stream: (\d+) sent, (\d+) answered, (\d+) errors, "
                        r"(\d+) reconnects, (\d+) resent, (\d+) refused while full")
SUMMARY_FIELDS = ("sent", "answered", "errors", "reconnects", "resent", "refused_full")


def add_arguments(parser):
    parser.add_argument("--client", help="the lantern CLI (default: client/lantern next to "
                        "--server's folder, else build/client/lantern)")
    parser.add_argument("--stream-messages", type=int, default=300,
                        help="messages fed to the stream (300)")
    parser.add_argument("--stream-feed-s", type=float, default=6.0,
                        help="the feed is spread over this long (6)")
    parser.add_argument("--stream-before-s", type=float, default=2.0,
                        help="the stream runs this long before its replica gets SIGTERM (2)")
    parser.add_argument("--stream-budget-s", type=float, default=60.0,
                        help="the CLI must have exited this long after the feed ended (60)")


def client_path(args):
    if args.client:
        return args.client
    beside = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.server))),
                          "client", "lantern")
    if os.path.exists(beside):
        return beside
    return os.path.join(harness.REPO_ROOT, "build", "client", "lantern")


def message_id(i):
    return "feed-%d" % i


def feed_line(i):
    return json.dumps({"id": message_id(i), "channel_id": "chan-%d" % (i % CHANNELS),
                       "text": "%s (%d)" % (CHAT[i % len(CHAT)], i)})


# --------------------------------------------------------------------------
# The CLI and its input and output
# --------------------------------------------------------------------------

class Feed:
    """The CLI, a thread writing its stdin at a steady pace and one reading
    its stdout; answers are kept as (index from sequence, id, kind) only."""

    def __init__(self, client, target, messages, feed_s, log_dir):
        self.messages = messages
        self.interval = feed_s / messages
        self.err_path = os.path.join(log_dir, "cli-stream.stderr")
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                die_with_parent([client, "--target", target, "stream"]),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        self.lock = threading.Lock()
        self.fed = 0
        self.t_start = time.monotonic()
        self.t_fed = None
        self.answers = []  # (index, message id, "analysis" | "error" | other)
        self.threads = [threading.Thread(target=self.write, daemon=True),
                        threading.Thread(target=self.read, daemon=True)]
        for t in self.threads:
            t.start()

    def write(self):
        try:
            for i in range(self.messages):
                pause = self.t_start + i * self.interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                self.proc.stdin.write((feed_line(i) + "\n").encode())
                self.proc.stdin.flush()
                with self.lock:
                    self.fed += 1
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):  # The CLI ended early: checked later.
            pass
        self.t_fed = time.monotonic()

    def read(self):
        for raw in self.proc.stdout:
            try:
                answer = json.loads(raw)
                kind = next((k for k in ("analysis", "error") if k in answer), "other")
                entry = (int(answer.get("sequence", -1)), answer.get("message_id"), kind)
            except (ValueError, AttributeError):
                entry = (-1, None, "unparsable")
            with self.lock:
                self.answers.append(entry)

    def counts(self):
        with self.lock:
            return self.fed, len(self.answers)

    def finish(self, budget_s):
        """Waits for the feed, then for the CLI; returns its exit code or None."""
        self.threads[0].join(timeout=self.messages * self.interval + budget_s)
        try:
            code = self.proc.wait(timeout=budget_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        self.threads[1].join(timeout=5)
        return code

    def summary(self):
        """The counters of the CLI's `stream: ...` stderr line, or None."""
        with open(self.err_path, errors="replace") as f:
            match = SUMMARY_RE.search(f.read())
        return dict(zip(SUMMARY_FIELDS, map(int, match.groups()))) if match else None


# --------------------------------------------------------------------------
# Who holds the stream
# --------------------------------------------------------------------------

def statuses(direct, names):
    """{name: GetStatusResponse, or None when the replica does not answer}."""
    out = {}
    for n in names:
        try:
            out[n] = direct[n].get_status(direct[n].protos.analyzer.GetStatusRequest(), timeout=2)
        except grpc.RpcError:
            out[n] = None
    return out


def holders(status):
    return sorted(n for n, s in status.items() if s is not None and s.active_streams > 0)


def find_holder(direct, deadline):
    """The one replica that reports an open stream; None if not exactly one."""
    while time.monotonic() < deadline:
        held = holders(statuses(direct, REPLICAS))
        if len(held) == 1:
            return held[0]
        time.sleep(0.05)
    return None


def watch_takeover(direct, drained, deadline, feed):
    """After SIGTERM: polls until another replica holds the stream and the
    drained one reports its stream over. Returns {new holder or None, when it
    was seen and how many messages had been fed then, every other holder
    seen}, and the drained replica's last status with no stream open, or
    None."""
    others = [n for n in REPLICAS if n != drained]
    seen = {"new_holder": None, "t": None, "fed": None, "all": set()}
    final = None
    while time.monotonic() < deadline and (seen["new_holder"] is None or final is None):
        status = statuses(direct, others if final else REPLICAS)
        held = holders({n: status[n] for n in others})
        seen["all"].update(held)
        if seen["new_holder"] is None and len(held) == 1:
            seen.update(new_holder=held[0], t=time.monotonic(), fed=feed.counts()[0])
        if final is None and status[drained] is not None and status[drained].active_streams == 0:
            final = status[drained]
            # gRPC Python leaves an idle channel's connection open even after
            # the server's GOAWAY, and the draining server waits for it (8 s
            # more here): close it now that the last count is read.
            direct[drained].channel.close()
        time.sleep(0.05)
    seen["all"] = sorted(seen["all"])
    return seen, final


# --------------------------------------------------------------------------
# The phase
# --------------------------------------------------------------------------

def answer_failures(answers, messages):
    """Exactly one analysis per message fed, matched by id and index."""
    by_index = {}
    for index, msg_id, kind in answers:
        by_index.setdefault(index, []).append((msg_id, kind))
    missing = [i for i in range(messages) if i not in by_index]
    extra = sorted(set(by_index) - set(range(messages)))
    duplicated = [i for i, v in by_index.items() if len(v) > 1]
    wrong_id = [i for i in range(messages)
                if i in by_index and by_index[i][0][0] != message_id(i)]
    kinds = {}
    for _, _, kind in answers:
        kinds[kind] = kinds.get(kind, 0) + 1
    counts = {"answers": len(answers), "answers_by_kind": kinds, "missing": len(missing),
              "duplicated": len(duplicated), "unknown_index": len(extra),
              "id_not_matching_index": len(wrong_id)}
    failures = []
    if len(answers) != messages or missing or duplicated or extra or wrong_id:
        failures.append("stream: %d messages fed, %d answers: %d missing (first %s), "
                        "%d answered more than once, %d unknown indices, %d with another "
                        "message's id" % (messages, len(answers), len(missing), missing[:5],
                                          len(duplicated), len(extra), len(wrong_id)))
    if kinds.get("analysis", 0) != len(answers):
        failures.append("stream: answers by kind %s; every answer should be an analysis" % kinds)
    return counts, failures


def summary_failures(code, summary, messages):
    failures = []
    if code != 0:
        failures.append("stream: the CLI exited %s" % (
            "only when killed" if code is None else harness.describe_exit(code)))
    expected = {"sent": messages, "answered": messages, "errors": 0, "reconnects": 1,
                "refused_full": 0}
    if summary is None:
        failures.append("stream: the CLI printed no summary line")
    elif any(summary[k] != v for k, v in expected.items()):
        failures.append("stream: the CLI's summary %s; expected %s" % (summary, expected))
    return failures


def drive(cluster, direct, args, result):
    """Feeds the CLI, drains the holder; fills result, returns the failures."""
    feed = Feed(client_path(args), cluster.proxy.target, args.stream_messages,
                args.stream_feed_s, cluster.log_dir)
    holder = find_holder(direct, feed.t_start + args.stream_before_s + 10)
    if holder is None:
        feed.proc.kill()
        feed.finish(budget_s=5)
        return ["stream: no single replica reported the stream open"]
    time.sleep(max(0.0, feed.t_start + args.stream_before_s - time.monotonic()))
    victim = cluster.replicas[holder]
    fed_at, answered_at = feed.counts()
    t_sigterm = time.monotonic()
    victim.signal(signal.SIGTERM)
    seen, final = watch_takeover(direct, holder, t_sigterm + args.grace_ms / 1000.0 - 0.5, feed)
    code = feed.finish(args.stream_budget_s)
    exited = victim.wait(timeout_s=60) is not None
    t_exit = time.monotonic()
    if not exited:
        victim.kill()
    result.update({
        "holder": holder, "new_holder": seen["new_holder"], "holders_after_sigterm": seen["all"],
        "sigterm_s_after_start": round(t_sigterm - feed.t_start, 2),
        "fed_at_sigterm": fed_at, "answered_at_sigterm": answered_at,
        "new_holder_ms_after_sigterm": ms(seen["t"], t_sigterm),
        "fed_when_new_holder_seen": seen["fed"],
        "feed_s": round((feed.t_fed or time.monotonic()) - feed.t_start, 2),
        "fed": feed.counts()[0], "cli_summary": feed.summary(),
        "cli_exit": None if code is None else harness.describe_exit(code),
        "drained_exit": harness.describe_exit(victim.proc.returncode),
        "drained_exit_ms_after_sigterm": ms(t_exit, t_sigterm) if exited else None,
    })
    counts, failures = answer_failures(feed.answers, args.stream_messages)
    result.update(counts)
    failures += summary_failures(code, result["cli_summary"], args.stream_messages)
    failures += takeover_failures(result, final)
    after = statuses(direct, [n for n in REPLICAS if n != holder])
    after[holder] = final
    return failures + served_failures(result, after, args.stream_messages)


def takeover_failures(result, final):
    failures = []
    if result["drained_exit"] != "0":
        failures.append("stream: %s exited %s after SIGTERM" % (
            result["holder"], result["drained_exit"]))
    if result["new_holder"] is None:
        failures.append("stream: no other replica was seen holding the stream after %s "
                        "got SIGTERM" % result["holder"])
    elif result["holders_after_sigterm"] != [result["new_holder"]]:
        failures.append("stream: after SIGTERM the stream was seen on %s" %
                        result["holders_after_sigterm"])
    elif result["fed_when_new_holder_seen"] >= result["fed"]:
        failures.append("stream: the new holder was seen only after the feed ended")
    if final is None:
        failures.append("stream: %s never reported its stream closed before its port closed"
                        % result["holder"])
    return failures


def served_failures(result, after, messages):
    """The replicas' requests_served since the phase began cover the feed."""
    before = result.pop("served_before")
    if any(s is None for s in after.values()):
        return ["stream: GetStatus did not answer at the end from %s" % sorted(
            n for n, s in after.items() if s is None)]
    served = {n: after[n].requests_served - before[n] for n in REPLICAS}
    result["analysed_by"] = served
    result["analysed_total"] = sum(served.values())
    resent = (result["cli_summary"] or {}).get("resent", 0)
    if not messages <= result["analysed_total"] <= messages + resent:
        return ["stream: the replicas analysed %d messages; %d were fed and %d resent" % (
            result["analysed_total"], messages, resent)]
    return []


def ms(t, t0):
    return None if t is None or t0 is None else round((t - t0) * 1000)


def stream_args(args):
    """args with a log folder of its own for the phase's cluster."""
    copy = type(args)(**vars(args))
    copy.log_dir = (os.path.join(args.log_dir, "streams") if args.log_dir
                    else tempfile.mkdtemp(prefix="lantern-replicas-streams-"))
    return copy


def run(args, protos):
    """Phase 3 on a fresh cluster; returns (result, failures)."""
    with Cluster(stream_args(args)) as cluster:
        t0 = time.monotonic()
        cluster.start()
        cluster.wait_all_up()
        result = {"start_s": round(time.monotonic() - t0, 1), "messages": args.stream_messages,
                  "logs": cluster.log_dir}
        direct = {n: harness.Analyzer(harness.open_channel(r.target), protos)
                  for n, r in cluster.replicas.items()}
        result["served_before"] = {n: s.requests_served
                                   for n, s in statuses(direct, REPLICAS).items()}
        failures = drive(cluster, direct, args, result)
        result.pop("served_before", None)
        return result, failures


def table_lines(s):
    """The stream phase's lines of replicas.py's stderr table."""
    summary = s.get("cli_summary") or {}
    return [
        "streams: %d fed over %.1f s, %d answers %s, %d missing, %d duplicated; CLI exit %s, "
        "%s reconnects, %s resent" % (
            s.get("fed", 0), s.get("feed_s", 0), s.get("answers", 0),
            s.get("answers_by_kind"), s.get("missing", 0), s.get("duplicated", 0),
            s.get("cli_exit"), summary.get("reconnects"), summary.get("resent")),
        "  held by %s, SIGTERM at %s s (%s fed, %s answered); %s holds it %s ms later; "
        "%s exit %s after %s ms; analysed by %s = %s" % (
            s.get("holder"), s.get("sigterm_s_after_start"), s.get("fed_at_sigterm"),
            s.get("answered_at_sigterm"), s.get("new_holder"),
            s.get("new_holder_ms_after_sigterm"), s.get("holder"), s.get("drained_exit"),
            s.get("drained_exit_ms_after_sigterm"), s.get("analysed_by"),
            s.get("analysed_total")),
    ]
