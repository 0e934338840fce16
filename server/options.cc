#include "server/options.h"

#include <boost/program_options.hpp>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/logging.h"
#include "core/status_macros.h"

namespace lantern::server {
namespace po = boost::program_options;
namespace {

constexpr char kEnvPrefix[] = "LANTERN_";

// A flag bound to `field`, whose value is its default.
template <typename T>
po::typed_value<T>* Field(T* field) {
  return po::value(field)->default_value(*field);
}

// An integer flag counting `unit`s, bound to a Duration field; its default is
// the field's value.
po::typed_value<int>* DurationIn(absl::Duration* field, absl::Duration unit) {
  return po::value<int>()
      ->default_value(static_cast<int>(*field / unit))
      ->notifier([field, unit](int count) { *field = count * unit; });
}

// Every option with its help text, bound to its field of `o`. One table, not
// a function to cut into pieces: it is the --help text, read top to bottom.
po::options_description Describe(ServerOptions& o, std::string& config_file) {
  po::options_description desc(
      "lantern-server: gRPC service that flags crisis signals in chat "
      "messages.\nEvery option can also be set with a LANTERN_* environment "
      "variable\n(--model-dir -> LANTERN_MODEL_DIR) or in the --config "
      "file.\n\nOptions");
  desc.add_options()("help,h", "Print this help and exit.")(
      "version", "Print the version and exit.")(
      "config", po::value(&config_file),
      "INI-style file of `option = value` lines (long option names).")(
      "listen", Field(&o.listen),
      "Address to listen on, host:port. Port 0 picks a free port.")(
      "model-dir", Field(&o.engine.model_dir),
      "Folder with ensemble.json and one sub-folder per model.")(
      "threads", Field(&o.engine.worker_threads),
      "Warm handles per model, each with its own inference thread, unless "
      "--handles or the model's spec says otherwise.")(
      "torch-threads", Field(&o.engine.torch_threads),
      "Torch intra-op threads per forward pass.")(
      "handles", Field(&o.engine.handles),
      "Warm handles per model; 0 = the model spec's value, or one per worker "
      "thread.")("max-message-chars", Field(&o.engine.max_message_chars),
                 "Longest accepted message text, in Unicode code points.")(
      "max-queue", Field(&o.engine.max_queue),
      "Messages that may be in flight at once; beyond it calls get "
      "RESOURCE_EXHAUSTED.")(
      "max-batch", Field(&o.engine.batching.max_batch),
      "Most messages per forward pass of one model (dynamic batching).")(
      "batch-delay-us",
      DurationIn(&o.engine.batching.max_delay, absl::Microseconds(1)),
      "Longest a message waits for its batch to fill, in microseconds; 0 = "
      "never wait, batch only what is already queued, and let a message alone "
      "in the server run its slowest model on the thread that received it.")(
      "cache-entries", Field(&o.engine.cache_entries),
      "Verdicts kept in the result cache (keyed on a digest of the text, never "
      "the text); 0 turns the cache off.")(
      "stream-window", Field(&o.streams.window),
      "Messages a stream may have read but not yet answered (flow control); "
      "fewer while many streams are open, so that together they hold at most "
      "half of --max-queue.")(
      "shutdown-grace-ms", DurationIn(&o.shutdown_grace, absl::Milliseconds(1)),
      "On SIGTERM/SIGINT, how long health reports NOT_SERVING and new calls "
      "get UNAVAILABLE while the port stays open, before it closes (0 = close "
      "at once; a second signal ends it early).")(
      "stream-channel-in-flight", Field(&o.streams.channel_in_flight),
      "Messages of one channel in the models at once, per stream; the rest "
      "wait while other channels' messages go ahead.")(
      "context-messages", Field(&o.engine.context.max_messages),
      "Conversation context: earlier messages per person (channel and user) "
      "considered and remembered (1..256; also the most AnalyzeRequest.history "
      "may hold).")(
      "context-window-minutes",
      DurationIn(&o.engine.context.window, absl::Minutes(1)),
      "Conversation context: how far back earlier messages count (1..10080).")(
      "context-people", Field(&o.engine.context.max_people),
      "Conversation context: people one stream remembers; the least recently "
      "seen is forgotten first.")(
      "context-total-people", Field(&o.streams.context_total_people),
      "Conversation context: people remembered over all streams together.")(
      "shared-context", Field(&o.streams.shared_context),
      "Share one conversation context among all streams (true/false); by "
      "default each stream has its own, forgotten when it ends.")(
      "max-streams", Field(&o.streams.max_streams),
      "StreamAnalyze calls open at once, server-wide; more get "
      "RESOURCE_EXHAUSTED.")(
      "max-calls-per-connection", Field(&o.transport.max_calls_per_connection),
      "Calls open at once on one connection (HTTP/2 MAX_CONCURRENT_STREAMS); a "
      "client's further calls wait on its side.")(
      "http2-window-bytes", Field(&o.transport.http2_window_bytes),
      "HTTP/2 receive window per call: bytes a client may send ahead of what "
      "the server has read. Fixed; gRPC's automatic window growth is off.")(
      "memory-quota-mb", Field(&o.transport.memory_quota_mb),
      "gRPC's memory quota for transport buffers, in MiB; under pressure gRPC "
      "shrinks windows and refuses new calls.")(
      "drain-timeout-ms", DurationIn(&o.drain_timeout, absl::Milliseconds(1)),
      "After the grace period, how long calls in flight may take to finish.")(
      "tls-cert", po::value(&o.tls.cert),
      "TLS certificate chain (PEM). With --tls-key, the server speaks only "
      "TLS.")("tls-key", po::value(&o.tls.key), "TLS private key (PEM).")(
      "tls-client-ca", po::value(&o.tls.client_ca),
      "CAs (PEM) that client certificates must chain to: every client must "
      "present one (mutual TLS). Needs --tls-cert.")(
      "auth-tokens", po::value(&o.auth_tokens),
      "File of '<caller> <sha256 of token>' lines: Analyzer calls then need "
      "'authorization: Bearer <token>' (UNAUTHENTICATED otherwise); health "
      "stays open. Reloaded on SIGHUP.")(
      "log-level", Field(&o.log_level),
      "debug, info, warning or error. Logs never contain message text.")(
      "metrics-listen", po::value(&o.metrics.listen),
      "host:port of a Prometheus /metrics endpoint (plain HTTP, no "
      "authentication: use loopback or a private interface); off when empty, "
      "the default. Port 0 picks a free port (logged).");
  return desc;
}

// LANTERN_MODEL_DIR -> model-dir; other variables are ignored.
std::string EnvToOption(const po::options_description& desc,
                        const std::string& env_name) {
  if (!absl::StartsWith(env_name, kEnvPrefix)) return "";
  std::string name =
      absl::AsciiStrToLower(env_name.substr(sizeof(kEnvPrefix) - 1));
  absl::StrReplaceAll({{"_", "-"}}, &name);
  if (name == "help" || name == "version" || name == "config") return "";
  return desc.find_nothrow(name, false) != nullptr ? name : "";
}

}  // namespace

const char* ServerVersion() { return LANTERN_VERSION; }

std::string DefaultModelDir() { return LANTERN_DEFAULT_MODEL_DIR; }

core::EngineOptions DefaultEngineOptions() {
  core::EngineOptions options;
  options.model_dir = DefaultModelDir();
  return options;
}

absl::Status TransportOptions::Validate() const {
  if (max_calls_per_connection < 1 || memory_quota_mb < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max-calls-per-connection and --memory-quota-mb must be >= 1, got ",
        max_calls_per_connection, " and ", memory_quota_mb));
  }
  if (http2_window_bytes < 1024 || http2_window_bytes > (1 << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http2-window-bytes must be within 1024..1073741824, got ",
        http2_window_bytes));
  }
  return absl::OkStatus();
}

absl::Status TlsOptions::Validate() const {
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!client_ca.empty() && cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca needs --tls-cert and --tls-key");
  }
  return absl::OkStatus();
}

absl::Status ServerOptions::Validate() const {
  if (listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen must be host:port, got '", listen, "'"));
  }
  LANTERN_RETURN_IF_ERROR(core::ValidateEngineOptions(engine));
  LANTERN_RETURN_IF_ERROR(streams.Validate());
  LANTERN_RETURN_IF_ERROR(transport.Validate());
  LANTERN_RETURN_IF_ERROR(tls.Validate());
  LANTERN_RETURN_IF_ERROR(metrics.Validate());
  if (shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--shutdown-grace-ms must be >= 0");
  }
  if (drain_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--drain-timeout-ms must be >= 0");
  }
  return core::ParseLogLevel(log_level).status();
}

absl::StatusOr<ParsedOptions> ParseServerOptions(int argc,
                                                 const char* const argv[]) {
  ParsedOptions parsed;
  std::string config_file;
  po::options_description desc = Describe(parsed.options, config_file);
  po::variables_map vm;
  try {
    // po::store keeps the first value it sees, so the highest-precedence
    // source is stored first.
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::store(po::parse_environment(desc,
                                    [&desc](const std::string& env) {
                                      return EnvToOption(desc, env);
                                    }),
              vm);
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream in(path);
      if (!in)
        return absl::InvalidArgumentError(
            absl::StrCat("cannot read config file ", path));
      po::store(po::parse_config_file(in, desc), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(e.what(), " (see lantern-server --help)"));
  }
  if (vm.count("help")) {
    std::ostringstream out;
    out << desc;
    parsed.exit_now = true;
    parsed.message = out.str();
    return parsed;
  }
  if (vm.count("version")) {
    parsed.exit_now = true;
    parsed.message = absl::StrCat("lantern-server ", ServerVersion(), "\n");
    return parsed;
  }
  LANTERN_RETURN_IF_ERROR(parsed.options.Validate());
  return parsed;
}

}  // namespace lantern::server
