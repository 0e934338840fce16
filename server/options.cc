#include "server/options.h"

#include <boost/program_options.hpp>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/logging.h"

namespace lantern::server {
namespace po = boost::program_options;
namespace {

constexpr char kEnvPrefix[] = "LANTERN_";

// Every option with its help text, bound to its field of `o`. One table, not
// a function to cut into pieces: it is the --help text, read top to bottom.
po::options_description Describe(ServerOptions& o, std::string& config_file) {
  po::options_description desc(
      "lantern-server: gRPC service that flags crisis signals in chat "
      "messages.\n"
      "Every option can also be set with a LANTERN_* environment variable\n"
      "(--model-dir -> LANTERN_MODEL_DIR) or in the --config file.\n\nOptions");
  desc.add_options()("help,h", "Print this help and exit.")(
      "version", "Print the version and exit.")(
      "config", po::value(&config_file),
      "INI-style file of `option = value` lines (long option names).")(
      "listen", po::value(&o.listen)->default_value(o.listen),
      "Address to listen on, host:port. Port 0 picks a free port.")(
      "model-dir", po::value(&o.model_dir)->default_value(o.model_dir),
      "Folder with ensemble.json and one sub-folder per model.")(
      "threads", po::value(&o.threads)->default_value(o.threads),
      "Warm handles per model, each with its own inference thread, unless "
      "--handles or the model's spec says otherwise.")(
      "torch-threads",
      po::value(&o.torch_threads)->default_value(o.torch_threads),
      "Torch intra-op threads per forward pass.")(
      "handles", po::value(&o.handles)->default_value(o.handles),
      "Warm handles per model; 0 = the model spec's value, or one per worker "
      "thread.")(
      "max-message-chars",
      po::value(&o.max_message_chars)->default_value(o.max_message_chars),
      "Longest accepted message text, in Unicode code points.")(
      "max-queue", po::value(&o.max_queue)->default_value(o.max_queue),
      "Messages that may be in flight at once; beyond it calls get "
      "RESOURCE_EXHAUSTED.")(
      "max-batch", po::value(&o.max_batch)->default_value(o.max_batch),
      "Most messages per forward pass of one model (dynamic batching).")(
      "batch-delay-us",
      po::value(&o.batch_delay_us)->default_value(o.batch_delay_us),
      "Longest a message waits for its batch to fill, in microseconds; 0 = "
      "never "
      "wait, batch only what is already queued, and let a message alone in the "
      "server run its slowest model on the thread that received it.")(
      "cache-entries",
      po::value(&o.cache_entries)->default_value(o.cache_entries),
      "Verdicts kept in the result cache (keyed on a digest of the text, never "
      "the "
      "text); 0 turns the cache off.")(
      "stream-window",
      po::value(&o.stream_window)->default_value(o.stream_window),
      "Messages a stream may have read but not yet answered (flow control); "
      "fewer "
      "while many streams are open, so that together they hold at most half of "
      "--max-queue.")(
      "shutdown-grace-ms",
      po::value(&o.shutdown_grace_ms)->default_value(o.shutdown_grace_ms),
      "On SIGTERM/SIGINT, how long health reports NOT_SERVING and new calls "
      "get "
      "UNAVAILABLE while the port stays open, before it closes (0 = close at "
      "once; "
      "a second signal ends it early).")(
      "stream-channel-in-flight",
      po::value(&o.stream_channel_in_flight)
          ->default_value(o.stream_channel_in_flight),
      "Messages of one channel in the models at once, per stream; the rest "
      "wait while other channels' messages go ahead.")(
      "context-messages",
      po::value(&o.context_messages)->default_value(o.context_messages),
      "Conversation context: earlier messages per person (channel and user) "
      "considered and remembered (1..256; also the most AnalyzeRequest.history "
      "may hold).")(
      "context-window-minutes",
      po::value(&o.context_window_minutes)
          ->default_value(o.context_window_minutes),
      "Conversation context: how far back earlier messages count (1..10080).")(
      "context-people",
      po::value(&o.context_people)->default_value(o.context_people),
      "Conversation context: people one stream remembers; the least recently "
      "seen is forgotten first.")(
      "context-total-people",
      po::value(&o.context_total_people)->default_value(o.context_total_people),
      "Conversation context: people remembered over all streams together.")(
      "shared-context",
      po::value(&o.shared_context)->default_value(o.shared_context),
      "Share one conversation context among all streams (true/false); by "
      "default each stream has its own, forgotten when it ends.")(
      "max-streams", po::value(&o.max_streams)->default_value(o.max_streams),
      "StreamAnalyze calls open at once, server-wide; more get "
      "RESOURCE_EXHAUSTED.")(
      "max-calls-per-connection",
      po::value(&o.max_calls_per_connection)
          ->default_value(o.max_calls_per_connection),
      "Calls open at once on one connection (HTTP/2 MAX_CONCURRENT_STREAMS); a "
      "client's further calls wait on its side.")(
      "http2-window-bytes",
      po::value(&o.http2_window_bytes)->default_value(o.http2_window_bytes),
      "HTTP/2 receive window per call: bytes a client may send ahead of what "
      "the "
      "server has read. Fixed; gRPC's automatic window growth is off.")(
      "memory-quota-mb",
      po::value(&o.memory_quota_mb)->default_value(o.memory_quota_mb),
      "gRPC's memory quota for transport buffers, in MiB; under pressure gRPC "
      "shrinks windows and refuses new calls.")(
      "drain-timeout-ms",
      po::value(&o.drain_timeout_ms)->default_value(o.drain_timeout_ms),
      "After the grace period, how long calls in flight may take to finish.")(
      "tls-cert", po::value(&o.tls_cert),
      "TLS certificate chain (PEM). With --tls-key, the server speaks only "
      "TLS.")("tls-key", po::value(&o.tls_key), "TLS private key (PEM).")(
      "tls-client-ca", po::value(&o.tls_client_ca),
      "CAs (PEM) that client certificates must chain to: every client must "
      "present "
      "one (mutual TLS). Needs --tls-cert.")(
      "auth-tokens", po::value(&o.auth_tokens),
      "File of '<caller> <sha256 of token>' lines: Analyzer calls then need "
      "'authorization: Bearer <token>' (UNAUTHENTICATED otherwise); health "
      "stays "
      "open. Reloaded on SIGHUP.")(
      "log-level", po::value(&o.log_level)->default_value(o.log_level),
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

// The numeric options' ranges.
absl::Status ValidateNumbers(const ServerOptions& o) {
  auto positive = [](int v, const char* name) -> absl::Status {
    if (v >= 1) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be >= 1, got ", v));
  };
  for (auto [value, name] :
       {std::pair{o.threads, "threads"},
        {o.torch_threads, "torch-threads"},
        {o.max_message_chars, "max-message-chars"},
        {o.max_queue, "max-queue"},
        {o.stream_window, "stream-window"},
        {o.max_streams, "max-streams"},
        {o.stream_channel_in_flight, "stream-channel-in-flight"},
        {o.context_messages, "context-messages"},
        {o.context_window_minutes, "context-window-minutes"},
        {o.context_people, "context-people"},
        {o.context_total_people, "context-total-people"},
        {o.max_calls_per_connection, "max-calls-per-connection"},
        {o.memory_quota_mb, "memory-quota-mb"},
        {o.max_batch, "max-batch"}}) {
    if (auto s = positive(value, name); !s.ok()) return s;
  }
  if (o.handles < 0)
    return absl::InvalidArgumentError("--handles must be >= 0");
  if (o.cache_entries < 0)
    return absl::InvalidArgumentError("--cache-entries must be >= 0");
  if (o.batch_delay_us < 0)
    return absl::InvalidArgumentError("--batch-delay-us must be >= 0");
  if (o.http2_window_bytes < 1024 || o.http2_window_bytes > (1 << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http2-window-bytes must be within 1024..1073741824, got ",
        o.http2_window_bytes));
  }
  if (o.max_message_chars > (1 << 24)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max-message-chars must be <= 16777216, got ", o.max_message_chars));
  }
  if (o.context_messages > 256 || o.context_window_minutes > 7 * 24 * 60 ||
      o.context_people > 1000000 || o.context_total_people > 1000000) {
    return absl::InvalidArgumentError(
        "--context-messages must be <= 256, --context-window-minutes <= "
        "10080, --context-people and --context-total-people <= 1000000");
  }
  if (o.shutdown_grace_ms < 0) {
    return absl::InvalidArgumentError("--shutdown-grace-ms must be >= 0");
  }
  if (o.drain_timeout_ms < 0) {
    return absl::InvalidArgumentError("--drain-timeout-ms must be >= 0");
  }
  return absl::OkStatus();
}

absl::Status Validate(const ServerOptions& o) {
  if (auto s = ValidateNumbers(o); !s.ok()) return s;
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!o.tls_client_ca.empty() && o.tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (auto level = core::ParseLogLevel(o.log_level); !level.ok()) {
    return level.status();
  }
  if (auto s = o.metrics.Validate(); !s.ok()) return s;
  if (o.listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen must be host:port, got '", o.listen, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

const char* ServerVersion() { return LANTERN_VERSION; }

std::string DefaultModelDir() { return LANTERN_DEFAULT_MODEL_DIR; }

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
  if (auto s = Validate(parsed.options); !s.ok()) return s;
  return parsed;
}

}  // namespace lantern::server
