#include "client/bench.h"

#include <string>
#include <vector>

#include "boost/program_options.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::client {
namespace {

namespace po = boost::program_options;
using ::testing::HasSubstr;

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
