"""nonreading_streams and oversized: clients that try to make the server
hold memory (streams that never read their answers; 4 MB requests)."""

import threading
import time

import grpc

import harness
from harness import chat_text, median_ms, padded_text, rpc_outcome
from scenario_env import with_server


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
    def body(server, api, sampler):
        run = flood_and_cancel(env, server, api, sampler)
        out = nonreading_result(env.args, run)
        out["summary"] = nonreading_summary(env.args, out)
        return out
    return with_server(env, "nonreading_streams", body, sample_s=1.0)


def flood_and_cancel(env, server, api, sampler):
    """The scenario's run: open the streams, let them push for
    --stream-seconds while probes and GetStatus polls run, count the
    streams that ended, cancel them all, wait 5 s, read RSS and GetStatus.
    Returns what was measured, as a dict."""
    a = env.args
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
    return {"message_chars": message_chars, "open_s": open_s, "during_mb": during_mb,
            "final_codes": final_codes, "probes": probes, "statuses": statuses,
            "after": after, "status_code": code, "status": status,
            "frames_handed": sum(f.handed for f in floods), "rss_samples": sampler.samples[:]}


def nonreading_result(a, run):
    """The scenario's JSON fields from flood_and_cancel's measurements."""
    probes, statuses, final_codes = run["probes"], run["statuses"], run["final_codes"]
    after, status = run["after"], run["status"]
    latencies = [ms for c, ms, _ in probes if c == "OK"]
    server_ms = [ms for c, _, ms in probes if c == "OK"]
    peak_status, most = at_peak(statuses)
    return {
        "streams": a.streams, "connections": a.connections, "seconds": a.stream_seconds,
        "message_bytes": a.message_bytes,
        "message_chars": run["message_chars"],
        "open_seconds": run["open_s"],  # status_samples' t_s counts from before the opening.
        "frames_handed": run["frames_handed"],
        "stream_final_codes": final_codes,
        "refused_at_open": final_codes.get("RESOURCE_EXHAUSTED", 0),
        "peak_during_mb": run["during_mb"],
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
        "status_code": run["status_code"],
        "rss_samples": run["rss_samples"],
    }


def nonreading_summary(a, out):
    """The scenario's lines in the table."""
    peak_status, most = out["status_at_peak"], out["status_max"]
    return [
        "%d streams on %d connections for %ds, %d-byte texts (%d code points): "
        "%d frames handed to gRPC" % (a.streams, a.connections, a.stream_seconds,
                                      a.message_bytes, out["message_chars"],
                                      out["frames_handed"]),
        "stream codes before cancel: %s (refused at open: %d)" % (
            out["stream_final_codes"], out["refused_at_open"]),
        "RSS peak during %.0f MB, after cancel +5 s %s MB" % (out["peak_during_mb"],
                                                              out["after_cancel_mb"]),
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
