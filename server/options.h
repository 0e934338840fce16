// Server options and their parser. Sources, highest precedence first: the
// command line, LANTERN_* environment variables (e.g. LANTERN_MODEL_DIR for
// --model-dir), then the file given by --config (INI-style `key = value`
// lines using the long option names).
#ifndef LANTERN_SERVER_OPTIONS_H_
#define LANTERN_SERVER_OPTIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/engine.h"
#include "server/metrics.h"
#include "server/serving_state.h"

namespace lantern::server {

// The shipped models: the folder setup trains them into (a build setting).
std::string DefaultModelDir();

// The engine's defaults, serving the shipped models.
core::EngineOptions DefaultEngineOptions();

// The gRPC transport's bounds on one connection and on buffers.
struct TransportOptions {
  // Calls (HTTP/2 streams) open at once on one connection; a client's
  // further calls wait in its own queue.
  int max_calls_per_connection = 100;
  // HTTP/2 receive window per call, in bytes: how much a client may send
  // ahead of what the server has read. Fixed (no BDP growth).
  int http2_window_bytes = 64 * 1024;
  // gRPC's memory quota for its transport buffers, in MiB.
  int memory_quota_mb = 256;

  absl::Status Validate() const;
};

// TLS files (PEM). Without cert and key the server speaks plaintext.
struct TlsOptions {
  // Certificate chain and private key; both or neither.
  std::string cert;
  std::string key;
  // CAs that client certificates must chain to; set, every client must
  // present one (mutual TLS). Needs cert and key.
  std::string client_ca;

  absl::Status Validate() const;
};

// Everything lantern-server is told, one struct per component it configures:
// the engine's own options are embedded, not copied, and each part checks
// its own ranges (ParseServerOptions calls Validate() once).
struct ServerOptions {
  // host:port to listen on; port 0 picks a free port.
  std::string listen = "127.0.0.1:50051";
  // Models, warm handles, batching, cache and conversation context. Its
  // model_dir defaults to DefaultModelDir().
  core::EngineOptions engine = DefaultEngineOptions();
  // StreamAnalyze: flow control, stream count, per-channel fairness and the
  // server-wide conversation context.
  StreamOptions streams;
  TransportOptions transport;
  TlsOptions tls;
  // After SIGTERM/SIGINT: how long health reports NOT_SERVING (and new calls
  // get UNAVAILABLE) before the listener closes, so load balancers that poll
  // health stop sending first. Skipped if the server never became SERVING.
  absl::Duration shutdown_grace = absl::Seconds(2);
  // Then how long calls in flight may take to finish.
  absl::Duration drain_timeout = absl::Seconds(10);
  // File of callers and their token digests (see server/auth.h); set, every
  // Analyzer call needs "authorization: Bearer <token>". Reloaded on SIGHUP.
  std::string auth_tokens;
  // debug, info, warning or error.
  std::string log_level = "info";
  // Prometheus /metrics endpoint (--metrics-listen); off by default.
  MetricsOptions metrics;

  // InvalidArgument naming the first bad value, from whichever component
  // owns it.
  absl::Status Validate() const;
};

struct ParsedOptions {
  ServerOptions options;
  // --help or --version was given: print `message` and exit 0.
  bool exit_now = false;
  std::string message;
};

// Parses `argv` and the environment. InvalidArgument with a readable message
// for unknown options, bad values or an unreadable config file.
absl::StatusOr<ParsedOptions> ParseServerOptions(int argc,
                                                 const char* const argv[]);

// Version string reported by --version and GetStatus.
const char* ServerVersion();

}  // namespace lantern::server

#endif  // LANTERN_SERVER_OPTIONS_H_
