// grpc.health.v1.Health: Check and Watch, for the whole server ("") and for
// each named service.
//
// Lantern's own implementation rather than gRPC's built-in one, because the
// built-in service (1) reports SERVING from the moment the port opens, before
// the models are warm, and (2) never ends Watch calls, so every open watcher
// would hold a drain until its timeout. Here every service starts
// NOT_SERVING, and Shutdown() sends NOT_SERVING to every watcher and then
// ends the call with UNAVAILABLE.
//
// Unknown service names follow the health protocol: Check answers NOT_FOUND,
// Watch sends SERVICE_UNKNOWN and stays open. Thread-safe.
#ifndef LANTERN_SERVER_HEALTH_SERVICE_H_
#define LANTERN_SERVER_HEALTH_SERVICE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace lantern::server {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // Registers `services` (plus "") as NOT_SERVING.
  explicit HealthService(const std::vector<std::string>& services);

  // Sets every registered service SERVING or NOT_SERVING and tells watchers.
  // Ignored after StartDraining() or Shutdown().
  void SetServing(bool serving);

  // NOT_SERVING for good; watchers are told and stay open, so load balancers
  // polling or watching see it while the server still answers.
  void StartDraining();

  // NOT_SERVING for good: watchers get it and their calls end.
  void Shutdown();

  grpc::ServerUnaryReactor* Check(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request,
      grpc::health::v1::HealthCheckResponse* response) override;

  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class WatchReactor;
  // `draining` makes the status final; `last` also ends every watch.
  void Broadcast(ServingStatus status, bool draining, bool last);
  void Unregister(WatchReactor* watcher);
  ServingStatus StatusLocked(const std::string& service) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  std::set<WatchReactor*> watchers_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace lantern::server

#endif  // LANTERN_SERVER_HEALTH_SERVICE_H_
