// raw_baseline's drivers (raw_engine.cc, raw_direct.cc) and what they share
// with its command line (raw_baseline.cc, which describes the tool).
#ifndef LANTERN_TESTS_BENCH_RAW_BASELINE_H_
#define LANTERN_TESTS_BENCH_RAW_BASELINE_H_

#include <string>

#include "absl/time/time.h"
#include "client/bench.h"
#include "core/model_batcher.h"

namespace lantern::bench {

struct RawOptions {
  std::string driver = "engine";
  std::string model_dir;
  int threads = 2;
  int torch_threads = 1;
  // Dynamic batching, as the engine's defaults unless given.
  int max_batch = core::BatchOptions().max_batch;
  absl::Duration batch_delay = core::BatchOptions().max_delay;
  // What raw_baseline shares with `lantern bench`: --concurrency, --rate,
  // --arrivals, --duration, --count, --warmup, --messages,
  // --repeat-fraction, --seed, --verbatim, --json. The RPC-only fields keep
  // their defaults.
  client::BenchOptions load;
};

// Runs `drive(plan, recorder)` on a new plan, with the CPU meter running
// from the end of the warm-up, and fills `result` from what it recorded.
template <typename Drive>
void Measure(const client::BenchOptions& load, Drive drive,
             client::BenchResult* result) {
  client::BenchPlan plan(load.warmup, load.duration, load.count);
  client::BenchRecorder recorder;
  client::CpuMeter meter;
  {
    client::MeterAtWarmEnd meter_start(&meter, plan);
    drive(plan, recorder);
  }
  meter.Stop();
  recorder.Fill(plan.warm_end(), result);
  client::FillCpu(meter, result);
}

// The drivers: each fills `result` (but its label) and returns 0, or writes
// the error on stderr and returns 1.
int RunEngine(const RawOptions& o, const client::BenchSequence& sequence,
              client::BenchResult* result);
int RunDirectDriver(const RawOptions& o, const client::BenchSequence& sequence,
                    client::BenchResult* result);

}  // namespace lantern::bench

#endif  // LANTERN_TESTS_BENCH_RAW_BASELINE_H_
