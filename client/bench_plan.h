// When to send: the plan of one run (warm-up, then a duration or a count),
// the gaps between open-loop sends, and how late those sends left.
#ifndef LANTERN_CLIENT_BENCH_PLAN_H_
#define LANTERN_CLIENT_BENCH_PLAN_H_

#include <atomic>
#include <cstdint>
#include <random>
#include <string>

#include "absl/time/time.h"
#include "client/bench_options.h"

namespace lantern::client {

// When to send, shared by every sender of one run. Thread-safe.
class BenchPlan {
 public:
  // Starts the clock now: warm-up until now + warmup, then recorded traffic
  // until `duration` more has passed, or (count > 0) until `count` measured
  // messages were claimed, whichever comes first (count > 0 lifts the
  // duration limit).
  BenchPlan(absl::Duration warmup, absl::Duration duration, int64_t count);

  struct Ticket {
    int64_t index = 0;      // position in the message sequence
    bool measured = false;  // sent after the warm-up
  };
  // Claims the next message to send at `now`; false when sending is over.
  bool Claim(absl::Time now, Ticket* ticket);
  // Ends sending early (e.g. the server went away).
  void Stop() { stopped_.store(true); }
  bool Over(absl::Time now) const;

  absl::Time start() const { return start_; }
  absl::Time warm_end() const { return warm_end_; }
  absl::Time end() const { return end_; }

 private:
  const absl::Time start_;
  const absl::Time warm_end_;
  const absl::Time end_;
  const int64_t count_;
  std::atomic<int64_t> next_{1};  // 0 is the first request's
  std::atomic<int64_t> measured_{0};
  std::atomic<bool> stopped_{false};
};

// Gaps between open-loop sends: exactly 1/rate apart (kFixed), or
// exponentially distributed with mean 1/rate (kPoisson), from a generator
// seeded with `seed`. Not thread-safe: one per dispatcher.
class ArrivalGaps {
 public:
  // `rate` (messages per second) must be > 0.
  ArrivalGaps(double rate, Arrivals kind, uint64_t seed);
  absl::Duration Next();

 private:
  double mean_s_;
  Arrivals kind_;
  std::mt19937_64 rng_;
};

// How late an open-loop dispatcher sent, compared with its schedule. Not
// thread-safe.
struct SendLag {
  int64_t count = 0;
  absl::Duration total;
  absl::Duration max;
  void Add(absl::Duration lag);
  // The table's note on the lag; empty when nothing was added.
  std::string Note() const;
};

// Sleeps until `t` (no-op when it has passed).
void SleepUntil(absl::Time t);

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_BENCH_PLAN_H_
