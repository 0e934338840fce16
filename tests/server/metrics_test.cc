#include "server/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http_endpoint.h"
#include "server/options.h"

namespace lantern::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Index of the bucket that holds `value` (upper bounds are inclusive).
size_t BucketOf(const std::vector<double>& bounds, double value) {
  return static_cast<size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin());
}

TEST(MetricsBucketsTest, AreAscendingAndEndInSeconds) {
  for (const auto& bounds : {RequestDurationBuckets(), QueueWaitBuckets(),
                             ForwardBuckets(), BatchSizeBuckets()}) {
    ASSERT_FALSE(bounds.empty());
    EXPECT_TRUE(std::is_sorted(bounds.begin(), bounds.end()));
    EXPECT_EQ(std::adjacent_find(bounds.begin(), bounds.end()), bounds.end());
  }
  // Whole seconds at the top: a stuck call still lands below +Inf.
  EXPECT_GE(RequestDurationBuckets().back(), 10.0);
}

TEST(MetricsBucketsTest, MedianAndP99OfEveryBenchmarkFallInDifferentBuckets) {
  // docs/benchmarks.md, client latency in seconds: (p50, p99).
  const std::vector<std::pair<double, double>> measured = {
      {0.003968, 0.007759},  // RPC unary, concurrency 1
      {0.038237, 0.066115},  // RPC unary, concurrency 32
      {0.034979, 0.061356},  // one stream, 10,000 messages
      {0.012686, 0.022798},  // BERT-shaped, concurrency 1
      {0.147775, 0.226451},  // BERT-shaped, concurrency 32
  };
  const std::vector<double> bounds = RequestDurationBuckets();
  for (const auto& [p50, p99] : measured) {
    EXPECT_LT(BucketOf(bounds, p50), BucketOf(bounds, p99)) << p50;
    EXPECT_LT(BucketOf(bounds, p99), bounds.size()) << "p99 in +Inf: " << p99;
  }
}

TEST(MetricsBucketsTest, ForwardPassesOfEachModelAreResolved) {
  // Mean pass times from docs/benchmarks.md at concurrency 1 and 32: each
  // model's two lie in different buckets unless they are within 10%.
  const std::vector<std::pair<double, double>> passes = {
      {0.000546, 0.001182},  // severity
      {0.000632, 0.000997},  // context
      {0.002712, 0.011645},  // encoder
      {0.011210, 0.050248},  // BERT-shaped
  };
  const std::vector<double> bounds = ForwardBuckets();
  for (const auto& [low, high] : passes) {
    EXPECT_LT(BucketOf(bounds, low), BucketOf(bounds, high)) << low;
  }
  // Every batch size up to the default --max-batch has a bucket of its own.
  const std::vector<double> sizes = BatchSizeBuckets();
  for (int rows = 1; rows <= 8; ++rows) {
    EXPECT_EQ(sizes[BucketOf(sizes, rows)], rows);
  }
}

TEST(MetricsOptionsTest, ListenMustBeHostAndPort) {
  EXPECT_TRUE(MetricsOptions{}.Validate().ok());  // off
  EXPECT_TRUE(MetricsOptions{"127.0.0.1:9464"}.Validate().ok());
  EXPECT_TRUE(MetricsOptions{"[::1]:0"}.Validate().ok());
  for (const char* bad : {"9464", ":9464", "localhost:", "localhost:x",
                          "localhost:70000", "localhost:-1"}) {
    EXPECT_EQ(MetricsOptions{bad}.Validate().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

absl::StatusOr<ParsedOptions> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "lantern-server");
  return ParseServerOptions(static_cast<int>(args.size()), args.data());
}

TEST(MetricsOptionsTest, OffByDefaultAndSetByFlagOrEnvironment) {
  auto defaults = Parse({});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->options.metrics.listen, "");
  auto flag = Parse({"--metrics-listen", "127.0.0.1:9464"});
  ASSERT_TRUE(flag.ok()) << flag.status();
  EXPECT_EQ(flag->options.metrics.listen, "127.0.0.1:9464");
  setenv("LANTERN_METRICS_LISTEN", "127.0.0.1:9465", 1);
  auto env = Parse({});
  unsetenv("LANTERN_METRICS_LISTEN");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->options.metrics.listen, "127.0.0.1:9465");
  EXPECT_EQ(Parse({"--metrics-listen", "9464"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto help = Parse({"--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_THAT(help->message, HasSubstr("--metrics-listen"));
}

TEST(MetricsTest, CountsRequestsByRpcAndCodeAndAnalysesByLevel) {
  Metrics metrics("1.2.3");
  metrics.RecordRequest(Rpc::kAnalyze, absl::StatusCode::kOk,
                        absl::Milliseconds(4), core::Level::kHigh);
  metrics.RecordRequest(Rpc::kAnalyze, absl::StatusCode::kOk,
                        absl::Milliseconds(5), core::Level::kNone);
  metrics.RecordRequest(Rpc::kStreamAnalyze, absl::StatusCode::kInvalidArgument,
                        absl::Microseconds(50), std::nullopt);
  const std::string text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("lantern_build_info{version=\"1.2.3\"} 1"));
  EXPECT_THAT(
      text, HasSubstr("lantern_requests_total{code=\"OK\",rpc=\"Analyze\"} 2"));
  EXPECT_THAT(text,
              HasSubstr("lantern_requests_total{code=\"INVALID_ARGUMENT\","
                        "rpc=\"StreamAnalyze\"} 1"));
  // OK series exist before any call; other codes appear when first seen.
  EXPECT_THAT(text, HasSubstr("lantern_requests_total{code=\"OK\","
                              "rpc=\"GetStatus\"} 0"));
  EXPECT_THAT(text, Not(HasSubstr("code=\"INTERNAL\"")));
  EXPECT_THAT(text, HasSubstr("lantern_analyses_total{level=\"high\"} 1"));
  EXPECT_THAT(text, HasSubstr("lantern_analyses_total{level=\"none\"} 1"));
  EXPECT_THAT(text, HasSubstr("lantern_analyses_total{level=\"critical\"} 0"));
  EXPECT_THAT(text, HasSubstr("lantern_request_duration_seconds_count{rpc="
                              "\"Analyze\"} 2"));
  EXPECT_THAT(text, HasSubstr("lantern_request_duration_seconds_bucket{rpc="
                              "\"Analyze\",le=\"0.005\"} 2"));
}

TEST(MetricsTest, EngineObserverFeedsPerModelHistogramsAndCache) {
  Metrics metrics("1");
  auto observer = metrics.engine_observer();
  auto severity = observer->ForModel("severity");
  EXPECT_EQ(observer->ForModel("severity"), severity);  // same series
  const std::vector<absl::Duration> waits = {
      absl::ZeroDuration(), absl::Microseconds(300), absl::Milliseconds(2)};
  severity->OnBatch(waits, absl::Microseconds(900));
  observer->OnCacheLookup(true);
  observer->OnCacheLookup(false);
  observer->OnCacheLookup(false);
  observer->OnCacheEviction();
  const std::string text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("lantern_model_queue_wait_seconds_count{model="
                              "\"severity\"} 3"));
  EXPECT_THAT(text, HasSubstr("lantern_model_forward_seconds_bucket{model="
                              "\"severity\",le=\"0.001\"} 1"));
  EXPECT_THAT(text, HasSubstr("lantern_model_batch_size_bucket{model="
                              "\"severity\",le=\"3\"} 1"));
  EXPECT_THAT(text, HasSubstr("lantern_model_batch_size_bucket{model="
                              "\"severity\",le=\"2\"} 0"));
  EXPECT_THAT(
      text, HasSubstr("lantern_result_cache_lookups_total{result=\"hit\"} 1"));
  EXPECT_THAT(
      text, HasSubstr("lantern_result_cache_lookups_total{result=\"miss\"} 2"));
  EXPECT_THAT(text, HasSubstr("lantern_result_cache_evictions_total 1"));
}

TEST(MetricsTest, OnlyBoundedLabelsAndPrometheusNames) {
  Metrics metrics("1");
  metrics.engine_observer()->ForModel("m")->OnBatch({absl::ZeroDuration()},
                                                    absl::Milliseconds(1));
  for (int code = 0; code <= 16; ++code) {
    metrics.RecordRequest(Rpc::kAnalyze, static_cast<absl::StatusCode>(code),
                          absl::Milliseconds(1), core::Level::kLow);
  }
  const std::string text = metrics.Render();
  const std::set<std::string> allowed = {"rpc",     "code",   "level", "model",
                                         "version", "result", "le"};
  // (No std::regex: GCC 12 warns inside <regex> under the sanitizer build.)
  auto is_name_char = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  const std::vector<std::string> lines = absl::StrSplit(text, '\n');
  for (const std::string& line : lines) {
    if (line.empty() || line[0] == '#') continue;
    size_t end = 0;
    while (end < line.size() && is_name_char(line[end])) ++end;
    ASSERT_TRUE(end > 0 && end < line.size() &&
                (line[end] == '{' || line[end] == ' '))
        << line;
    const std::string metric = line.substr(0, end);
    EXPECT_TRUE(metric.rfind("lantern_", 0) == 0 ||
                metric.rfind("process_", 0) == 0)
        << metric;
    // Counters end in _total; time is in seconds.
    EXPECT_THAT(metric, Not(HasSubstr("_ms"))) << metric;
    EXPECT_THAT(metric, Not(HasSubstr("_us"))) << metric;
    // Every label name: the name characters before each `="`.
    for (size_t at = line.find("=\""); at != std::string::npos;
         at = line.find("=\"", at + 2)) {
      size_t start = at;
      while (start > 0 && is_name_char(line[start - 1])) --start;
      const std::string label = line.substr(start, at - start);
      EXPECT_TRUE(allowed.count(label)) << "label " << label;
    }
  }
}

// A raw HTTP exchange with 127.0.0.1:port.
std::string HttpExchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address))) {
    close(fd);
    return "connect failed";
  }
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  close(fd);
  return response;
}

TEST(HttpEndpointTest, AnswersItsPathAndRefusesTheRest) {
  auto endpoint = HttpEndpoint::Start("127.0.0.1:0", "/metrics", "text/plain",
                                      [] { return std::string("up 1\n"); });
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const int port = (*endpoint)->port();
  ASSERT_GT(port, 0);
  const std::string ok =
      HttpExchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(ok, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(ok, HasSubstr("Content-Length: 5\r\n"));
  EXPECT_THAT(ok, HasSubstr("\r\n\r\nup 1\n"));
  EXPECT_THAT(HttpExchange(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
              StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(HttpExchange(port, "GET / HTTP/1.1\r\n\r\n"),
              StartsWith("HTTP/1.1 404"));
  EXPECT_THAT(HttpExchange(port, "POST /metrics HTTP/1.1\r\n\r\n"),
              StartsWith("HTTP/1.1 405"));
  EXPECT_THAT(HttpExchange(port, "nonsense\r\n\r\n"),
              StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(HttpExchange(port, std::string(8192, 'a')),
              StartsWith("HTTP/1.1 431"));
  // Still serving after all that.
  EXPECT_THAT(HttpExchange(port, "GET /metrics HTTP/1.1\r\n\r\n"),
              StartsWith("HTTP/1.1 200 OK"));
}

TEST(HttpEndpointTest, BusyPortIsUnavailable) {
  auto first = HttpEndpoint::Start("127.0.0.1:0", "/metrics", "text/plain",
                                   [] { return std::string(); });
  ASSERT_TRUE(first.ok());
  auto second = HttpEndpoint::Start(
      absl::StrCat("127.0.0.1:", (*first)->port()), "/metrics", "text/plain",
      [] { return std::string(); });
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace lantern::server
