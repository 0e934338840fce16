"""bad_frame and bad_unary: request bytes that do not parse.

Three payloads, each checked with Python's parser first: seeded random
bytes, a truncated valid frame, and unknown groups nested 200 deep.
"""

import queue
import random
import re

import grpc

import harness
from harness import chat_text, padded_text, rpc_outcome
from scenario_env import with_server


def fails_to_parse(message_cls, data):
    try:
        message_cls.FromString(data)
        return False
    except Exception:  # pylint: disable=broad-except  (DecodeError or RuntimeWarning)
        return True


def random_garbage(message_cls, seed=7, size=64):
    """Seeded random bytes that message_cls (Python's parser) rejects."""
    rng = random.Random(seed)
    while True:
        data = bytes(rng.getrandbits(8) for _ in range(size))
        if fails_to_parse(message_cls, data):
            return data


def deep_groups(depth, field=20):
    """An unknown field `field` holding groups nested `depth` levels deep.

    The request messages have no recursive field, so nesting comes from
    unknown-field groups (wire types 3/4); protobuf's parser refuses nesting
    past its recursion limit (100).
    """
    return harness.varint(field << 3 | 3) * depth + harness.varint(field << 3 | 4) * depth


def bad_payloads(message_cls, valid_bytes):
    """name -> bytes that are not a valid message_cls, each checked with Python's parser."""
    payloads = {
        "random": random_garbage(message_cls),
        "truncated": valid_bytes[:-10],
        "deep_groups_200": deep_groups(200),
    }
    for name, data in payloads.items():
        assert fails_to_parse(message_cls, data), name
    return payloads


def long_ordinary_text(n):
    """A valid request text of about n characters (ordinary chat)."""
    return padded_text(" ".join(harness.CHAT_LINES) + " ", n, 0)


# --------------------------------------------------------------------------
# bad_frame
# --------------------------------------------------------------------------

def stream_with_bad_frame(api, frame, timeout_s):
    """3 valid messages, wait for their answers, then frame, then 3 more valid.

    Returns the answered sequence numbers and the stream's final status.
    """
    good = [api.stream_request(chat_text(i), "bf%d" % i).SerializeToString() for i in range(6)]
    outbox = queue.Queue()
    for data in good[:3]:
        outbox.put(data)
    call = api.stream_raw(iter(outbox.get, None), timeout=timeout_s)
    answered, errors = [], []
    code, details = "OK", ""
    try:
        for response in call:
            answered.append(response.sequence)
            if response.WhichOneof("result") == "error":
                errors.append({"sequence": response.sequence, "code": response.error.code})
            if len(answered) == 3:
                for data in [frame] + good[3:]:
                    outbox.put(data)
                outbox.put(None)  # Half-close after the last one.
        code, details = harness.code_name(call.code()), call.details() or ""
    except grpc.RpcError as err:
        code, details = harness.code_name(err.code()), err.details() or ""
    finally:
        outbox.put(None)
    return {"answered": answered, "message_errors": errors, "code": code, "details": details}


def judge_bad_frame(name, got):
    """Expected: sequences 0-2 answered, then INVALID_ARGUMENT naming sequence 3."""
    failures = []
    if got["code"] == "OK":
        failures.append("%s: stream ended OK after a frame that does not parse" % name)
    elif got["code"] != "INVALID_ARGUMENT":
        failures.append("%s: stream ended %s, expected INVALID_ARGUMENT" % (name, got["code"]))
    elif not re.search(r"\b3\b", got["details"]):
        failures.append("%s: INVALID_ARGUMENT message does not name sequence 3" % name)
    if sorted(got["answered"]) != [0, 1, 2]:
        failures.append("%s: answered sequences %s, expected [0, 1, 2]" % (name, got["answered"]))
    return failures


def scenario_bad_frame(env):
    """A StreamAnalyze stream with one frame that is not a StreamAnalyzeRequest.

    Variants: random bytes, a truncated valid frame, unknown groups nested 200
    deep. Each: 3 valid messages (answered first), the bad frame, 3 more
    valid ones, half-close. Expected: answers for 0-2 only, then the stream
    ends INVALID_ARGUMENT with a message naming sequence 3; never OK.
    """
    def body(server, api, sampler):
        cls = env.protos.analyzer.StreamAnalyzeRequest
        valid = api.stream_request(long_ordinary_text(100), "x").SerializeToString()
        out = {"variants": {}, "failures": [], "summary": []}
        for name, frame in bad_payloads(cls, valid).items():
            got = stream_with_bad_frame(api, frame, timeout_s=15)
            got["frame_bytes"] = len(frame)
            out["variants"][name] = got
            out["failures"] += judge_bad_frame(name, got)
            out["summary"].append("%s: answered %s, ended %s %r" % (
                name, got["answered"], got["code"], got["details"][:70]))
        return out
    return with_server(env, "bad_frame", body)


# --------------------------------------------------------------------------
# bad_unary
# --------------------------------------------------------------------------

def scenario_bad_unary(env):
    """Analyze with request bytes that do not parse (same three variants).

    Expected: INVALID_ARGUMENT with a non-empty message.
    """
    def body(server, api, sampler):
        cls = env.protos.analyzer.AnalyzeRequest
        valid = api.analyze_request(long_ordinary_text(100), "x").SerializeToString()
        out = {"variants": {}, "failures": [], "summary": []}
        for name, frame in bad_payloads(cls, valid).items():
            code, details, _, secs = rpc_outcome(api.analyze_raw, frame, timeout=10)
            out["variants"][name] = {"code": code, "details": details, "frame_bytes": len(frame),
                                     "ms": round(secs * 1000, 1)}
            if code != "INVALID_ARGUMENT":
                out["failures"].append("%s: got %s, expected INVALID_ARGUMENT" % (name, code))
            elif not details:
                out["failures"].append("%s: INVALID_ARGUMENT with an empty message" % name)
            out["summary"].append("%s: %s %r" % (name, code, details[:70]))
        return out
    return with_server(env, "bad_unary", body)
