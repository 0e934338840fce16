#include "server/server.h"

#include <malloc.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/logging.h"
#include "core/status_macros.h"

namespace lantern::server {
namespace {

constexpr char kServiceName[] = "lantern.v1.Analyzer";
constexpr absl::Duration kTrimInterval = absl::Seconds(5);

absl::StatusOr<std::string> ReadPem(const std::string& path,
                                    absl::string_view option) {
  std::ifstream in(path, std::ios::binary);
  std::string pem(std::istreambuf_iterator<char>(in),
                  std::istreambuf_iterator<char>{});
  if (!in.is_open() || pem.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": cannot read ", path, " (missing or empty)"));
  }
  return pem;
}

}  // namespace

int MaxReceiveBytes(const ServerOptions& options) {
  // Room for the longest allowed text (4 bytes per code point) plus the
  // other fields; larger requests are refused by gRPC with
  // RESOURCE_EXHAUSTED before they are parsed.
  return static_cast<int>(std::min<int64_t>(
      int64_t{options.engine.max_message_chars} * 4 + 64 * 1024,
      std::numeric_limits<int>::max()));
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(
    const ServerOptions& options, core::EngineDeps deps) {
  std::unique_ptr<Metrics> metrics;
  if (!options.metrics.listen.empty()) {
    metrics = std::make_unique<Metrics>(ServerVersion());
    deps.observer = metrics->engine_observer();
  }
  LANTERN_ASSIGN_OR_RETURN(std::unique_ptr<core::Engine> engine,
                           core::Engine::Create(options.engine, deps));
  const core::BlasInfo blas = core::DescribeBlas();
  if (blas.is_reference) {
    core::LogWarning(absl::StrCat(
        "!!! libtorch is using the REFERENCE BLAS (", blas.library,
        "): inference will be ~20x slower. Install libopenblas0-openmp. !!!"));
  } else {
    core::LogInfo(absl::StrCat("BLAS: ", blas.library));
  }
  core::LogInfo(absl::StrCat(
      "batching: up to ", options.engine.batching.max_batch,
      " messages per forward pass, waiting up to ",
      absl::FormatDuration(options.engine.batching.max_delay), "; ",
      options.engine.torch_threads, " torch intra-op threads per pass"));
  std::unique_ptr<TokenAuth> auth;
  if (!options.auth_tokens.empty()) {
    LANTERN_ASSIGN_OR_RETURN(auth, TokenAuth::Load(options.auth_tokens));
  }
  std::unique_ptr<Server> server(new Server(options, std::move(engine),
                                            std::move(deps), std::move(auth),
                                            std::move(metrics)));
  server->state_.set_blas(blas);
  LANTERN_RETURN_IF_ERROR(server->Start());
  return server;
}

Server::Server(const ServerOptions& options,
               std::unique_ptr<core::Engine> engine, core::EngineDeps deps,
               std::unique_ptr<TokenAuth> auth,
               std::unique_ptr<Metrics> metrics)
    : options_(options),
      deps_(std::move(deps)),
      auth_(std::move(auth)),
      metrics_(std::move(metrics)),
      state_(std::move(engine), options.streams, options.engine.max_queue),
      service_(&state_, auth_.get()),
      health_({kServiceName}),
      reflection_({kServiceName, "grpc.health.v1.Health",
                   "grpc.reflection.v1alpha.ServerReflection"}) {
  state_.set_metrics(metrics_.get());
}

Server::~Server() {
  Shutdown();
  std::thread reload;
  {
    absl::MutexLock lock(&reload_thread_mu_);
    reload = std::move(reload_thread_);
  }
  if (reload.joinable()) reload.join();
  if (warm_thread_.joinable()) warm_thread_.join();
  if (!stop_trimming_.HasBeenNotified()) stop_trimming_.Notify();
  if (trim_thread_.joinable()) trim_thread_.join();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const ServerOptions& options) {
  if (options.tls.cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  LANTERN_ASSIGN_OR_RETURN(pair.cert_chain,
                           ReadPem(options.tls.cert, "--tls-cert"));
  LANTERN_ASSIGN_OR_RETURN(pair.private_key,
                           ReadPem(options.tls.key, "--tls-key"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!options.tls.client_ca.empty()) {
    LANTERN_ASSIGN_OR_RETURN(ssl.pem_root_certs,
                             ReadPem(options.tls.client_ca, "--tls-client-ca"));
    ssl.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

absl::Status Server::ReloadAuthTokens() {
  if (auth_ == nullptr)
    return absl::FailedPreconditionError("no --auth-tokens file");
  absl::StatusOr<int> callers = auth_->Reload();
  if (!callers.ok()) {
    core::LogError(absl::StrCat("auth tokens not reloaded, the old ones stay: ",
                                callers.status().message()));
    return callers.status();
  }
  core::LogInfo(absl::StrFormat("auth tokens reloaded: %d callers", *callers));
  return absl::OkStatus();
}

absl::Status Server::ReloadModels() {
  absl::MutexLock lock(&reload_mu_);
  const absl::Time start = absl::Now();
  const std::string old_version = state_.engine()->ensemble_version();
  if (!warm_done_.HasBeenNotified() || !warm_status_.ok() ||
      state_.draining()) {
    return absl::FailedPreconditionError(
        "models are reloaded only while the server is SERVING");
  }
  auto fail = [&old_version](const absl::Status& status) {
    core::LogError(absl::StrCat("model reload failed; ensemble ", old_version,
                                " keeps serving: ", status.message()));
    return status;
  };
  absl::StatusOr<std::unique_ptr<core::Engine>> created =
      core::Engine::Create(options_.engine, deps_);
  if (!created.ok()) return fail(created.status());
  std::shared_ptr<core::Engine> next = *std::move(created);
  if (absl::Status warmed = next->LoadAndWarm(); !warmed.ok()) {
    return fail(warmed);
  }
  if (state_.draining()) {
    return absl::UnavailableError("the server began draining during reload");
  }
  std::shared_ptr<core::Engine> old = state_.SwapEngine(next);
  core::LogInfo(absl::StrFormat(
      "models reloaded: ensemble %s -> %s, loaded and warmed in %d ms",
      old_version, next->ensemble_version(),
      absl::ToInt64Milliseconds(absl::Now() - start)));
  next.reset();
  // Calls that took the old engine before the swap still hold it: wait for
  // them here, so it is never destroyed on one of its own threads.
  while (old.use_count() > 1) absl::SleepFor(absl::Milliseconds(10));
  old.reset();
  core::LogInfo(absl::StrFormat(
      "old engine (ensemble %s) released, %d ms "
      "after the reload began",
      old_version, absl::ToInt64Milliseconds(absl::Now() - start)));
  return absl::OkStatus();
}

void Server::RequestReload() {
  absl::MutexLock lock(&reload_thread_mu_);
  if (reloading_) {
    // The files may have changed after the reload under way read them.
    core::LogInfo("SIGHUP during a reload: reloading again after it");
    reload_again_ = true;
    return;
  }
  if (reload_thread_.joinable()) reload_thread_.join();
  reloading_ = true;
  reload_thread_ = std::thread([this] {
    for (;;) {
      if (auth_ != nullptr) (void)ReloadAuthTokens();
      (void)ReloadModels();
      absl::MutexLock done(&reload_thread_mu_);
      if (!reload_again_) break;
      reload_again_ = false;
    }
    absl::MutexLock done(&reload_thread_mu_);
    reloading_ = false;
  });
}

absl::Status Server::Start() {
  LANTERN_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                           ServerCredentials(options_));
  if (metrics_ != nullptr) {
    LANTERN_RETURN_IF_ERROR(metrics_->Start(options_.metrics.listen, &state_));
  }

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.listen, credentials, &port_);
  builder.RegisterService(&service_);
  builder.RegisterService(&health_);
  builder.RegisterService(&reflection_);
  builder.SetMaxReceiveMessageSize(MaxReceiveBytes(options_));
  // Memory bounds against clients that send without reading (see
  // docs/reliability.md for the worst case these give).
  grpc::ResourceQuota quota("lantern");
  quota.Resize(static_cast<size_t>(options_.transport.memory_quota_mb) << 20);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options_.transport.max_calls_per_connection);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES,
                             options_.transport.http2_window_bytes);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.listen,
                     " (address in use or not local?)"));
  }
  core::LogInfo(absl::StrFormat(
      "listening on %s (port %d, %s%s); warming up models", options_.listen,
      port_, options_.tls.cert.empty() ? "plaintext" : "TLS",
      options_.tls.client_ca.empty() ? "" : " with client certificates"));
  if (auth_ != nullptr)
    core::LogInfo("Analyzer calls need a bearer token (--auth-tokens)");
  warm_thread_ = std::thread([this] { Warm(); });
  // glibc keeps freed memory in its arenas: after a burst (oversized
  // requests, which gRPC buffers whole before refusing them; streams that
  // were cancelled) RSS stayed 100-250 MB higher for good. malloc_trim
  // returns the free pages of every arena.
  trim_thread_ = std::thread([this] {
    while (!stop_trimming_.WaitForNotificationWithTimeout(kTrimInterval))
      malloc_trim(0);
  });
  return absl::OkStatus();
}

void Server::Warm() {
  const absl::Status status = state_.engine()->LoadAndWarm();
  if (status.ok()) {
    state_.set_startup_time(absl::Now() - state_.started_at());
    health_.SetServing(true);
    core::LogInfo(absl::StrFormat("SERVING on port %d, %d ms after start",
                                  port_, state_.startup_time_us() / 1000));
  } else {
    core::LogError(absl::StrCat("warm-up failed: ", status.ToString()));
  }
  warm_status_ = status;
  warm_done_.Notify();
  if (!status.ok()) RequestShutdown();
}

absl::Status Server::WaitForWarmup() {
  warm_done_.WaitForNotification();
  return warm_status_;
}

absl::Status Server::Run() {
  shutdown_requested_.WaitForNotification();
  Shutdown();
  if (warm_done_.HasBeenNotified()) return warm_status_;
  return absl::OkStatus();
}

void Server::RequestShutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (!shutdown_requested_.HasBeenNotified()) {
    shutdown_requested_.Notify();
  } else if (!grace_cut_.HasBeenNotified()) {
    grace_cut_.Notify();
  }
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
    if (!shutdown_requested_.HasBeenNotified()) shutdown_requested_.Notify();
  }
  // Refuse new work first, with the port still open: health answers
  // NOT_SERVING and new calls UNAVAILABLE, so nothing is refused at the
  // connection level while load balancers catch up.
  health_.StartDraining();
  state_.StartDraining();
  const bool was_serving = warm_done_.HasBeenNotified() && warm_status_.ok();
  if (was_serving && options_.shutdown_grace > absl::ZeroDuration()) {
    core::LogInfo(absl::StrCat(
        "shutting down: health NOT_SERVING, new calls UNAVAILABLE; port "
        "closes in ",
        absl::FormatDuration(options_.shutdown_grace)));
    grace_cut_.WaitForNotificationWithTimeout(options_.shutdown_grace);
  }
  core::LogInfo(absl::StrCat("draining: up to ",
                             absl::FormatDuration(options_.drain_timeout),
                             " for calls in flight"));
  health_.Shutdown();  // Watches end.
  // Null when Start() failed before listening.
  if (server_ != nullptr) {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.drain_timeout));
  }
  {
    // Waits for a reload under way: it swaps in its engine only while not
    // draining, and releases the engine it retired once its calls are gone.
    absl::MutexLock lock(&reload_mu_);
  }
  state_.engine()->Shutdown();
  if (metrics_ != nullptr) metrics_->Stop();
  core::LogInfo(
      absl::StrFormat("stopped: %d messages analysed", state_.served()));
}

namespace {

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockSignals() {
  const sigset_t set = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForSignal() {
  const sigset_t set = HandledSignals();
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

}  // namespace lantern::server
