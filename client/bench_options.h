// What one benchmark run does (BenchOptions) and the command-line options
// that fill it. The load options (how much traffic, which messages, how the
// result is printed) are shared with tests/bench/raw_baseline.cc, so both
// generators accept the same values and reject the same mistakes.
#ifndef LANTERN_CLIENT_BENCH_OPTIONS_H_
#define LANTERN_CLIENT_BENCH_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace boost::program_options {
class options_description;
class variables_map;
}  // namespace boost::program_options

namespace lantern::client {

// kHealth calls grpc.health.v1.Health/Check instead of Analyze, unary: the
// server's cheapest call, so its latency is gRPC's own round trip on this
// machine and connection (the floor under every Analyze).
enum class BenchMode { kUnary, kStream, kHealth };

// How an open loop spaces its sends.
enum class Arrivals { kPoisson, kFixed };

// What one benchmark run does. Defaults are those of `lantern bench`.
struct BenchOptions {
  BenchMode mode = BenchMode::kUnary;
  // Closed loop: calls outstanding at any time (unary), or open streams
  // (stream). Open loop: streams (stream mode); ignored for unary.
  int concurrency = 1;
  // Open loop when set: messages per second across all calls/streams.
  std::optional<double> rate;
  Arrivals arrivals = Arrivals::kPoisson;
  // Recorded traffic stops after this long (if no count is given) ...
  absl::Duration duration = absl::Seconds(10);
  // ... or after this many measured messages (0 = no limit).
  int64_t count = 0;
  // Unrecorded traffic before the measurement starts.
  absl::Duration warmup = absl::Seconds(2);
  // JSON lines with a "text" field; empty = the built-in mix.
  std::string messages_file;
  // Share (0..1) of messages drawn from the hot set (see BenchSequence).
  double repeat_fraction = 0.0;
  // Send the texts exactly as listed. By default every message not drawn
  // from the hot set is made distinct (see BenchSequence), so that a result
  // cache can only hit the hot set.
  bool verbatim = false;
  // Stream mode, closed loop: messages one stream may have sent but not yet
  // seen answered (the server's default --stream-window is 32).
  int stream_window = 32;
  // Local server process to charge CPU time to; 0 = none.
  int server_pid = 0;
  // Print the summary as one JSON object instead of a table.
  bool json = false;
  // Seed of the message order; the same seed gives the same sequence.
  uint64_t seed = 1;
  // Authors: 0 = messages carry no user_id (no conversation context);
  // N > 0 = message i comes from user "p<i mod N>" in channel
  // "c<(i mod N) mod 8>", so the server keeps context for N people.
  int people = 0;
  // Single calls sent after the first request, each after `pause` with no
  // traffic, before the run: what any request costs after the machine has
  // been idle, to set the first request's latency against.
  int pause_probes = 5;
  absl::Duration pause = absl::Milliseconds(100);
};

// The options' help text for the CLI's usage (indented like its commands).
std::string BenchUsageText();

// For cli.cc: declares the bench options, and copies parsed values into
// `options` (InvalidArgument with a one-line reason for bad values).
void AddBenchOptions(boost::program_options::options_description& options);
absl::Status ApplyBenchOptions(const boost::program_options::variables_map& vm,
                               BenchOptions* options);

// The subset any load generator has (raw_baseline too): --concurrency,
// --rate, --arrivals, --duration, --count, --warmup, --messages,
// --repeat-fraction, --seed, --verbatim and --json, with the same checks.
// AddBenchOptions and ApplyBenchOptions include them.
void AddBenchLoadOptions(boost::program_options::options_description& options);
absl::Status ApplyBenchLoadOptions(
    const boost::program_options::variables_map& vm, BenchOptions* options);

// The run's label in the table and the JSON, e.g. "rpc unary closed-loop
// concurrency 32" or "rpc stream open-loop 500 msg/s (poisson) over 2
// streams, 10000 messages".
std::string BenchLabel(const BenchOptions& options);

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_BENCH_OPTIONS_H_
