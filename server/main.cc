// lantern-server: see `lantern-server --help` and server/server.h.
#include <csignal>
#include <cstdio>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "core/logging.h"
#include "server/grpc_log.h"
#include "server/options.h"
#include "server/server.h"

int main(int argc, char** argv) {
  using namespace lantern;
  // Debian's abseil is built with the debug-mode lock-order graph on, which
  // every absl::Mutex acquisition updates. The tests keep it; the server does
  // not pay for it (docs/performance.md).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto parsed = server::ParseServerOptions(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "lantern-server: %s\n",
                 std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (parsed->exit_now) {
    std::fputs(parsed->message.c_str(), stdout);
    return 0;
  }
  const core::LogLevel level =
      core::ParseLogLevel(parsed->options.log_level).value();
  core::SetLogLevel(level);
  server::RouteGrpcLog(level);
  server::BlockSignals();
  auto srv = server::Server::Create(parsed->options);
  if (!srv.ok()) {
    core::LogError(srv.status().ToString());
    return 1;
  }
  // SIGHUP reloads the auth tokens and the models. The first SIGTERM/SIGINT
  // starts the shutdown; a second ends its grace period.
  std::thread([&srv] {
    for (;;) {
      const int signal = server::WaitForSignal();
      if (signal == SIGHUP) {
        core::LogInfo("SIGHUP received: reloading");
        (*srv)->RequestReload();
        continue;
      }
      core::LogInfo(signal == SIGTERM ? "SIGTERM received" : "SIGINT received");
      (*srv)->RequestShutdown();
    }
  }).detach();
  return (*srv)->Run().ok() ? 0 : 1;
}
