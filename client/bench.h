// `lantern bench`: an RPC load generator for the Analyzer service, and the
// load-generation toolkit it shares with the in-process baseline
// (tests/bench/raw_baseline.cc): the message mix, the load plan, the latency
// recorder and the result table. Nothing here depends on core/ or LibTorch.
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

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/client.h"

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

// The built-in message mix: everyday chat lines of many lengths (greetings,
// games, work, plans, a few in other languages and with emoji) plus a small
// share of distressed and crisis messages. Written for this project. The
// first kHotSetSize entries are the short lines chat repeats most.
const std::vector<std::string>& BuiltinBenchMessages();
inline constexpr int kHotSetSize = 16;

// Reads JSON lines with a string "text" field (other fields are ignored;
// blank lines skipped). NotFound if the file cannot be opened;
// InvalidArgument naming the line number (never its text) when a line is not
// a JSON object with a non-empty "text"; InvalidArgument if there are none.
absl::StatusOr<std::vector<std::string>> LoadBenchMessages(
    const std::string& path);

// A fixed, seeded sequence of message texts. Element i is drawn from the
// hot set (the first min(kHotSetSize, size) messages) with probability
// `repeat_fraction`, else uniformly from the whole list; the choices repeat
// after 65,536 elements. Unless `verbatim`, an element not drawn from the
// hot set is addressed to a user, as chat replies often are: "@" + a
// pronounceable four-syllable handle numbering i from a random offset drawn
// once per sequence (e.g. "@kamirote "), so that it is distinct from every
// other element, also (with near certainty) from those of earlier runs
// against the same server: hot messages repeat exactly, the others do not.
// Element 0 is the first request's; BenchPlan hands out 1, 2, ...
// Immutable after construction: thread-safe.
class BenchSequence {
 public:
  // `messages` must not be empty.
  BenchSequence(std::vector<std::string> messages, double repeat_fraction,
                uint64_t seed, bool verbatim = false);
  std::string At(int64_t i) const;
  size_t size() const { return messages_.size(); }

 private:
  std::vector<std::string> messages_;
  std::vector<uint32_t> order_;
  std::vector<bool> hot_;
  bool verbatim_;
  uint64_t offset_;  // of the handles' numbers
};

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

// CPU time of this process (getrusage), optionally of another process
// (/proc/PID/stat), and of the whole machine (/proc/stat), between Start()
// and Stop().
class CpuMeter {
 public:
  explicit CpuMeter(int other_pid = 0) : other_pid_(other_pid) {}
  void Start();
  void Stop();
  absl::Duration self() const { return self_end_ - self_start_; }
  // Unset when no pid was given or /proc could not be read.
  std::optional<absl::Duration> other() const;
  // Busy CPU time of the whole machine; unset if /proc/stat is unreadable.
  std::optional<absl::Duration> machine() const;
  absl::Duration wall() const { return wall_end_ - wall_start_; }

 private:
  int other_pid_;
  absl::Time wall_start_, wall_end_;
  absl::Duration self_start_, self_end_;
  std::optional<absl::Duration> other_start_, other_end_;
  std::optional<absl::Duration> machine_start_, machine_end_;
};

// Fills the CPU fields of `result` from `meter` and result->sent.
void FillCpu(const CpuMeter& meter, BenchResult* result);

// The human-readable table, several lines, ending with a newline.
std::string FormatBenchTable(const BenchResult& result);
// One line of JSON (no newline) with every field; latencies in µs.
std::string FormatBenchJson(const BenchResult& result);

// The options' help text for the CLI's usage (indented like its commands).
std::string BenchUsageText();

// For cli.cc: declares the bench options, and copies parsed values into
// `options` (InvalidArgument with a one-line reason for bad values).
void AddBenchOptions(boost::program_options::options_description& options);
absl::Status ApplyBenchOptions(const boost::program_options::variables_map& vm,
                               BenchOptions* options);

// Runs the benchmark against `client_options.target` and prints the table
// (or JSON) on `out`. Per-call deadline: client_options.timeout (unary);
// streams have none. Returns kExitFailure if the first request or a pause
// probe failed, the messages could not be loaded, or any measured message
// was not answered OK; otherwise kExitOk. Progress notes go to `err`.
int RunBench(const ClientOptions& client_options, const BenchOptions& options,
             std::ostream& out, std::ostream& err);

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_BENCH_H_
