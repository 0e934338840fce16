// Server options and their parser. Sources, highest precedence first: the
// command line, LANTERN_* environment variables (e.g. LANTERN_MODEL_DIR for
// --model-dir), then the file given by --config (INI-style `key = value`
// lines using the long option names).
#ifndef LANTERN_SERVER_OPTIONS_H_
#define LANTERN_SERVER_OPTIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "server/metrics.h"

namespace lantern::server {

// The shipped models: the folder setup trains them into (a build setting).
std::string DefaultModelDir();

struct ServerOptions {
  // host:port to listen on; port 0 picks a free port.
  std::string listen = "127.0.0.1:50051";
  // Folder with ensemble.json and one sub-folder per model.
  std::string model_dir = DefaultModelDir();
  // Warm handles per model, each with its own inference thread, when
  // neither --handles nor the model's spec says otherwise.
  int threads = 2;
  // Torch intra-op threads per forward pass.
  int torch_threads = 1;
  // Warm handles per model; 0 = per model spec, else one per worker thread.
  int handles = 0;
  // Longest accepted message text, in Unicode code points.
  int max_message_chars = 4096;
  // Messages that may be in flight (queued for or running in the models)
  // before new ones get RESOURCE_EXHAUSTED.
  int max_queue = 1024;
  // Most messages per forward pass of one model (dynamic batching).
  int max_batch = 8;
  // Longest a message waits for its batch to fill, in microseconds; 0 =
  // never wait (batches form only from messages already queued).
  int batch_delay_us = 0;
  // Verdicts kept in the result cache; 0 disables it.
  int cache_entries = 16384;
  // Messages one stream may have read but not yet answered; fewer while
  // many streams are open (see ServingState::stream_window()).
  int stream_window = 32;
  // StreamAnalyze calls open at once, server-wide; more get
  // RESOURCE_EXHAUSTED.
  int max_streams = 256;
  // Messages of one channel in the models at once, per stream; the rest
  // wait in the stream while other channels go ahead.
  int stream_channel_in_flight = 16;
  // Conversation context (core/conversation.h): earlier messages considered
  // per person, how far back, people remembered per stream and server-wide,
  // and whether all streams share one context.
  int context_messages = 16;
  int context_window_minutes = 24 * 60;
  int context_people = 1024;
  int context_total_people = 100000;
  bool shared_context = false;
  // Calls (HTTP/2 streams) open at once on one connection; a client's
  // further calls wait in its own queue.
  int max_calls_per_connection = 100;
  // HTTP/2 receive window per call, in bytes: how much a client may send
  // ahead of what the server has read. Fixed (no BDP growth).
  int http2_window_bytes = 64 * 1024;
  // gRPC's memory quota for its transport buffers, in MiB.
  int memory_quota_mb = 256;
  // After SIGTERM/SIGINT: how long health reports NOT_SERVING (and new calls
  // get UNAVAILABLE) before the listener closes, so load balancers that poll
  // health stop sending first. Skipped if the server never became SERVING.
  int shutdown_grace_ms = 2000;
  // Then how long calls in flight may take to finish.
  int drain_timeout_ms = 10000;
  // TLS: certificate chain and private key files (PEM); both or neither.
  // Without them the server speaks plaintext.
  std::string tls_cert;
  std::string tls_key;
  // With TLS: CA file (PEM) that client certificates must chain to; set,
  // every client must present one (mutual TLS).
  std::string tls_client_ca;
  // File of callers and their token digests (see server/auth.h); set, every
  // Analyzer call needs "authorization: Bearer <token>". Reloaded on SIGHUP.
  std::string auth_tokens;
  // debug, info, warning or error.
  std::string log_level = "info";
  // Prometheus /metrics endpoint (--metrics-listen); off by default.
  MetricsOptions metrics;
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
