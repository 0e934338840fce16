// Outcomes and percentiles; see bench_recorder.h.
#include "client/bench_recorder.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"

namespace lantern::client {

LatencySummary Summarize(std::vector<int64_t>* latencies_us) {
  LatencySummary s;
  std::vector<int64_t>& v = *latencies_us;
  s.samples = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&v](double p) {
    // Nearest rank: the smallest value with at least p of the samples at or
    // below it.
    size_t k =
        static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::min(v.size(), std::max<size_t>(k, 1)) - 1];
  };
  double sum = 0;
  for (int64_t x : v) sum += static_cast<double>(x);
  s.mean_us = sum / static_cast<double>(v.size());
  s.p50_us = rank(0.50);
  s.p90_us = rank(0.90);
  s.p99_us = rank(0.99);
  s.max_us = v.back();
  return s;
}

void BenchRecorder::Record(bool measured, absl::Time start, absl::Time done,
                           int code) {
  if (!measured) return;
  absl::MutexLock lock(&mu_);
  if (code == 0) {
    latencies_us_.push_back(absl::ToInt64Microseconds(done - start));
  } else {
    ++errors_[code];
  }
  last_done_ = std::max(last_done_, done);
}

void BenchRecorder::Fill(absl::Time window_start, BenchResult* result) {
  absl::MutexLock lock(&mu_);
  result->sent = sent_.load();
  result->ok = static_cast<int64_t>(latencies_us_.size());
  int64_t errors = 0;
  for (const auto& [code, n] : errors_) {
    result->errors[absl::StatusCodeToString(
        static_cast<absl::StatusCode>(code))] += n;
    errors += n;
  }
  result->unanswered = std::max<int64_t>(0, result->sent - result->ok - errors);
  result->window_s = last_done_ > window_start
                         ? absl::ToDoubleSeconds(last_done_ - window_start)
                         : 0.0;
  if (result->window_s > 0) {
    result->throughput = static_cast<double>(result->ok) / result->window_s;
    result->achieved_rate =
        static_cast<double>(result->sent) / result->window_s;
  }
  result->latency = Summarize(&latencies_us_);
}

}  // namespace lantern::client
