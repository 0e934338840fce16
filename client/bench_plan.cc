// The plan of a run and open-loop arrivals; see bench_plan.h.
#include "client/bench_plan.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace lantern::client {

BenchPlan::BenchPlan(absl::Duration warmup, absl::Duration duration,
                     int64_t count)
    : start_(absl::Now()),
      warm_end_(start_ + warmup),
      end_(count > 0 ? absl::InfiniteFuture() : warm_end_ + duration),
      count_(count) {}

bool BenchPlan::Claim(absl::Time now, Ticket* ticket) {
  if (stopped_.load() || now >= end_) return false;
  ticket->measured = now >= warm_end_;
  if (ticket->measured && count_ > 0 && measured_.fetch_add(1) >= count_) {
    stopped_.store(true);
    return false;
  }
  ticket->index = next_.fetch_add(1);
  return true;
}

bool BenchPlan::Over(absl::Time now) const {
  return stopped_.load() || now >= end_ ||
         (count_ > 0 && measured_.load() >= count_);
}

ArrivalGaps::ArrivalGaps(double rate, Arrivals kind, uint64_t seed)
    : mean_s_(1.0 / rate), kind_(kind), rng_(seed ^ 0x9e3779b97f4a7c15ULL) {}

absl::Duration ArrivalGaps::Next() {
  if (kind_ == Arrivals::kFixed) return absl::Seconds(mean_s_);
  return absl::Seconds(
      std::exponential_distribution<double>(1.0 / mean_s_)(rng_));
}

void SendLag::Add(absl::Duration lag) {
  ++count;
  total += lag;
  max = std::max(max, lag);
}

std::string SendLag::Note() const {
  if (count == 0) return "";
  return absl::StrFormat(
      "open loop: sends left on average %d µs after their scheduled time "
      "(max %d µs); latency counts from the schedule",
      absl::ToInt64Microseconds(total / count), absl::ToInt64Microseconds(max));
}

void SleepUntil(absl::Time t) {
  const absl::Duration d = t - absl::Now();
  if (d > absl::ZeroDuration()) absl::SleepFor(d);
}

}  // namespace lantern::client
