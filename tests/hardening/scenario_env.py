"""Running a scenario against a fresh server: what every scenario shares.

Env carries the parsed options, the protos and the log folder; with_server
starts a server, runs a scenario's body and adds the checks every scenario
gets (the server still answers, did not die, stayed within --max-rss-mb,
and exits cleanly on SIGTERM).
"""

import os
import tempfile

import harness
from harness import Analyzer, RssSampler, ServerProcess, chat_text, open_channel, rpc_outcome


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
