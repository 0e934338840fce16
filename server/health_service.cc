#include "server/health_service.h"

#include <optional>
#include <utility>

namespace lantern::server {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch call. Decisions are made under mu_ and carried out after it is
// released (a reaction may run inline). The call is finished only when no
// write is in flight, so a reactor with a write pending cannot be deleted.
class HealthService::WatchReactor final
    : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  struct Actions {
    bool write = false;
    bool finish = false;
    grpc::Status status;
  };

  WatchReactor(HealthService* service, std::string name)
      : service_(service), name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // Queues `status` (the latest wins); `last` ends the call after sending it.
  // Called with the service's lock held: returns actions to Run() after it
  // is released.
  Actions Update(ServingStatus status, bool last) {
    absl::MutexLock lock(&mu_);
    pending_ = status;
    last_ = last_ || last;
    return NextLocked();
  }

  void Run(const Actions& actions) {
    if (actions.write) StartWrite(&response_);
    if (actions.finish) Finish(actions.status);
  }

  void OnWriteDone(bool ok) override {
    Actions actions;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) gone_ = true;
      actions = NextLocked();
    }
    Run(actions);
  }

  void OnCancel() override {
    Actions actions;
    {
      absl::MutexLock lock(&mu_);
      gone_ = true;
      actions = NextLocked();
    }
    Run(actions);
  }

  void OnDone() override {
    service_->Unregister(this);
    delete this;
  }

 private:
  Actions NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Actions actions;
    if (finished_ || writing_) return actions;
    if (pending_.has_value() && !gone_ && pending_ != sent_) {
      response_.set_status(*pending_);
      sent_ = pending_;
      writing_ = true;
      actions.write = true;
    } else if (last_ || gone_) {
      finished_ = true;
      actions.finish = true;
      actions.status = gone_ ? grpc::Status::CANCELLED
                             : grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                            "server is shutting down");
    }
    pending_.reset();
    return actions;
  }

  HealthService* const service_;
  const std::string name_;
  absl::Mutex mu_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);
  std::optional<ServingStatus> pending_ ABSL_GUARDED_BY(mu_);
  std::optional<ServingStatus> sent_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool last_ ABSL_GUARDED_BY(mu_) = false;
  bool gone_ ABSL_GUARDED_BY(mu_) = false;  // cancelled or write failed
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

HealthService::HealthService(const std::vector<std::string>& services) {
  absl::MutexLock lock(&mu_);
  statuses_[""] = HealthCheckResponse::NOT_SERVING;
  for (const std::string& name : services) {
    statuses_[name] = HealthCheckResponse::NOT_SERVING;
  }
}

void HealthService::SetServing(bool serving) {
  Broadcast(
      serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING,
      /*draining=*/false, /*last=*/false);
}

void HealthService::StartDraining() {
  Broadcast(HealthCheckResponse::NOT_SERVING, /*draining=*/true,
            /*last=*/false);
}

void HealthService::Shutdown() {
  Broadcast(HealthCheckResponse::NOT_SERVING, /*draining=*/true, /*last=*/true);
}

void HealthService::Broadcast(ServingStatus status, bool draining, bool last) {
  std::vector<std::pair<WatchReactor*, WatchReactor::Actions>> todo;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_ || (draining_ && !draining)) return;
    draining_ = draining;
    shut_down_ = last;
    for (auto& [name, s] : statuses_) s = status;
    for (WatchReactor* watcher : watchers_) {
      todo.emplace_back(watcher,
                        watcher->Update(StatusLocked(watcher->name()), last));
    }
  }
  for (auto& [watcher, actions] : todo) watcher->Run(actions);
}

HealthService::ServingStatus HealthService::StatusLocked(
    const std::string& service) const {
  auto it = statuses_.find(service);
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN
                               : it->second;
}

void HealthService::Unregister(WatchReactor* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

grpc::ServerUnaryReactor* HealthService::Check(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request,
    HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  ServingStatus status;
  {
    absl::MutexLock lock(&mu_);
    status = StatusLocked(request->service());
  }
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::NOT_FOUND, "service name unknown"));
  } else {
    response->set_status(status);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* /*context*/,
    const HealthCheckRequest* request) {
  auto* watcher = new WatchReactor(this, request->service());
  WatchReactor::Actions actions;
  {
    absl::MutexLock lock(&mu_);
    watchers_.insert(watcher);
    actions = watcher->Update(StatusLocked(request->service()), shut_down_);
  }
  watcher->Run(actions);
  return watcher;
}

}  // namespace lantern::server
