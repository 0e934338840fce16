// The RPC drivers of `lantern bench`, internal to RunBench (bench.cc): unary
// calls and StreamAnalyze streams on gRPC's callback API, closed loop or
// open loop, recording every measured message in the run's BenchRecorder.
#ifndef LANTERN_CLIENT_BENCH_DRIVERS_H_
#define LANTERN_CLIENT_BENCH_DRIVERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/bench_messages.h"
#include "client/bench_options.h"
#include "client/bench_plan.h"
#include "client/bench_recorder.h"
#include "client/client.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "lantern/v1/analyzer.grpc.pb.h"

namespace lantern::client {

// What every driver of one run shares. Nothing is owned; everything
// outlives the driver.
struct RunContext {
  lantern::v1::Analyzer::Stub* stub;
  grpc::health::v1::Health::Stub* health;  // BenchMode::kHealth, else null
  const BenchSequence* sequence;
  BenchPlan* plan;
  BenchRecorder* recorder;
  absl::Duration timeout;       // unary calls
  const ClientOptions* client;  // the bearer token
  int people;                   // BenchOptions::people
};

// Gives message `index` its author and channel when the run has people
// (see BenchOptions::people).
void SetAuthor(int people, int64_t index, lantern::v1::ChatMessage* message);

// Unary: keeps `concurrency` calls outstanding (Analyze, or Health/Check
// when run.health is set) until the plan is over; returns once every call is
// back, each within run.timeout.
void RunUnaryClosed(const RunContext& run, int concurrency);

// Unary: sends at `rate` per second on schedule from this thread, however
// the server keeps up; returns once every call is back, with how late the
// sends left.
SendLag RunUnaryOpen(const RunContext& run, double rate, Arrivals arrivals,
                     uint64_t seed);

// Runs options.concurrency StreamAnalyze calls, closed loop (each with
// options.stream_window messages unanswered at most) or open loop
// (options.rate set: messages dealt to the streams in turn), until the plan
// is over and every answer is in, or the calls are cancelled 2 s +
// run.timeout after the plan ended. Messages never answered are counted as
// errors with the stream's final code. Notes for the table go to `notes`.
SendLag RunStreams(const RunContext& run, const BenchOptions& options,
                   std::vector<std::string>* notes);

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_BENCH_DRIVERS_H_
