// Feeds one model's handles with dynamic batches.
//
// Start() launches one runner thread per handle. Each runner first warms up
// on a handle of its own (no two runners share one during warm-up), so that
// every handle has run every shape and every serving thread has set up its
// thread-local state (allocator arenas, torch's per-thread settings) before
// the first real request.
//
// Requests (token ids for one message) wait in a FIFO queue. A runner that
// sees work first leases a free handle, then takes the oldest request and up
// to `max_batch` - 1 more of the same length bucket, in arrival order,
// waiting at most `max_delay` after the oldest arrived for the batch to fill
// (0 = take whatever is queued: batching costs no latency at low load and
// grows with load). Requests of other lengths wait for a pass of their own.
// Requests that arrive while every handle is busy therefore join the next
// batch. When nothing is queued and a handle is free, a caller may run its
// request itself (TryRunInline), saving the hand-off to a runner thread.
//
// A batch is padded to the smallest length bucket that fits its longest row
// and to a power-of-two number of rows (by repeating its first row), so
// every shape it runs was seen at warm-up. Requests whose deadline has
// passed, or whose call was cancelled, are dropped before the batch runs,
// never computed.
//
// Thread-safe.
#ifndef LANTERN_CORE_MODEL_BATCHER_H_
#define LANTERN_CORE_MODEL_BATCHER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/engine_observer.h"
#include "core/model_pool.h"

namespace lantern::core {

struct BatchOptions {
  // Most rows per forward pass (>= 1).
  int max_batch = 8;
  // Longest a request waits for its batch to fill; 0 = never wait.
  absl::Duration max_delay = absl::ZeroDuration();
};

// Batch sizes a model with `max_batch` runs at: 1, 2, 4, ... up to
// max_batch (which is included even when it is not a power of two).
std::vector<int> BatchBuckets(int max_batch);

class ModelBatcher {
 public:
  struct Request {
    std::vector<int64_t> ids;  // already truncated to the model's max length
    absl::Time deadline = absl::InfiniteFuture();
    std::function<bool()> is_cancelled;  // may be empty
    // Called exactly once: the row's logits, or DeadlineExceeded /
    // Cancelled / Internal / Unavailable (shut down). On a runner thread,
    // or on the caller's thread when TryRunInline() ran the request.
    std::function<void(absl::StatusOr<std::vector<float>>)> done;
  };

  // Runs on each runner thread with that runner's handle before it serves.
  using Warmup = std::function<absl::Status(ModelBackend&)>;

  // Feeds the handles of `pool_index` in `pool` (both must outlive the
  // batcher). `length_buckets` ascending, last = max length. No thread runs
  // until Start().
  ModelBatcher(std::string name, ModelPool* pool, int pool_index,
               std::vector<int64_t> length_buckets, int64_t pad_id,
               BatchOptions options);
  ModelBatcher(const ModelBatcher&) = delete;
  ModelBatcher& operator=(const ModelBatcher&) = delete;
  ~ModelBatcher();  // Shutdown().

  // Starts one runner per handle and waits until each has run `warmup`
  // (may be empty) on its own handle. Returns the first warm-up error; the
  // runners then stop, and Enqueue() refuses work. Call once.
  absl::Status Start(const Warmup& warmup);

  // Queues `request`; Unavailable (and `done` not called) after Shutdown()
  // or a failed Start(). Requests queued before Start() wait for it.
  absl::Status Enqueue(Request request);

  // Runs `request` at once on the calling thread, as a batch of one, when
  // the model is idle: no delay configured, nothing queued and a handle
  // free. Then `done` has been called before it returns true. Otherwise
  // returns false without touching `request` (Enqueue() it instead).
  bool TryRunInline(Request& request);

  // Refuses new requests, runs every queued one, joins the runners.
  // Idempotent; safe from any thread, also while Start() is warming up.
  void Shutdown();

  // Zeroes batches(), rows(), queue_time() and compute_time(): the engine
  // calls it once warm-up traffic is over.
  void ResetCounters();

  // Reports every forward pass that starts from now on to `observer` (null:
  // stop); `observer` must outlive the batcher. The engine calls it once the
  // warm-up message is answered, so warm-up is never reported.
  void ReportTo(ModelObserver* observer) { observer_.store(observer); }

  size_t queue_depth() const;
  uint64_t batches() const { return batches_.load(); }
  uint64_t rows() const { return rows_.load(); }
  // Summed over requests: from Enqueue() to the batch being taken.
  absl::Duration queue_time() const {
    return absl::Nanoseconds(queue_ns_.load());
  }
  // Summed over forward passes.
  absl::Duration compute_time() const {
    return absl::Nanoseconds(compute_ns_.load());
  }

 private:
  void WarmThenRun(const Warmup& warmup);
  bool AllWarmed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool AllServing() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run();
  // The oldest request and up to max_batch - 1 more of its length bucket,
  // after waiting up to max_delay for them; empty when the queue is. Sets
  // `waits` to how long each waited in the queue.
  std::vector<Request> TakeBatch(std::vector<absl::Duration>* waits);
  // The smallest length bucket that holds `length` tokens.
  int64_t LengthBucket(size_t length) const;
  // Runs `batch` on `lease`'s handle (set), released before the answers;
  // `waits` are the requests' queue waits, for the observer.
  void RunBatch(std::vector<Request> batch, std::vector<absl::Duration> waits,
                std::optional<ModelPool::Lease> lease);

  const std::string name_;
  ModelPool* const pool_;
  const int pool_index_;
  const std::vector<int64_t> length_buckets_;
  const int64_t pad_id_;
  const BatchOptions options_;
  const std::vector<int> batch_buckets_;

  mutable absl::Mutex mu_;
  struct Queued {
    Request request;
    absl::Time enqueued;
  };
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int starting_ ABSL_GUARDED_BY(mu_) = 0;  // runners Start() launched
  int warmed_ ABSL_GUARDED_BY(mu_) = 0;    // ... done warming up
  int serving_ ABSL_GUARDED_BY(mu_) = 0;   // ... and their handle released
  absl::Status warm_status_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> rows_{0};
  std::atomic<int64_t> queue_ns_{0};
  std::atomic<int64_t> compute_ns_{0};
  std::atomic<ModelObserver*> observer_{nullptr};
  // Separate from mu_: Shutdown() joins the runners, which take mu_.
  absl::Mutex runners_mu_;
  std::vector<std::thread> runners_ ABSL_GUARDED_BY(runners_mu_);
};

}  // namespace lantern::core

#endif  // LANTERN_CORE_MODEL_BATCHER_H_
