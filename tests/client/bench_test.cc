#include "client/bench.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "boost/program_options.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::client {
namespace {

namespace po = boost::program_options;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Optional;

// Parses `args` (without a program name) the way the CLI does.
absl::Status Apply(std::vector<std::string> args, BenchOptions* options) {
  po::options_description description;
  AddBenchOptions(description);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(description).run(), vm);
  po::notify(vm);
  return ApplyBenchOptions(vm, options);
}

TEST(BenchOptionsTest, PauseProbesDefaultToFiveAfter100Ms) {
  BenchOptions options;
  ASSERT_TRUE(Apply({}, &options).ok());
  EXPECT_EQ(options.pause_probes, 5);
  EXPECT_EQ(options.pause, absl::Milliseconds(100));
}

TEST(BenchOptionsTest, ReadsPauseProbesAndPause) {
  BenchOptions options;
  ASSERT_TRUE(
      Apply({"--pause-probes", "3", "--pause-ms", "20"}, &options).ok());
  EXPECT_EQ(options.pause_probes, 3);
  EXPECT_EQ(options.pause, absl::Milliseconds(20));
  ASSERT_TRUE(Apply({"--pause-probes", "0"}, &options).ok());
  EXPECT_EQ(options.pause_probes, 0);
}

TEST(BenchOptionsTest, RejectsPauseValuesOutOfRange) {
  BenchOptions options;
  absl::Status status = Apply({"--pause-probes", "-1"}, &options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--pause-probes must be 0..1000"));
  status = Apply({"--pause-ms", "0"}, &options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--pause-ms must be 1..60000"));
}

// ---------------------------------------------------------------------------
// Options.

TEST(BenchOptionsTest, ReadsEveryValue) {
  BenchOptions o;
  ASSERT_TRUE(Apply(absl::StrSplit(
                        "--mode stream --concurrency 4 --rate 250 --arrivals "
                        "fixed --duration 2.5 --count 7 --warmup 0 --messages "
                        "m.jsonl --repeat-fraction 0.25 --stream-window 8 "
                        "--server-pid 42 --seed 9 --people 200 --verbatim "
                        "--json",
                        ' '),
                    &o)
                  .ok());
  EXPECT_EQ(o.mode, BenchMode::kStream);
  EXPECT_EQ(o.concurrency, 4);
  EXPECT_THAT(o.rate, Optional(250.0));
  EXPECT_EQ(o.arrivals, Arrivals::kFixed);
  EXPECT_EQ(o.duration, absl::Milliseconds(2500));
  EXPECT_EQ(o.count, 7);
  EXPECT_EQ(o.warmup, absl::ZeroDuration());
  EXPECT_EQ(o.messages_file, "m.jsonl");
  EXPECT_EQ(o.repeat_fraction, 0.25);
  EXPECT_EQ(o.stream_window, 8);
  EXPECT_EQ(o.server_pid, 42);
  EXPECT_EQ(o.seed, 9u);
  EXPECT_EQ(o.people, 200);
  EXPECT_TRUE(o.verbatim);
  EXPECT_TRUE(o.json);
}

TEST(BenchOptionsTest, AcceptsTheEndsOfEachRange) {
  BenchOptions o;
  ASSERT_TRUE(Apply({"--concurrency", "10000", "--people", "1000000",
                     "--repeat-fraction", "1", "--pause-probes", "1000",
                     "--pause-ms", "60000", "--stream-window", "1"},
                    &o)
                  .ok());
  EXPECT_EQ(o.concurrency, 10000);
  EXPECT_EQ(o.people, 1000000);
  EXPECT_EQ(o.repeat_fraction, 1.0);
  EXPECT_EQ(o.pause, absl::Seconds(60));
}

TEST(BenchOptionsTest, RejectsEachValueOutOfRangeWithItsReason) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--mode", "bidi"}, "--mode must be unary, stream or health"},
      {{"--concurrency", "0"}, "--concurrency must be 1..10000"},
      {{"--concurrency", "10001"}, "--concurrency must be 1..10000"},
      {{"--rate", "0"}, "--rate must be a positive number"},
      {{"--rate", "inf"}, "--rate must be a positive number"},
      {{"--rate", "nan"}, "--rate must be a positive number"},
      {{"--arrivals", "uniform"}, "--arrivals must be poisson or fixed"},
      {{"--duration", "0"}, "--duration must be > 0 seconds"},
      {{"--duration", "inf"}, "--duration must be > 0 seconds"},
      {{"--warmup", "-0.5"}, "--warmup must be >= 0 seconds"},
      {{"--count", "0"}, "--count must be >= 1"},
      {{"--repeat-fraction", "1.01"}, "--repeat-fraction must be in 0..1"},
      {{"--repeat-fraction", "-0.1"}, "--repeat-fraction must be in 0..1"},
      {{"--stream-window", "0"}, "--stream-window must be >= 1"},
      {{"--server-pid", "0"}, "--server-pid must be > 0"},
      {{"--people", "-1"}, "--people must be 0..1000000"},
      {{"--people", "1000001"}, "--people must be 0..1000000"},
      {{"--pause-probes", "1001"}, "--pause-probes must be 0..1000"},
      {{"--pause-ms", "60001"}, "--pause-ms must be 1..60000"},
  };
  for (const auto& [args, reason] : cases) {
    BenchOptions o;
    const absl::Status status = Apply(args, &o);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << args[0];
    EXPECT_EQ(status.message(), reason) << args[0] << " " << args[1];
  }
}

TEST(BenchOptionsTest, OfSeveralBadValuesReportsTheModeThenTheLoad) {
  BenchOptions o;
  EXPECT_EQ(Apply({"--concurrency", "0", "--mode", "x"}, &o).message(),
            "--mode must be unary, stream or health");
  EXPECT_EQ(Apply({"--stream-window", "0", "--count", "0"}, &o).message(),
            "--count must be >= 1");
}

// The subset raw_baseline shares: the same checks, and no RPC options.
TEST(BenchOptionsTest, LoadOptionsAloneCheckTheSameRanges) {
  po::options_description description;
  AddBenchLoadOptions(description);
  auto apply = [&description](std::vector<std::string> args, BenchOptions* o) {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(description).run(), vm);
    po::notify(vm);
    return ApplyBenchLoadOptions(vm, o);
  };
  BenchOptions o;
  ASSERT_TRUE(apply({"--concurrency", "32", "--seed", "3"}, &o).ok());
  EXPECT_EQ(o.concurrency, 32);
  EXPECT_EQ(o.seed, 3u);
  EXPECT_EQ(apply({"--warmup", "-1"}, &o).message(),
            "--warmup must be >= 0 seconds");
  EXPECT_THROW(apply({"--mode", "stream"}, &o), po::unknown_option);
}

TEST(BenchLabelTest, NamesModeLoopAndExtras) {
  BenchOptions o;
  EXPECT_EQ(BenchLabel(o), "rpc unary closed-loop concurrency 1");
  o.mode = BenchMode::kHealth;
  o.concurrency = 32;
  EXPECT_EQ(BenchLabel(o), "rpc unary Health/Check closed-loop concurrency 32");
  o.mode = BenchMode::kStream;
  o.concurrency = 2;
  o.count = 10000;
  EXPECT_EQ(BenchLabel(o),
            "rpc stream closed-loop 2 stream(s), window 32, 10000 messages");
  o.rate = 500;
  o.arrivals = Arrivals::kFixed;
  o.repeat_fraction = 0.5;
  o.verbatim = true;
  EXPECT_EQ(BenchLabel(o),
            "rpc stream open-loop 500 msg/s (fixed) over 2 streams, 10000 "
            "messages, repeat fraction 0.50, verbatim");
}

// ---------------------------------------------------------------------------
// Percentiles and the recorder.

TEST(SummarizeTest, NearestRankOfOneToHundred) {
  std::vector<int64_t> v;
  for (int64_t i = 100; i >= 1; --i) v.push_back(i);
  const LatencySummary s = Summarize(&v);
  EXPECT_EQ(s.samples, 100);
  EXPECT_EQ(s.mean_us, 50.5);
  EXPECT_EQ(s.p50_us, 50);
  EXPECT_EQ(s.p90_us, 90);
  EXPECT_EQ(s.p99_us, 99);
  EXPECT_EQ(s.max_us, 100);
  EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
}

TEST(SummarizeTest, RoundsRanksUp) {
  // Ranks ceil(0.5 * 3) = 2, ceil(0.9 * 3) = 3, ceil(0.99 * 3) = 3.
  std::vector<int64_t> three = {300, 100, 200};
  LatencySummary s = Summarize(&three);
  EXPECT_EQ(s.p50_us, 200);
  EXPECT_EQ(s.p90_us, 300);
  EXPECT_EQ(s.p99_us, 300);
  EXPECT_EQ(s.mean_us, 200.0);
  // Ten values: ranks 5, 9 and ceil(9.9) = 10.
  std::vector<int64_t> ten = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  s = Summarize(&ten);
  EXPECT_EQ(s.p50_us, 50);
  EXPECT_EQ(s.p90_us, 90);
  EXPECT_EQ(s.p99_us, 100);
  std::vector<int64_t> one = {7};
  s = Summarize(&one);
  EXPECT_EQ(s.p50_us, 7);
  EXPECT_EQ(s.p99_us, 7);
  EXPECT_EQ(s.max_us, 7);
}

TEST(SummarizeTest, NoSamplesGiveZeros) {
  std::vector<int64_t> none;
  const LatencySummary s = Summarize(&none);
  EXPECT_EQ(s.samples, 0);
  EXPECT_EQ(s.mean_us, 0);
  EXPECT_EQ(s.p50_us, 0);
  EXPECT_EQ(s.max_us, 0);
}

TEST(BenchRecorderTest, CountsOkErrorsAndUnansweredOverTheWindow) {
  BenchRecorder recorder;
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 5; ++i) recorder.Sent();
  recorder.Record(true, t0, t0 + absl::Microseconds(1500), 0);
  recorder.Record(true, t0, t0 + absl::Microseconds(500), 0);
  recorder.Record(true, t0, t0 + absl::Seconds(2), 4);   // DEADLINE_EXCEEDED
  recorder.Record(true, t0, t0 + absl::Seconds(1), 14);  // UNAVAILABLE
  // Warm-up traffic counts for nothing, also not for the window.
  recorder.Record(false, t0, t0 + absl::Seconds(9), 0);
  BenchResult result;
  recorder.Fill(t0, &result);
  EXPECT_EQ(result.sent, 5);
  EXPECT_EQ(result.ok, 2);
  EXPECT_THAT(
      result.errors,
      ElementsAre(std::pair<const std::string, int64_t>("DEADLINE_EXCEEDED", 1),
                  std::pair<const std::string, int64_t>("UNAVAILABLE", 1)));
  EXPECT_EQ(result.unanswered, 1);
  EXPECT_EQ(result.window_s, 2.0);
  EXPECT_EQ(result.throughput, 1.0);
  EXPECT_EQ(result.achieved_rate, 2.5);
  EXPECT_EQ(result.latency.samples, 2);
  EXPECT_EQ(result.latency.p50_us, 500);
  EXPECT_EQ(result.latency.max_us, 1500);
}

// ---------------------------------------------------------------------------
// Plans and arrivals.

TEST(BenchPlanTest, WarmUpThenMeasuredUntilTheDurationEnds) {
  BenchPlan plan(absl::Hours(1), absl::Hours(2), 0);
  EXPECT_EQ(plan.warm_end(), plan.start() + absl::Hours(1));
  EXPECT_EQ(plan.end(), plan.start() + absl::Hours(3));
  BenchPlan::Ticket ticket;
  ASSERT_TRUE(plan.Claim(plan.start(), &ticket));
  EXPECT_EQ(ticket.index, 1);  // 0 is the first request's
  EXPECT_FALSE(ticket.measured);
  ASSERT_TRUE(plan.Claim(plan.warm_end(), &ticket));
  EXPECT_EQ(ticket.index, 2);
  EXPECT_TRUE(ticket.measured);
  EXPECT_FALSE(plan.Over(plan.end() - absl::Seconds(1)));
  EXPECT_TRUE(plan.Over(plan.end()));
  EXPECT_FALSE(plan.Claim(plan.end(), &ticket));
}

TEST(BenchPlanTest, CountEndsItAfterThatManyMeasuredMessages) {
  BenchPlan plan(absl::Hours(1), absl::Seconds(1), 2);
  EXPECT_EQ(plan.end(), absl::InfiniteFuture());  // the count lifts it
  BenchPlan::Ticket ticket;
  ASSERT_TRUE(plan.Claim(plan.start(), &ticket));  // warm-up: not counted
  const absl::Time later = plan.warm_end() + absl::Hours(5);
  ASSERT_TRUE(plan.Claim(later, &ticket));
  ASSERT_TRUE(plan.Claim(later, &ticket));
  EXPECT_EQ(ticket.index, 3);
  EXPECT_TRUE(plan.Over(later));
  EXPECT_FALSE(plan.Claim(later, &ticket));
}

TEST(BenchPlanTest, StopEndsSending) {
  BenchPlan plan(absl::ZeroDuration(), absl::Hours(1), 0);
  plan.Stop();
  BenchPlan::Ticket ticket;
  EXPECT_TRUE(plan.Over(plan.start()));
  EXPECT_FALSE(plan.Claim(plan.start(), &ticket));
}

TEST(ArrivalGapsTest, FixedGapsAreOneOverTheRate) {
  ArrivalGaps gaps(200, Arrivals::kFixed, 1);
  EXPECT_EQ(gaps.Next(), absl::Milliseconds(5));
  EXPECT_EQ(gaps.Next(), absl::Milliseconds(5));
}

TEST(ArrivalGapsTest, PoissonGapsAreSeededWithMeanOneOverTheRate) {
  ArrivalGaps a(100, Arrivals::kPoisson, 7), b(100, Arrivals::kPoisson, 7);
  ArrivalGaps other(100, Arrivals::kPoisson, 8);
  absl::Duration total;
  std::set<int64_t> distinct;
  bool differs = false;
  constexpr int kGaps = 20000;
  for (int i = 0; i < kGaps; ++i) {
    const absl::Duration gap = a.Next();
    EXPECT_EQ(gap, b.Next());
    differs = differs || gap != other.Next();
    EXPECT_GE(gap, absl::ZeroDuration());
    total += gap;
    distinct.insert(absl::ToInt64Nanoseconds(gap));
  }
  EXPECT_TRUE(differs);
  EXPECT_GT(distinct.size(), kGaps / 2);
  // Mean 10 ms; its standard error over 20,000 gaps is 0.07 ms.
  EXPECT_NEAR(absl::ToDoubleMilliseconds(total / kGaps), 10.0, 0.4);
}

TEST(SendLagTest, NotesTheAverageAndTheMaximum) {
  SendLag lag;
  EXPECT_EQ(lag.Note(), "");
  lag.Add(absl::Microseconds(100));
  lag.Add(absl::Microseconds(300));
  EXPECT_EQ(lag.Note(),
            "open loop: sends left on average 200 µs after their scheduled "
            "time (max 300 µs); latency counts from the schedule");
}

// ---------------------------------------------------------------------------
// /proc parsing.

TEST(ProcParseTest, ProcessTicksAreUtimePlusStime) {
  // Fields 14 and 15 (utime 250, stime 50); the name holds ") (".
  EXPECT_THAT(ParseProcessStatTicks("1234 (my) (cmd) S 1 2 3 4 5 6 7 8 9 10 "
                                    "250 50 0 0 20 0 4 0 99"),
              Optional(300));
  EXPECT_EQ(ParseProcessStatTicks("1234 my cmd S 1 2 3"), std::nullopt);
  EXPECT_EQ(ParseProcessStatTicks("1234 (cmd) S 1 2 3 4 5 6 7 8 9 10 250"),
            std::nullopt);
  EXPECT_EQ(ParseProcessStatTicks("1 (cmd) S 1 2 3 4 5 6 7 8 9 10 x 50 0"),
            std::nullopt);
}

TEST(ProcParseTest, MachineBusyTicksLeaveOutIdleAndIowait) {
  // user nice system idle iowait irq softirq steal guest guest_nice
  EXPECT_THAT(ParseMachineBusyTicks("cpu  100 20 30 1000 40 5 6 7 8 9"),
              Optional(100 + 20 + 30 + 5 + 6 + 7));
  EXPECT_EQ(ParseMachineBusyTicks("cpu0 100 20 30 1000 40 5 6 7"),
            std::nullopt);
  EXPECT_EQ(ParseMachineBusyTicks("cpu  100 x 30"), std::nullopt);
}

TEST(ProcParseTest, ReadsThisMachine) {
  std::ifstream stat("/proc/self/stat"), machine("/proc/stat");
  std::string stat_line, machine_line;
  ASSERT_TRUE(std::getline(stat, stat_line));
  ASSERT_TRUE(std::getline(machine, machine_line));
  EXPECT_TRUE(ParseProcessStatTicks(stat_line).has_value()) << stat_line;
  EXPECT_TRUE(ParseMachineBusyTicks(machine_line).has_value()) << machine_line;
}

// ---------------------------------------------------------------------------
// Messages.

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

TEST(LoadBenchMessagesTest, ReadsTextFieldsAndSkipsBlankLines) {
  const std::string path =
      WriteFile("messages.jsonl",
                "{\"text\":\"hello\",\"level\":\"none\"}\n\n  \n"
                "{\"text\":\"bye\"}\n");
  absl::StatusOr<std::vector<std::string>> messages = LoadBenchMessages(path);
  ASSERT_TRUE(messages.ok()) << messages.status();
  EXPECT_THAT(*messages, ElementsAre("hello", "bye"));
}

TEST(LoadBenchMessagesTest, NamesTheBadLineAndReportsMissingFiles) {
  const std::string path =
      WriteFile("bad.jsonl", "{\"text\":\"hello\"}\n\n{\"text\":\"\"}\n");
  absl::Status status = LoadBenchMessages(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bad.jsonl line 3 is not"));
  status = LoadBenchMessages(WriteFile("empty.jsonl", "\n")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("has no messages"));
  BenchOptions options;
  options.messages_file = ::testing::TempDir() + "/no-such-file.jsonl";
  EXPECT_EQ(MakeBenchSequence(options).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(BenchSequenceTest, SameSeedSameOrderAndTheBuiltinMixByDefault) {
  BenchOptions options;
  options.verbatim = true;
  absl::StatusOr<BenchSequence> a = MakeBenchSequence(options);
  absl::StatusOr<BenchSequence> b = MakeBenchSequence(options);
  options.seed = 2;
  absl::StatusOr<BenchSequence> c = MakeBenchSequence(options);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->size(), BuiltinBenchMessages().size());
  int same_as_c = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(a->At(i), b->At(i));
    same_as_c += a->At(i) == c->At(i) ? 1 : 0;
  }
  EXPECT_LT(same_as_c, 100);
  EXPECT_EQ(a->At(3), a->At(3 + 65536));  // the order repeats
}

TEST(BenchSequenceTest, HotMessagesRepeatAndTheOthersGetAHandle) {
  const std::vector<std::string> messages = {"a", "b", "c"};
  const BenchSequence hot(messages, 1.0, 1);
  for (int64_t i = 0; i < 50; ++i) {
    EXPECT_THAT(hot.At(i), MatchesRegex("[abc]"));
  }
  const BenchSequence cold(messages, 0.0, 1);
  std::set<std::string> seen;
  for (int64_t i = 0; i < 50; ++i) {
    const std::string text = cold.At(i);
    EXPECT_THAT(text, MatchesRegex("@([bdfghklmnprstvz][aeiou]){4} [abc]"));
    seen.insert(text);
  }
  EXPECT_EQ(seen.size(), 50u);  // every element distinct
}

// ---------------------------------------------------------------------------
// Output.

TEST(FormatBenchTest, TableListsErrorsAndTheTargetRate) {
  BenchResult result;
  result.label = "rpc unary open-loop 100 msg/s (poisson)";
  result.sent = 10;
  result.ok = 7;
  result.errors = {{"DEADLINE_EXCEEDED", 2}, {"UNAVAILABLE", 1}};
  result.window_s = 0.5;
  result.throughput = 14;
  result.target_rate = 100;
  result.achieved_rate = 20;
  result.from_intended = true;
  EXPECT_THAT(FormatBenchTable(result),
              HasSubstr("  messages    10 sent, 7 ok, 3 errors, 0 unanswered\n"
                        "  errors      DEADLINE_EXCEEDED 2, UNAVAILABLE 1\n"
                        "  throughput  14.0 msg/s over 0.50 s (target "
                        "100.0/s, achieved 20.0/s)\n"));
  EXPECT_THAT(
      FormatBenchJson(result),
      HasSubstr("\"errors\":{\"DEADLINE_EXCEEDED\":2,\"UNAVAILABLE\":1},"
                "\"unanswered\":0,\"window_s\":0.500,\"throughput\":"
                "14.000,\"target_rate\":100.000,"));
}

TEST(FormatBenchTest, ReportsTheMedianAfterAPause) {
  BenchResult result;
  result.label = "rpc unary closed-loop concurrency 1";
  result.first_us = 2100;
  result.after_pause_us = 1800;
  result.pause_probes = 5;
  result.pause_ms = 100;
  EXPECT_THAT(
      FormatBenchJson(result),
      HasSubstr("\"first_us\":2100,\"connect_us\":null,\"after_pause_us\":1800,"
                "\"pause_probes\":5,\"pause_ms\":100,"));
  EXPECT_THAT(
      FormatBenchTable(result),
      HasSubstr(
          "after pause 1800 µs (median of 5 calls, each after 100 ms idle)\n"));
}

TEST(FormatBenchTest, NoProbesMeansNullAndNoLine) {
  BenchResult result;
  result.label = "rpc unary closed-loop concurrency 1";
  EXPECT_THAT(
      FormatBenchJson(result),
      HasSubstr("\"after_pause_us\":null,\"pause_probes\":0,\"pause_ms\":0,"));
  EXPECT_THAT(FormatBenchTable(result),
              ::testing::Not(HasSubstr("after pause")));
}

}  // namespace
}  // namespace lantern::client
