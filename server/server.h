// The Lantern gRPC server: Analyzer service, grpc.health.v1.Health (see
// server/health_service.h) and server reflection on one port, over a warm
// core::Engine.
//
// Create() starts listening at once with health NOT_SERVING and warms the
// models on a background thread; health turns SERVING when every model is
// warm. Shutdown() drains: health NOT_SERVING and new calls UNAVAILABLE at
// once, streams answer what they read and end with UNAVAILABLE; the port
// stays open for the grace period, then closes and calls in flight get up to
// the drain timeout.
#ifndef LANTERN_SERVER_SERVER_H_
#define LANTERN_SERVER_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/engine.h"
#include "grpcpp/grpcpp.h"
#include "server/analyzer_service.h"
#include "server/auth.h"
#include "server/health_service.h"
#include "server/metrics.h"
#include "server/options.h"
#include "server/reflection_service.h"
#include "server/serving_state.h"

namespace lantern::server {

class Server {
 public:
  // InvalidArgument / NotFound for a bad model directory; Unavailable if the
  // address cannot be bound. `deps` replaces model loading in tests.
  static absl::StatusOr<std::unique_ptr<Server>> Create(
      const ServerOptions& options, core::EngineDeps deps = {});
  ~Server();  // Shutdown().

  // The port actually bound (useful with port 0).
  int port() const { return port_; }

  // Blocks until warm-up has finished; returns its outcome.
  absl::Status WaitForWarmup();

  // Blocks until RequestShutdown() is called or warm-up fails, then drains.
  // Returns the warm-up error if there was one, else OK.
  absl::Status Run();

  // Reads --auth-tokens again (on SIGHUP). The old tokens stay in force when
  // the file is bad; returns why.
  absl::Status ReloadAuthTokens();

  // Reads the model directory again (on SIGHUP) into a new engine, loads
  // and warms it beside the serving one, then swaps it in for new calls;
  // calls under way finish on the old engine, which is released when the
  // last of them ends (this waits for that). Health stays SERVING. On any
  // error (a bad file, a model that fails to load or warm) the old engine
  // keeps serving and the error, naming the file, is logged and returned.
  // FailedPrecondition before SERVING or while draining. One reload at a
  // time; Shutdown() waits for one under way.
  absl::Status ReloadModels();

  // What SIGHUP does: ReloadAuthTokens() (with --auth-tokens) and
  // ReloadModels() on a thread of their own, so signals keep being
  // handled meanwhile. Requests during a reload make it run once more
  // after it (however many arrived).
  void RequestReload();

  // Asks Run() to return. Safe from any thread, including signal waiters.
  // Called again once shutdown has begun, ends the grace period early.
  void RequestShutdown();

  // Drains and stops. Idempotent; blocks for the grace period plus at most
  // the drain timeout plus the time queued work takes.
  void Shutdown();

 private:
  Server(const ServerOptions& options, std::unique_ptr<core::Engine> engine,
         core::EngineDeps deps, std::unique_ptr<TokenAuth> auth,
         std::unique_ptr<Metrics> metrics);
  absl::Status Start();
  void Warm();

  const ServerOptions options_;
  const core::EngineDeps deps_;            // for engines made by ReloadModels()
  const std::unique_ptr<TokenAuth> auth_;  // Null without --auth-tokens.
  // Null without --metrics-listen; outlives state_, which records into it.
  const std::unique_ptr<Metrics> metrics_;
  ServingState state_;
  AnalyzerService service_;
  HealthService health_;
  ReflectionService reflection_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::thread warm_thread_;
  // Gives freed heap memory back to the system every few seconds (see
  // server.cc); stops at shutdown.
  std::thread trim_thread_;
  absl::Notification stop_trimming_;

  absl::Notification warm_done_;
  absl::Status warm_status_;  // Written before warm_done_ is notified.
  absl::Notification shutdown_requested_;
  absl::Notification grace_cut_;
  absl::Mutex reload_mu_;  // one ReloadModels() at a time
  absl::Mutex reload_thread_mu_;
  std::thread reload_thread_ ABSL_GUARDED_BY(reload_thread_mu_);
  bool reloading_ ABSL_GUARDED_BY(reload_thread_mu_) = false;
  // A SIGHUP came while reloading: the reload thread runs once more.
  bool reload_again_ ABSL_GUARDED_BY(reload_thread_mu_) = false;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

// The largest request frame accepted: room for max_message_chars of 4-byte
// UTF-8 plus the other fields, never overflowing an int.
int MaxReceiveBytes(const ServerOptions& options);

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and in threads it
// starts later, so WaitForSignal() can receive them. Call first in main.
void BlockSignals();

// Waits for SIGTERM, SIGINT or SIGHUP; returns the signal number.
int WaitForSignal();

}  // namespace lantern::server

#endif  // LANTERN_SERVER_SERVER_H_
