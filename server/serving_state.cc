#include "server/serving_state.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace lantern::server {
namespace {

core::ContextOptions ContextOptionsOf(const core::Engine* engine) {
  return engine != nullptr ? engine->context_options() : core::ContextOptions();
}

}  // namespace

absl::Status StreamOptions::Validate() const {
  for (auto [value, flag] :
       {std::pair{window, "--stream-window"},
        {max_streams, "--max-streams"},
        {channel_in_flight, "--stream-channel-in-flight"},
        {context_total_people, "--context-total-people"}}) {
    if (value < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " must be >= 1, got ", value));
    }
  }
  if (context_total_people > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--context-total-people must be <= 1000000, got ",
                     context_total_people));
  }
  return absl::OkStatus();
}

ServingState::ServingState(std::shared_ptr<core::Engine> engine,
                           const StreamOptions& options, int max_queue)
    : engine_(std::move(engine)),
      options_(options),
      streams_share_(std::max(1, max_queue / 2)),
      context_budget_(options.context_total_people),
      started_at_(absl::Now()) {
  if (options.shared_context) {
    shared_context_ = std::make_shared<core::ContextStore>(
        ContextOptionsOf(engine_.get()), &context_budget_);
  }
}

std::shared_ptr<core::ContextStore> ServingState::NewStreamContext() {
  if (shared_context_ != nullptr) return shared_context_;
  return std::make_shared<core::ContextStore>(ContextOptionsOf(engine().get()),
                                              &context_budget_);
}

void ServingState::Record(Rpc rpc, const absl::Status& status,
                          absl::Time started,
                          std::optional<core::Level> level) {
  if (metrics_ != nullptr) {
    metrics_->RecordRequest(rpc, status.code(), absl::Now() - started, level);
  }
  if (rpc == Rpc::kGetStatus && status.ok()) return;
  if (status.ok()) {
    served_.fetch_add(1);
    return;
  }
  absl::MutexLock lock(&mu_);
  ++errors_[status.code()];
}

std::map<std::string, uint64_t> ServingState::errors() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, uint64_t> out;
  for (const auto& [code, count] : errors_) {
    out[absl::StatusCodeToString(code)] = count;
  }
  return out;
}

void ServingState::CountCaller(const std::string& caller) {
  absl::MutexLock lock(&mu_);
  ++by_caller_[caller];
}

std::map<std::string, uint64_t> ServingState::messages_by_caller() const {
  absl::MutexLock lock(&mu_);
  return by_caller_;
}

void ServingState::StartDraining() {
  std::vector<Drainable*> idle;
  {
    absl::MutexLock lock(&mu_);
    draining_.store(true);
    for (Drainable* stream : streams_) {
      if (stream->MarkDraining()) idle.push_back(stream);
    }
  }
  // An idle stream cannot finish (and be deleted) on its own once marked,
  // so it is still alive here.
  for (Drainable* stream : idle) stream->FinishDrained();
}

absl::Status ServingState::RegisterStream(Drainable* stream) {
  absl::MutexLock lock(&mu_);
  if (draining_.load()) {
    return absl::UnavailableError(
        "server is shutting down; every message it read was answered; "
        "reconnect to "
        "send more");
  }
  if (streams_.size() >= static_cast<size_t>(options_.max_streams)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("server has ", options_.max_streams,
                     " streams open, its limit; retry with backoff"));
  }
  streams_.insert(stream);
  open_streams_.store(static_cast<int>(streams_.size()));
  return absl::OkStatus();
}

void ServingState::UnregisterStream(Drainable* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
  open_streams_.store(static_cast<int>(streams_.size()));
}

int ServingState::active_streams() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(streams_.size());
}

}  // namespace lantern::server
