// What a run measured (BenchResult), the recorder that collects it from
// many threads, and the latency percentiles.
#ifndef LANTERN_CLIENT_BENCH_RECORDER_H_
#define LANTERN_CLIENT_BENCH_RECORDER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace lantern::client {

// Latency percentiles in microseconds.
struct LatencySummary {
  int64_t samples = 0;
  double mean_us = 0;
  int64_t p50_us = 0;
  int64_t p90_us = 0;
  int64_t p99_us = 0;
  int64_t max_us = 0;
};

// Nearest-rank percentiles of `latencies_us` (sorted in place).
LatencySummary Summarize(std::vector<int64_t>* latencies_us);

// What one run measured.
struct BenchResult {
  std::string label;  // e.g. "rpc unary closed-loop c=32"
  int64_t sent = 0;   // measured messages sent
  int64_t ok = 0;
  std::map<std::string, int64_t> errors;  // code name -> count
  int64_t unanswered = 0;
  double window_s = 0;    // warm-up end to last measured answer
  double throughput = 0;  // ok answers per second
  std::optional<double> target_rate;
  double achieved_rate = 0;    // measured sends per second
  bool from_intended = false;  // latency from the intended send time
  LatencySummary latency;
  std::optional<int64_t> first_us;    // first request after connecting
  std::optional<int64_t> connect_us;  // channel connect before it
  // Median latency of the pause probes (BenchOptions::pause_probes).
  std::optional<int64_t> after_pause_us;
  int pause_probes = 0;
  int64_t pause_ms = 0;
  double cpu_us_per_message = 0;  // this process, per measured message
  double cpu_cores = 0;           // this process, CPU seconds per second
  std::optional<double> server_cpu_us_per_message;
  std::optional<double> server_cpu_cores;
  // CPU seconds per second taken by everything else on the machine.
  std::optional<double> other_cores;
  std::vector<std::string> notes;
};

// Collects outcomes of one run. Thread-safe.
class BenchRecorder {
 public:
  // Counts a measured message as sent (call before its answer can arrive).
  void Sent() { sent_.fetch_add(1); }
  // One answered message: `code` 0 = ok. Ignored unless `measured`.
  void Record(bool measured, absl::Time start, absl::Time done, int code);
  // Fills sent/ok/errors/unanswered/latency/throughput of `result`, with
  // the window starting at `window_start`.
  void Fill(absl::Time window_start, BenchResult* result);

 private:
  std::atomic<int64_t> sent_{0};
  absl::Mutex mu_;
  std::vector<int64_t> latencies_us_ ABSL_GUARDED_BY(mu_);
  std::map<int, int64_t> errors_ ABSL_GUARDED_BY(mu_);
  absl::Time last_done_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_BENCH_RECORDER_H_
