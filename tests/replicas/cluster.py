"""The cluster that tests/replicas/replicas.py runs: three lantern-server
replicas and HAProxy in front of them, all on 127.0.0.1 with free ports, and
the raw HTTP/2 bytes of the gRPC health check the HAProxy config sends.

With args.replica_tls the replicas speak only TLS, with a certificate from a
throwaway CA (tests/testing/make_certs.sh, in the log folder), and HAProxy
gets LANTERN_REPLICA_CA and LANTERN_REPLICA_NAME; its front stays cleartext.

Every process started here dies with the process that started it.
"""

import csv
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "hardening"))
import harness  # noqa: E402  pylint: disable=wrong-import-position

HEALTH_SERVICE = "lantern.v1.Analyzer"
REPLICAS = ("r1", "r2", "r3")
MAKE_CERTS = os.path.join(harness.REPO_ROOT, "tests", "testing", "make_certs.sh")
# The name HAProxy verifies (verifyhost): make_certs.sh's server certificate
# carries DNS:localhost and IP:127.0.0.1, and HAProxy 2.6 matches DNS names only.
REPLICA_NAME = "localhost"

# --------------------------------------------------------------------------
# The health check request the HAProxy config sends
# --------------------------------------------------------------------------

def h2_frame(kind, flags, stream, payload):
    header = len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big")
    return header + payload


def hpack_literal(name_index, value):
    """Literal header field without indexing, name from the static table."""
    assert name_index < 15 + 128 and len(value) < 127
    prefix = bytes([name_index]) if name_index < 15 else bytes([15, name_index - 15])
    return prefix + bytes([len(value)]) + value


def hpack_literal_new_name(name, value):
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def check_request(service=HEALTH_SERVICE):
    """The bytes of a grpc.health.v1.Health/Check call on a fresh h2c connection.

    HPACK static table: 2 = :method GET (3 = POST), 4 = :path, 1 = :authority,
    6 = :scheme http, 31 = content-type. No Huffman coding.
    """
    name = service.encode("utf-8")
    message = b"\x0a" + harness.varint(len(name)) + name  # field 1, string
    grpc_frame = b"\x00" + len(message).to_bytes(4, "big") + message
    headers = (b"\x83" + b"\x86"  # :method POST, :scheme http
               + hpack_literal(4, b"/grpc.health.v1.Health/Check")
               + hpack_literal(1, b"lantern")
               + hpack_literal(31, b"application/grpc")
               + hpack_literal_new_name(b"te", b"trailers"))
    return (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
            + h2_frame(0x4, 0, 0, b"")  # SETTINGS
            + h2_frame(0x1, 0x4, 1, headers)  # HEADERS, END_HEADERS
            + h2_frame(0x0, 0x1, 1, grpc_frame))  # DATA, END_STREAM


def config_check_bytes(config_text):
    match = re.search(r"^\s*tcp-check send-binary ([0-9a-fA-F]+)", config_text, re.M)
    return bytes.fromhex(match.group(1)) if match else None


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

def die_with_parent(command):
    """command, run so that it gets SIGKILL when this process dies."""
    return ["setpriv", "--pdeathsig", "KILL", "--"] + list(command)


class Replica(harness.ServerProcess):
    """A harness.ServerProcess that dies with this process, launched and
    waited for in two steps so that several can warm up at once."""

    def command(self):
        return die_with_parent(super().command())

    def launch(self):
        # From the main thread only: the parent-death signal follows the
        # thread that forked, not the process.
        with open(self.log_path, "wb") as log:
            self.started_at = time.monotonic()
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        return self

    def wait_serving(self, timeout_s):
        """Returns once the log says SERVING; raises ServerStartError otherwise."""
        deadline = self.started_at + timeout_s
        while time.monotonic() < deadline:
            match = harness.SERVING_RE.search(self.log_text())
            if match:
                self.port = int(match.group(1))
                return self
            if self.proc.poll() is not None:
                raise harness.ServerStartError(self, "exited with %s during start-up" % (
                    harness.describe_exit(self.proc.returncode)))
            time.sleep(0.05)
        raise harness.ServerStartError(self, "not SERVING within %.0f s" % timeout_s)


class Proxy:
    """haproxy -f CONFIG on a socket bound here; its runtime API over a unix socket."""

    def __init__(self, haproxy, config, replicas, log_dir, env=None, name="haproxy"):
        self.haproxy = haproxy
        self.config = config
        self.replicas = replicas
        self.env = dict(env or {})  # more variables for the config
        self.log_path = os.path.join(log_dir, "%s.log" % name)
        self.admin_path = os.path.join(log_dir, "%s-admin.sock" % name)
        self.listener = None
        self.proc = None

    @property
    def target(self):
        return "127.0.0.1:%d" % self.listener.getsockname()[1]

    def start(self, timeout_s=20.0):
        # HAProxy takes the socket over (bind fd@N): the port is ours from the
        # start, so no other process can take it between choosing and binding.
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        env = dict(os.environ)
        env["LANTERN_PROXY_BIND"] = "fd@%d" % self.listener.fileno()
        env["LANTERN_PROXY_ADMIN"] = self.admin_path
        for n, replica in enumerate(self.replicas, 1):
            env["LANTERN_REPLICA_%d" % n] = replica.target
        env.update(self.env)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                die_with_parent([self.haproxy, "-db", "-f", self.config]), env=env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                pass_fds=(self.listener.fileno(),))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("haproxy exited with %s: %s" % (
                    harness.describe_exit(self.proc.returncode), self.log_tail()))
            if os.path.exists(self.admin_path):
                try:
                    self.stats()
                    return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("haproxy's runtime API did not answer within %.0f s" % timeout_s)

    def command(self, line):
        """One runtime API command; returns its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.admin_path)
            s.sendall(line.encode() + b"\n")
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks).decode()

    def stats(self):
        """{server name: row of `show stat`} for the backend's servers."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {r["svname"]: r for r in rows
                if r["pxname"] == "lantern_replicas" and r["svname"] in REPLICAS}

    def log_tail(self, lines=10):
        try:
            with open(self.log_path, errors="replace") as f:
                return "\n".join(f.read().splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.listener is not None:
            self.listener.close()


class Cluster:
    """Three replicas and the proxy; a context manager that kills them all."""

    def __init__(self, args):
        self.args = args
        self.log_dir = args.log_dir or tempfile.mkdtemp(prefix="lantern-replicas-")
        os.makedirs(self.log_dir, exist_ok=True)
        extra = ["--shutdown-grace-ms=%d" % args.grace_ms] + list(args.server_arg)
        self.certs = None
        self.proxy_env = {}
        if getattr(args, "replica_tls", False):
            self.certs = os.path.join(self.log_dir, "certs")
            os.makedirs(self.certs, exist_ok=True)
            subprocess.run(["bash", MAKE_CERTS, self.certs], check=True)
            extra += ["--tls-cert", self.cert("server.pem"), "--tls-key", self.cert("server.key")]
            self.proxy_env = {"LANTERN_REPLICA_CA": self.cert("ca.pem"),
                              "LANTERN_REPLICA_NAME": REPLICA_NAME}
        self.replicas = {name: Replica(args.server, args.models, extra, self.log_dir, name)
                         for name in REPLICAS}
        self.proxy = None
        self.extra_proxies = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for proxy in [self.proxy] + self.extra_proxies:
            if proxy is not None:
                proxy.stop()
        for replica in self.replicas.values():
            if replica.proc is not None:
                replica.kill()
        return False

    def start(self):
        # Launch all three, then wait: their warm-ups overlap.
        for replica in self.replicas.values():
            replica.launch()
        for name, replica in self.replicas.items():
            try:
                replica.wait_serving(timeout_s=180)
            except harness.ServerStartError as err:
                raise RuntimeError("replica %s: %s\n%s" % (name, err, err.log_tail)) from err
        self.proxy = self.start_proxy(self.proxy_env)
        return self

    def start_proxy(self, env, name="haproxy"):
        return Proxy(self.args.haproxy, self.args.config, [self.replicas[n] for n in REPLICAS],
                     self.log_dir, env, name).start()

    def cert(self, name):
        return os.path.join(self.certs, name)

    def open_replica_channel(self, name):
        """A channel of its own straight to a replica: TLS trusting the test
        CA when the replicas speak TLS (127.0.0.1 is in the certificate)."""
        target = self.replicas[name].target
        if self.certs is None:
            return harness.open_channel(target)
        with open(self.cert("ca.pem"), "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        return grpc.secure_channel(target, credentials,
                                   options=[("grpc.use_local_subchannel_pool", 1)])

    def tls_checks(self, protos, timeout_s=10.0):
        """That TLS is really used to the replicas, and verified.

        Each replica refuses a cleartext Health/Check and answers SERVING
        over TLS. Two more HAProxy instances run the same config against the
        same replicas, one trusting another CA (other_ca.pem) and one
        expecting another name: each must see every replica DOWN with a
        layer 6 (TLS) check failure, while the cluster's own proxy saw them
        UP with layer 7 passes. Returns (result, failures).
        """
        result, failures = {"cleartext_to_replica": {}, "tls_to_replica": {}}, []
        request = protos.health.HealthCheckRequest(service=HEALTH_SERVICE)
        for name, replica in self.replicas.items():
            plain = harness.Analyzer(harness.open_channel(replica.target), protos)
            code = harness.rpc_outcome(plain.health_check, request, timeout=3)[0]
            plain.channel.close()
            result["cleartext_to_replica"][name] = code
            if code == "OK":
                failures.append("tls: %s answered a cleartext Health/Check" % name)
            secure = harness.Analyzer(self.open_replica_channel(name), protos)
            code, _, answer, _ = harness.rpc_outcome(secure.health_check, request, timeout=5)
            secure.channel.close()
            status = harness.HEALTH_NAMES.get(answer.status, "?") if answer else code
            result["tls_to_replica"][name] = status
            if status != "SERVING":
                failures.append("tls: %s over TLS answered %s" % (name, status))
        wrong = {"wrong_ca": {"LANTERN_REPLICA_CA": self.cert("other_ca.pem"),
                              "LANTERN_REPLICA_NAME": REPLICA_NAME},
                 "wrong_name": {"LANTERN_REPLICA_CA": self.cert("ca.pem"),
                                "LANTERN_REPLICA_NAME": "lantern.invalid"}}
        proxies = {}
        for label, env in wrong.items():
            proxies[label] = self.start_proxy(env, "haproxy-" + label.replace("_", "-"))
            self.extra_proxies.append(proxies[label])
        deadline = time.monotonic() + timeout_s
        seen = {}
        while True:
            seen = {label: {n: "%s %s" % (r["status"], r["check_status"])
                            for n, r in proxy.stats().items()}
                    for label, proxy in proxies.items()}
            done = all(len(rows) == len(REPLICAS) and all(
                v == "DOWN L6RSP" for v in rows.values()) for rows in seen.values())
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for label, proxy in proxies.items():
            proxy.stop()
            self.extra_proxies.remove(proxy)
            result["haproxy_" + label] = seen[label]
            if not all(v == "DOWN L6RSP" for v in seen[label].values()):
                failures.append("tls: HAProxy with the %s did not fail its TLS checks: %s" % (
                    label.replace("_", " "), seen[label]))
        return result, failures

    def wait_all_up(self, timeout_s=30.0):
        """Waits until HAProxy's checks pass for every replica; returns the rows."""
        deadline = time.monotonic() + timeout_s
        rows = {}
        while time.monotonic() < deadline:
            rows = self.proxy.stats()
            if len(rows) == len(REPLICAS) and all(
                    r["status"] == "UP" and r["check_status"] == "L7OK" for r in rows.values()):
                return rows
            time.sleep(0.05)
        raise RuntimeError("HAProxy did not see every replica UP: %s" % {
            n: (r["status"], r["check_status"]) for n, r in rows.items()})


# --------------------------------------------------------------------------
