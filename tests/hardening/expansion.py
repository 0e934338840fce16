"""expansion: what nasty text costs the server, against a normal message."""

import threading
import time

from harness import chat_text, median_ms, padded_text, rpc_outcome
from scenario_env import with_server

ENGLISH = ("I have been feeling a bit off this week, work has been busy and I keep "
           "staying up too late playing games with friends, but honestly it is fine. ")

# Code points whose NFKC form is longest (found by scanning unicodedata):
# U+FDFA -> 18 code points, U+FDFB -> 8, U+3316 -> 6, U+33AF -> 6, U+3315 -> 5,
# U+FB2C (a Hebrew letter with two marks) -> 3.
NFKC_MIX = "\uFDFB\u3316\u33AF\u3315\uFB2C"
EMOJI = "\U0001F600\U0001F525\U0001F480\U0001F64F"


def combining_text(marks, n_chars, i):
    """One base letter carrying combining marks, n_chars code points in all."""
    suffix = " #%d" % i
    body = n_chars - 1 - len(suffix)
    return "a" + (marks * (body // len(marks) + 1))[:body] + suffix


def expansion_inputs(n):
    """name -> function(i) giving the i-th distinct text of that kind."""
    return {
        "normal chat (~60 chars)": chat_text,
        "english x%d" % n: lambda i: padded_text(ENGLISH, n, i),
        "U+FDFA x%d" % n: lambda i: padded_text("\uFDFA", n, i),
        "NFKC mix x%d" % n: lambda i: padded_text(NFKC_MIX, n, i),
        "emoji x%d" % n: lambda i: padded_text(EMOJI, n, i),
        "combining U+0301 x%d" % n: lambda i: combining_text("\u0301", n, i),
        "combining 0301/0316 alternating x%d" % n: lambda i: combining_text("\u0301\u0316", n, i),
    }


def time_calls(api, make_text, count, start_i):
    """count sequential Analyze calls; returns (latencies of OK calls, codes)."""
    latencies, codes = [], {}
    for i in range(start_i, start_i + count):
        code, _, _, secs = rpc_outcome(api.analyze, api.analyze_request(make_text(i)), timeout=60)
        codes[code] = codes.get(code, 0) + 1
        if code == "OK":
            latencies.append(secs)
    return latencies, codes


def hammer(api, make_text, stop, start_i):
    """Sends make_text(i) back to back until stop is set."""
    i = start_i
    while not stop.is_set():
        rpc_outcome(api.analyze, api.analyze_request(make_text(i)), timeout=60)
        i += 1


def normal_under_attack(env, server, api, worst, make_text, count, threads=4):
    """Median of the normal message while `threads` threads send the worst input."""
    stop = threading.Event()
    apis = [env.api(server) for _ in range(threads)]
    attackers = [threading.Thread(target=hammer, args=(apis[t], make_text, stop, 100000 * (t + 1)))
                 for t in range(threads)]
    for t in attackers:
        t.start()
    time.sleep(0.5)
    latencies, codes = time_calls(api, chat_text, count, 50000)
    stop.set()
    for t in attackers:
        t.join()
    for other in apis:
        other.channel.close()
    return {"worst_input": worst, "threads": threads, "normal_median_ms": median_ms(latencies),
            "codes": codes}


def scenario_expansion(env):
    """What nasty text costs: median latency of --calls Analyze calls per input.

    Inputs: a normal chat message, 4,096 chars of ordinary English, and 4,096
    code points of U+FDFA, of other large NFKC expanders, of emoji, and of
    combining marks on one base letter (one mark; two marks of different
    classes, alternating, so canonical ordering has work to do). Every text
    is distinct (a counter) so the result cache cannot hide the cost.
    Asserted: each input's median is at most --max-cost-ratio x the normal
    message's. Then the worst input is sent from 4 threads while the normal
    message's median is measured again (reported, not asserted).
    """
    a = env.args

    def body(server, api, sampler):
        inputs = expansion_inputs(a.expansion_chars)
        time_calls(api, chat_text, 5, 900)  # Warm the connection and caches of code.
        rows, failures = [], []
        for n, (name, make_text) in enumerate(inputs.items()):
            latencies, codes = time_calls(api, make_text, a.calls, 1000 * (n + 1))
            rows.append({"input": name, "median_ms": median_ms(latencies), "codes": codes})
        base = rows[0]["median_ms"]
        for row in rows:
            row["ratio"] = round(row["median_ms"] / base, 2) if row["median_ms"] and base else None
            if set(row["codes"]) != {"OK"}:
                failures.append("%s: codes %s" % (row["input"], row["codes"]))
            elif row["ratio"] > a.max_cost_ratio:
                failures.append("%s costs %.1fx a normal message (> --max-cost-ratio %g)" % (
                    row["input"], row["ratio"], a.max_cost_ratio))
        worst = max(rows[1:], key=lambda r: r["median_ms"] or 0)
        attack = normal_under_attack(env, server, api, worst["input"], inputs[worst["input"]],
                                     a.calls)
        attack["ratio_to_quiet"] = (round(attack["normal_median_ms"] / base, 2)
                                    if attack["normal_median_ms"] and base else None)
        summary = ["%-36s %10s ms %8sx %s" % (r["input"], r["median_ms"], r["ratio"],
                                              "" if set(r["codes"]) == {"OK"} else r["codes"])
                   for r in rows]
        summary.append("normal chat while 4 threads send %s: %s ms (%sx quiet)" % (
            worst["input"], attack["normal_median_ms"], attack["ratio_to_quiet"]))
        return {"rows": rows, "under_attack": attack, "failures": failures, "summary": summary}
    return with_server(env, "expansion", body)

