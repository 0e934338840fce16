"""Shared plumbing for Lantern's hostile-client tools and the soak test.

What lives here:
  * load_protos(): runs protoc at run time into a temp dir and imports the
    generated lantern.v1 message classes (plus grpc.health.v1's), so the
    tools never depend on checked-in generated code.
  * ServerProcess: starts the real lantern-server binary on a free port,
    waits for "SERVING on port N" in its log, reads its RSS from /proc,
    signals and stops it.
  * RssSampler: a background thread that samples VmRSS at an interval.
  * Analyzer: method handles for lantern.v1.Analyzer and grpc.health.v1.Health
    built with channel.unary_unary / stream_stream and explicit serializers,
    with raw-bytes variants for frames that must not parse.
  * small helpers: text makers, medians, status-code names.

Nothing here prints or logs message text: results carry codes, counts,
sequence numbers, sizes and timings only.
"""

import functools
import glob
import importlib.util
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import grpc

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HEALTH_PROTO_DIR = "/usr/share/grpc-proto"
HEALTH_PROTO = "grpc/health/v1/health.proto"
SERVING_RE = re.compile(r"SERVING on port (\d+)")

# grpc.health.v1.HealthCheckResponse.ServingStatus values.
HEALTH_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


class Protos:
    """The generated message modules: .analyzer (lantern.v1) and .health."""

    def __init__(self, analyzer, chat, health):
        self.analyzer = analyzer
        self.chat = chat
        self.health = health


def load_protos(repo_root=REPO_ROOT):
    """Generates Python classes from proto/lantern/v1/*.proto and health.proto.

    The output goes to a fresh temp dir that is put on sys.path. The health
    module is imported from its file under a private name, because its
    natural package name (grpc.health.v1) would shadow the installed grpc.
    """
    out = tempfile.mkdtemp(prefix="lantern-protos-")
    lantern_protos = sorted(glob.glob(os.path.join(repo_root, "proto", "lantern", "v1", "*.proto")))
    if not lantern_protos:
        raise RuntimeError("no .proto files under %s/proto/lantern/v1" % repo_root)
    subprocess.run(
        ["protoc", "-I", os.path.join(repo_root, "proto"), "-I", "/usr/include",
         "--python_out", out] + lantern_protos,
        check=True)
    subprocess.run(
        ["protoc", "-I", HEALTH_PROTO_DIR, "--python_out", out,
         os.path.join(HEALTH_PROTO_DIR, HEALTH_PROTO)],
        check=True)
    sys.path.insert(0, out)
    from lantern.v1 import analyzer_pb2, chat_pb2  # pylint: disable=import-outside-toplevel
    health_path = os.path.join(out, "grpc", "health", "v1", "health_pb2.py")
    spec = importlib.util.spec_from_file_location("lantern_hardening_health_pb2", health_path)
    health = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(health)
    return Protos(analyzer_pb2, chat_pb2, health)


def read_proc_status(pid):
    """Returns {"rss_mb", "hwm_mb"} from /proc/PID/status, or None if gone."""
    values = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0]) / 1024.0  # kB -> MB
    except (FileNotFoundError, ProcessLookupError):
        return None
    if "VmRSS" not in values:  # A zombie has no memory lines.
        return None
    return {"rss_mb": round(values["VmRSS"], 1), "hwm_mb": round(values.get("VmHWM", 0.0), 1)}


class ServerProcess:
    """One lantern-server process on 127.0.0.1:<free port>.

    Its stdout and stderr go to a log file (the server never logs message
    text). start() returns once the log says SERVING, or raises with the
    log's tail when the process exits first or the timeout passes.
    """

    def __init__(self, binary, models, extra_args=(), log_dir=None, name="server"):
        self.binary = binary
        self.models = models
        self.extra_args = list(extra_args)
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="lantern-hardening-")
        os.makedirs(self.log_dir, exist_ok=True)
        self.log_path = os.path.join(self.log_dir, "%s.log" % name)
        self.proc = None
        self.port = None
        self.started_at = None

    @property
    def target(self):
        return "127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid

    def command(self):
        return ([self.binary, "--listen", "127.0.0.1:0", "--model-dir", self.models]
                + self.extra_args)

    def start(self, timeout_s=90.0):
        """Launches the server and waits for SERVING; returns self."""
        log = open(self.log_path, "wb")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            match = SERVING_RE.search(self.log_text())
            if match:
                self.port = int(match.group(1))
                return self
            if self.proc.poll() is not None:
                raise ServerStartError(self, "server exited with %s during start-up"
                                       % describe_exit(self.proc.returncode))
            time.sleep(0.05)
        self.kill()
        raise ServerStartError(self, "server did not reach SERVING within %.0f s" % timeout_s)

    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=15):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def memory(self):
        """Current {"rss_mb", "hwm_mb"}, or None once the process is gone."""
        return read_proc_status(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout_s):
        """Waits for exit; returns the exit code, or None on timeout."""
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout_s=30.0):
        """SIGTERM, then SIGKILL if it has not exited in timeout_s; returns the code."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.signal(signal.SIGTERM)
        code = self.wait(timeout_s)
        if code is None:
            self.kill()
            code = self.proc.returncode
        return code


class ServerStartError(RuntimeError):
    """The server could not be brought to SERVING; carries its log tail."""

    def __init__(self, server, message):
        super().__init__(message)
        self.server = server
        self.log_tail = server.log_tail()


def describe_exit(code):
    """'0', '2', or 'signal SIGSEGV' for a Popen return code."""
    if code is None:
        return "running"
    if code < 0:
        try:
            return "signal %s" % signal.Signals(-code).name
        except ValueError:
            return "signal %d" % -code
    return str(code)


class RssSampler:
    """Samples a process's VmRSS every interval_s on a daemon thread.

    samples holds (seconds since start(), rss_mb); peak_mb is the largest
    VmRSS seen and hwm_mb the last VmHWM read (the kernel's own peak, which
    also catches spikes between samples).
    """

    def __init__(self, pid, interval_s=1.0):
        self.pid = pid
        self.interval_s = interval_s
        self.samples = []
        self.peak_mb = 0.0
        self.hwm_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = None

    def start(self):
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def sample(self):
        """Takes one sample now; returns rss_mb or None if the process is gone."""
        mem = read_proc_status(self.pid)
        if mem is None:
            return None
        self.samples.append((round(time.monotonic() - self._t0, 2), mem["rss_mb"]))
        self.peak_mb = max(self.peak_mb, mem["rss_mb"])
        self.hwm_mb = max(self.hwm_mb, mem["hwm_mb"])
        return mem["rss_mb"]

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.sample()


def varint(n):
    """Protobuf's base-128 varint encoding of n >= 0 (for hand-made frames)."""
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def identity(x):
    return x


class Analyzer:
    """Method handles on one channel for lantern.v1.Analyzer and Health.

    The *_raw handles take and return bytes (identity serializers), so a
    caller can put any frame on the wire, including ones that do not parse.
    """

    def __init__(self, channel, protos):
        a = protos.analyzer
        self.protos = protos
        self.channel = channel
        self.analyze = channel.unary_unary(
            "/lantern.v1.Analyzer/Analyze",
            request_serializer=a.AnalyzeRequest.SerializeToString,
            response_deserializer=a.AnalyzeResponse.FromString)
        self.analyze_raw = channel.unary_unary(
            "/lantern.v1.Analyzer/Analyze",
            request_serializer=identity, response_deserializer=identity)
        self.stream = channel.stream_stream(
            "/lantern.v1.Analyzer/StreamAnalyze",
            request_serializer=a.StreamAnalyzeRequest.SerializeToString,
            response_deserializer=a.StreamAnalyzeResponse.FromString)
        # Requests as bytes, answers parsed: for streams that mix good and bad frames.
        self.stream_raw = channel.stream_stream(
            "/lantern.v1.Analyzer/StreamAnalyze",
            request_serializer=identity,
            response_deserializer=a.StreamAnalyzeResponse.FromString)
        self.get_status = channel.unary_unary(
            "/lantern.v1.Analyzer/GetStatus",
            request_serializer=a.GetStatusRequest.SerializeToString,
            response_deserializer=a.GetStatusResponse.FromString)
        self.health_check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=protos.health.HealthCheckRequest.SerializeToString,
            response_deserializer=protos.health.HealthCheckResponse.FromString)

    def analyze_request(self, text, msg_id="", **fields):
        """An AnalyzeRequest with the given text and id."""
        req = self.protos.analyzer.AnalyzeRequest()
        req.message.text = text
        req.message.id = msg_id
        for key, value in fields.items():
            setattr(req.message, key, value)
        return req

    def stream_request(self, text, msg_id=""):
        req = self.protos.analyzer.StreamAnalyzeRequest()
        req.message.text = text
        req.message.id = msg_id
        return req

    def health(self, service="", timeout=1.0):
        """Returns the health status name."""
        req = self.protos.health.HealthCheckRequest(service=service)
        return HEALTH_NAMES.get(self.health_check(req, timeout=timeout).status, "?")


def open_channel(target, private=True):
    """An insecure channel; private=True gives it its own TCP connection.

    gRPC Python shares subchannels (and so connections) between channels with
    equal arguments; a local subchannel pool keeps this channel's apart.
    """
    options = [("grpc.use_local_subchannel_pool", 1)] if private else []
    return grpc.insecure_channel(target, options=options)


def wait_channel_ready(channel, timeout_s=10.0):
    grpc.channel_ready_future(channel).result(timeout=timeout_s)


def code_name(code):
    """'OK', 'INVALID_ARGUMENT', ... for a grpc.StatusCode (or None)."""
    return "NONE" if code is None else code.name


def rpc_outcome(fn, *args, **kwargs):
    """Calls fn; returns (code_name, details, result or None, seconds)."""
    t0 = time.monotonic()
    try:
        result = fn(*args, **kwargs)
        return "OK", "", result, time.monotonic() - t0
    except grpc.RpcError as err:
        return code_name(err.code()), err.details() or "", None, time.monotonic() - t0


def median_ms(seconds):
    return round(statistics.median(seconds) * 1000.0, 3) if seconds else None


CHAT_LINES = (
    "anyone up for a raid later tonight? need two more healers",
    "gg that boss killed me like fifty times, good run everyone",
    "does anyone know when the patch notes come out this week",
    "lol my cat just walked across the keyboard mid fight again",
)


def chat_text(i):
    """An ordinary ~60-character chat message, distinct for each i."""
    return "%s #%d" % (CHAT_LINES[i % len(CHAT_LINES)], i)


def padded_text(unit, n_chars, i):
    """unit repeated to exactly n_chars code points, ending with ' #i'.

    The counter keeps each text distinct so the server's result cache
    cannot answer it; the length stays n_chars.
    """
    suffix = " #%d" % i
    body_len = n_chars - len(suffix)
    body = (unit * (body_len // len(unit) + 1))[:body_len]
    return body + suffix


# Four-byte UTF-8 code points (emoji and other supplementary-plane symbols)
# for texts whose byte size would otherwise pass the code point limit.
FOUR_BYTE = "\U0001F600\U0001F525\U0001F480\U0001F64F\U0001F389\U0001F3AE\U0001F431\U0001F30D"


def text_of_bytes(n_bytes, tag, max_chars=4096):
    """A valid UTF-8 text of exactly n_bytes bytes, at most max_chars code points.

    Ordinary chat (ASCII) while it fits in max_chars; beyond that, four-byte
    code points are spread evenly through the chat text, as few as the limit
    allows. It ends with ' #tag', so each tag gives a distinct text (the
    server's result cache cannot answer it). Raises ValueError when n_bytes
    cannot fit in max_chars code points of at most 4 bytes, or is shorter
    than the tag.
    """
    suffix = " #%s" % tag
    text = _filler(n_bytes - len(suffix), max_chars - len(suffix)) + suffix
    return text


@functools.lru_cache(maxsize=64)
def _filler(budget_bytes, budget_chars):
    """text_of_bytes' body before the tag (cached: only the tag varies)."""
    if budget_bytes < 0 or budget_bytes > 4 * budget_chars:
        raise ValueError("no text of that many bytes within the code point limit")
    wide = max(0, -(-(budget_bytes - budget_chars) // 3))  # Four-byte code points needed.
    narrow = budget_bytes - 4 * wide
    total = wide + narrow
    ascii_src = " ".join(CHAT_LINES) + " "
    out, a = [], 0
    for j in range(total):
        if (j + 1) * wide // total > j * wide // total:
            out.append(FOUR_BYTE[j % len(FOUR_BYTE)])
        else:
            out.append(ascii_src[a % len(ascii_src)])
            a += 1
    text = "".join(out)
    assert len(text.encode("utf-8")) == budget_bytes and len(text) <= budget_chars
    return text
