// A fixed set of threads that run queued tasks in FIFO order. Inference runs
// here so that gRPC threads never block.
//
// Thread-safe.
#ifndef LANTERN_CORE_WORKER_POOL_H_
#define LANTERN_CORE_WORKER_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace lantern::core {

class WorkerPool {
 public:
  // Starts `threads` threads (>= 1); at most `max_queue` tasks may wait.
  WorkerPool(int threads, size_t max_queue);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool();  // Shutdown().

  // Queues `task`. ResourceExhausted if the queue is full; Unavailable after
  // Shutdown(). On error the task is not run.
  absl::Status Schedule(std::function<void()> task);

  // Refuses new tasks, runs every task already queued, joins the threads.
  // Idempotent; call from one thread at a time, never from a task.
  void Shutdown();

  size_t queue_depth() const;
  int threads() const { return num_threads_; }

 private:
  void Run();

  const int num_threads_;
  const size_t max_queue_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace lantern::core

#endif  // LANTERN_CORE_WORKER_POOL_H_
