// State shared by the RPC handlers of one server: the engine, counters, the
// draining flag and the set of open streams. Thread-safe.
#ifndef LANTERN_SERVER_SERVING_STATE_H_
#define LANTERN_SERVER_SERVING_STATE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/conversation.h"
#include "core/engine.h"
#include "core/model_backend.h"
#include "server/metrics.h"

namespace lantern::server {

// Something that can be asked to wind down (an open stream): stop reading,
// answer what was read, then finish with UNAVAILABLE.
class Drainable {
 public:
  virtual ~Drainable() = default;
  // Marks the stream as draining. Called with the registry lock held, so it
  // must not call into gRPC (a reaction run inline could re-enter the
  // registry). Returns true when the stream is idle and the caller must call
  // FinishDrained() after releasing the lock.
  virtual bool MarkDraining() = 0;
  virtual void FinishDrained() = 0;
};

// StreamAnalyze's bounds and conversation-context sharing (the server's
// --stream-* and server-wide --context-* flags).
struct StreamOptions {
  // Messages one stream may have read but not yet answered; fewer while
  // many streams are open (see ServingState::stream_window()).
  int window = 32;
  // Streams open at once, server-wide; more get RESOURCE_EXHAUSTED.
  int max_streams = 256;
  // Messages of one channel in the models at once, per stream; the rest
  // wait in the stream while other channels go ahead.
  int channel_in_flight = 16;
  // People remembered over all streams together (each stream's own bound
  // is core::ContextOptions::max_people).
  int context_total_people = 100000;
  // All streams share one conversation context instead of one each.
  bool shared_context = false;

  // InvalidArgument when a bound is below 1 (or context_total_people above
  // 1,000,000).
  absl::Status Validate() const;
};

class ServingState {
 public:
  // `engine` may be null in tests that never touch it or conversation
  // context.
  // `max_queue` is the engine's bound on messages in flight; streams
  // together may hold half of it.
  ServingState(std::shared_ptr<core::Engine> engine,
               const StreamOptions& options, int max_queue);

  const StreamOptions& stream_options() const { return options_; }

  // The engine that takes new work. A call holds the pointer for as long
  // as it uses the engine, so an engine swapped out by SwapEngine() (model
  // reload) finishes its work and is destroyed once its last call lets go.
  std::shared_ptr<core::Engine> engine() const {
    absl::MutexLock lock(&engine_mu_);
    return engine_;
  }
  // Makes `next` the engine for new work; returns the one it replaces.
  std::shared_ptr<core::Engine> SwapEngine(std::shared_ptr<core::Engine> next) {
    absl::MutexLock lock(&engine_mu_);
    std::swap(engine_, next);
    return next;
  }
  // Messages one stream may have read but not yet answered, now:
  // --stream-window, or fewer while many streams are open, so that all of
  // them together hold at most half of --max-queue and unary callers always
  // find room (200 streams that never read used to fill the queue).
  int stream_window() const {
    const int open = std::max(1, open_streams_.load());
    return std::clamp(streams_share_ / open, 1, options_.window);
  }

  // The context store a new stream uses: the shared one with
  // --shared-context, otherwise a new one of its own. Both count against
  // the server-wide budget.
  std::shared_ptr<core::ContextStore> NewStreamContext();
  core::ContextBudget::Stats context_stats() const {
    return context_budget_.stats();
  }
  absl::Time started_at() const { return started_at_; }

  // Counts one answered request: a message (of Analyze, or of a stream),
  // or a call refused before any message; OK or an error code. GetStatus's
  // counters (served, errors) leave out GetStatus's own successful calls.
  // With metrics (set_metrics), also counted by `rpc`, with the time since
  // `started` and, for an analysis, the `level` it was given.
  void Record(Rpc rpc, const absl::Status& status, absl::Time started,
              std::optional<core::Level> level = std::nullopt);
  uint64_t served() const { return served_.load(); }
  std::map<std::string, uint64_t> errors() const;

  // Counts one message from an authenticated caller.
  void CountCaller(const std::string& caller);
  std::map<std::string, uint64_t> messages_by_caller() const;

  bool draining() const { return draining_.load(); }
  // Sets draining and asks every open stream to drain. Non-blocking.
  void StartDraining();

  // Streams register on open and unregister in OnDone, before deletion.
  // Register does not register, and returns UNAVAILABLE when draining or
  // RESOURCE_EXHAUSTED when max_streams are open.
  absl::Status RegisterStream(Drainable* stream);
  void UnregisterStream(Drainable* stream);
  int active_streams() const;

  // Where Record() also counts; null (the default) for none. Set once,
  // before serving; `metrics` must outlive every call.
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }

  void set_blas(core::BlasInfo blas) { blas_ = std::move(blas); }
  const core::BlasInfo& blas() const { return blas_; }

  void set_startup_time(absl::Duration d) {
    startup_us_.store(absl::ToInt64Microseconds(d));
  }
  int64_t startup_time_us() const { return startup_us_.load(); }

 private:
  mutable absl::Mutex engine_mu_;
  std::shared_ptr<core::Engine> engine_ ABSL_GUARDED_BY(engine_mu_);
  const StreamOptions options_;
  const int streams_share_;  // of the engine queue, for all streams together
  core::ContextBudget context_budget_;
  std::shared_ptr<core::ContextStore> shared_context_;  // --shared-context
  std::atomic<int> open_streams_{0};
  const absl::Time started_at_;
  std::atomic<uint64_t> served_{0};
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> startup_us_{0};
  core::BlasInfo blas_;         // Set once before serving.
  Metrics* metrics_ = nullptr;  // Set once before serving.
  mutable absl::Mutex mu_;
  std::map<absl::StatusCode, uint64_t> errors_ ABSL_GUARDED_BY(mu_);
  std::set<Drainable*> streams_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> by_caller_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lantern::server

#endif  // LANTERN_SERVER_SERVING_STATE_H_
