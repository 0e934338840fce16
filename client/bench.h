// `lantern bench`: an RPC load generator for the Analyzer service, and the
// load-generation toolkit it shares with the in-process baseline
// (tests/bench/raw_baseline.cc). Nothing here depends on core/ or LibTorch.
// The toolkit, one header per piece (this one includes them all):
//   bench_options.h   BenchOptions and the command-line options
//   bench_messages.h  the message mix and its seeded sequence
//   bench_plan.h      when to send: warm-up, duration or count, arrivals
//   bench_recorder.h  outcomes, latency percentiles, BenchResult
//   bench_cpu.h       CPU time of this process, the server, the machine
//   bench_format.h    the result table and its JSON line
// and, internal to RunBench, the RPC drivers (bench_drivers.h).
//
// Measurement rules (the same for every driver that uses BenchPlan and
// BenchRecorder, so their tables compare):
//   - Traffic runs for --warmup seconds before anything is recorded, then
//     until --duration seconds have passed or --count messages were sent.
//   - A message is "measured" when it was sent (or, open loop, scheduled)
//     after the warm-up. Only measured messages count; each ends as ok, an
//     error with its status code, or unanswered.
//   - Latency runs from the send (closed loop) or from the intended send
//     time (open loop, so a slow server cannot hide its queueing by slowing
//     the generator down: no coordinated omission) to the answer.
//   - Throughput is measured answers divided by the time from the end of the
//     warm-up to the last measured answer.
//   - CPU time is taken over the same window: the generator's own
//     (getrusage) and, when a pid is given, the server's
//     (/proc/PID/stat utime+stime, 10 ms resolution). The machine's busy
//     time (/proc/stat) over the window, minus both, is reported as other
//     load: CPU that processes outside the benchmark took meanwhile.
#ifndef LANTERN_CLIENT_BENCH_H_
#define LANTERN_CLIENT_BENCH_H_

#include <iosfwd>

#include "client/bench_cpu.h"
#include "client/bench_format.h"
#include "client/bench_messages.h"
#include "client/bench_options.h"
#include "client/bench_plan.h"
#include "client/bench_recorder.h"
#include "client/client.h"

namespace lantern::client {

// Runs the benchmark against `client_options.target` and prints the table
// (or JSON) on `out`. Per-call deadline: client_options.timeout (unary);
// streams have none. Returns kExitFailure if the first request or a pause
// probe failed, the messages could not be loaded, or any measured message
// was not answered OK; otherwise kExitOk. Progress notes go to `err`.
int RunBench(const ClientOptions& client_options, const BenchOptions& options,
             std::ostream& out, std::ostream& err);

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_BENCH_H_
