// `lantern bench`: RunBench puts the pieces together; see bench.h.
#include "client/bench.h"

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/bench_drivers.h"
#include "client/cli.h"

namespace lantern::client {
namespace {

using lantern::v1::Analyzer;
using lantern::v1::AnalyzeRequest;
using lantern::v1::AnalyzeResponse;

// A channel of the run's own, so that the first request goes over a new
// connection, and the stubs on it.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<Analyzer::Stub> stub;
  std::unique_ptr<grpc::health::v1::Health::Stub> health;
};

Connection OpenConnection(const ClientOptions& client_options) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // One attempt a call: a bench counts every refusal, and a retry would hide
  // it and add its wait to the latency.
  ClientOptions one_attempt = client_options;
  one_attempt.max_attempts = 1;
  Connection c;
  c.channel = MakeChannel(one_attempt, args);
  c.stub = Analyzer::NewStub(c.channel);
  c.health = grpc::health::v1::Health::NewStub(c.channel);
  return c;
}

// One blocking call of the run's kind; its latency in µs, or the error.
absl::StatusOr<int64_t> SingleCall(const Connection& c,
                                   const ClientOptions& client_options,
                                   BenchMode mode,
                                   const BenchSequence& sequence, int64_t index,
                                   const std::string& id) {
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + client_options.timeout));
  AddCallCredentials(client_options, context);
  AnalyzeRequest request;
  request.mutable_message()->set_id(id);
  request.mutable_message()->set_text(sequence.At(index));
  AnalyzeResponse response;
  grpc::health::v1::HealthCheckResponse health_response;
  const absl::Time start = absl::Now();
  const grpc::Status status =
      mode == BenchMode::kHealth
          ? c.health->Check(&context, {}, &health_response)
          : c.stub->Analyze(&context, request, &response);
  const int64_t took = absl::ToInt64Microseconds(absl::Now() - start);
  if (!status.ok()) return FromGrpcStatus(status);
  return took;
}

// Before any other traffic on the connection: the first request, then the
// pause probes (BenchOptions::pause_probes), into `result`. False, with the
// error written on `err`, when one of them fails.
bool ProbeSingleCalls(const Connection& c, const ClientOptions& client_options,
                      const BenchOptions& options,
                      const BenchSequence& sequence, BenchResult* result,
                      std::ostream& err) {
  absl::StatusOr<int64_t> first =
      SingleCall(c, client_options, options.mode, sequence, 0, "first");
  if (!first.ok()) {
    err << ErrorLine(first.status()) << " (first request)\n";
    return false;
  }
  result->first_us = *first;
  if (options.pause_probes == 0) return true;
  // Far from the run's indices, so the run cannot repeat a probe's text.
  constexpr int64_t kProbeIndex = int64_t{1} << 40;
  std::vector<int64_t> took;
  for (int i = 0; i < options.pause_probes; ++i) {
    absl::SleepFor(options.pause);
    absl::StatusOr<int64_t> probe =
        SingleCall(c, client_options, options.mode, sequence, kProbeIndex + i,
                   absl::StrCat("pause-", i));
    if (!probe.ok()) {
      err << ErrorLine(probe.status()) << " (pause probe)\n";
      return false;
    }
    took.push_back(*probe);
  }
  std::sort(took.begin(), took.end());
  result->after_pause_us = took[took.size() / 2];
  result->pause_probes = options.pause_probes;
  result->pause_ms = absl::ToInt64Milliseconds(options.pause);
  return true;
}

// The recorded run: warm-up and measurement by the driver of the run's mode,
// the CPU meter running from the end of the warm-up. Fills `result` but for
// the label and the single calls.
void RunLoad(const Connection& c, const ClientOptions& client_options,
             const BenchOptions& options, const BenchSequence& sequence,
             BenchResult* result) {
  BenchPlan plan(options.warmup, options.duration, options.count);
  BenchRecorder recorder;
  const RunContext run{
      c.stub.get(),
      options.mode == BenchMode::kHealth ? c.health.get() : nullptr,
      &sequence,
      &plan,
      &recorder,
      client_options.timeout,
      &client_options,
      options.people};
  CpuMeter meter(options.server_pid);
  SendLag lag;
  {
    MeterAtWarmEnd meter_start(&meter, plan);
    if (options.mode == BenchMode::kStream) {
      lag = RunStreams(run, options, &result->notes);
    } else if (options.rate.has_value()) {
      lag = RunUnaryOpen(run, *options.rate, options.arrivals, options.seed);
    } else {
      RunUnaryClosed(run, options.concurrency);
    }
  }
  meter.Stop();
  recorder.Fill(plan.warm_end(), result);
  result->target_rate = options.rate;
  result->from_intended = options.rate.has_value();
  FillCpu(meter, result);
  if (options.server_pid > 0 &&
      !result->server_cpu_us_per_message.has_value()) {
    result->notes.push_back(
        absl::StrCat("cannot read /proc/", options.server_pid, "/stat"));
  }
  if (const std::string note = lag.Note(); !note.empty())
    result->notes.push_back(note);
}

}  // namespace

int RunBench(const ClientOptions& client_options, const BenchOptions& options,
             std::ostream& out, std::ostream& err) {
  absl::StatusOr<BenchSequence> sequence = MakeBenchSequence(options);
  if (!sequence.ok()) {
    err << ErrorLine(sequence.status()) << '\n';
    return kExitFailure;
  }
  const Connection connection = OpenConnection(client_options);
  BenchResult result;
  result.label = BenchLabel(options);
  const absl::Time connect_start = absl::Now();
  if (!connection.channel->WaitForConnected(
          absl::ToChronoTime(connect_start + absl::Seconds(5)))) {
    err << ErrorLine(absl::UnavailableError(absl::StrCat(
               "cannot connect to ", client_options.target, " within 5 s")))
        << '\n';
    return kExitFailure;
  }
  result.connect_us = absl::ToInt64Microseconds(absl::Now() - connect_start);
  if (!ProbeSingleCalls(connection, client_options, options, *sequence, &result,
                        err)) {
    return kExitFailure;
  }
  RunLoad(connection, client_options, options, *sequence, &result);
  out << (options.json ? FormatBenchJson(result) + "\n"
                       : FormatBenchTable(result));
  out.flush();
  int64_t errors = 0;
  for (const auto& [code, n] : result.errors) errors += n;
  return (errors == 0 && result.unanswered == 0 && result.sent > 0)
             ? kExitOk
             : kExitFailure;
}

}  // namespace lantern::client
