#include "server/options.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server.h"

namespace lantern::server {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<ParsedOptions> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "lantern-server");
  return ParseServerOptions(static_cast<int>(args.size()), args.data());
}

// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    setenv(name, value, 1);
  }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(OptionsTest, DefaultsAreLocalAndShippedModels) {
  auto parsed = Parse({});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->exit_now);
  EXPECT_EQ(parsed->options.listen, "127.0.0.1:50051");
  EXPECT_EQ(parsed->options.model_dir, DefaultModelDir());
  EXPECT_EQ(parsed->options.threads, 2);
  EXPECT_EQ(parsed->options.shutdown_grace_ms, 2000);
  EXPECT_EQ(parsed->options.drain_timeout_ms, 10000);
  EXPECT_EQ(parsed->options.log_level, "info");
}

TEST(OptionsTest, CommandLineSetsEveryField) {
  auto parsed = Parse({"--listen",    "0.0.0.0:9000",
                       "--model-dir", "/m",
                       "--threads=4", "--torch-threads",
                       "2",           "--handles",
                       "3",           "--max-message-chars",
                       "100",         "--max-queue",
                       "50",          "--stream-window",
                       "8",           "--drain-timeout-ms",
                       "500",         "--shutdown-grace-ms",
                       "0",           "--max-streams",
                       "10",          "--max-calls-per-connection",
                       "20",          "--http2-window-bytes",
                       "4096",        "--memory-quota-mb",
                       "64",          "--log-level",
                       "debug",       "--cache-entries",
                       "0",           "--max-batch",
                       "16",          "--batch-delay-us",
                       "250"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ServerOptions& o = parsed->options;
  EXPECT_EQ(o.listen, "0.0.0.0:9000");
  EXPECT_EQ(o.model_dir, "/m");
  EXPECT_EQ(o.threads, 4);
  EXPECT_EQ(o.torch_threads, 2);
  EXPECT_EQ(o.handles, 3);
  EXPECT_EQ(o.max_message_chars, 100);
  EXPECT_EQ(o.max_queue, 50);
  EXPECT_EQ(o.stream_window, 8);
  EXPECT_EQ(o.drain_timeout_ms, 500);
  EXPECT_EQ(o.shutdown_grace_ms, 0);
  EXPECT_EQ(o.max_streams, 10);
  EXPECT_EQ(o.max_calls_per_connection, 20);
  EXPECT_EQ(o.http2_window_bytes, 4096);
  EXPECT_EQ(o.memory_quota_mb, 64);
  EXPECT_EQ(o.log_level, "debug");
  EXPECT_EQ(o.cache_entries, 0);
  EXPECT_EQ(o.max_batch, 16);
  EXPECT_EQ(o.batch_delay_us, 250);
}

TEST(OptionsTest, EnvironmentVariablesApplyBelowTheCommandLine) {
  ScopedEnv threads("LANTERN_THREADS", "6");
  ScopedEnv dir("LANTERN_MODEL_DIR", "/from/env");
  ScopedEnv unrelated("LANTERN_NOT_AN_OPTION", "x");
  auto parsed = Parse({"--threads", "3"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->options.threads, 3);
  EXPECT_EQ(parsed->options.model_dir, "/from/env");
}

TEST(OptionsTest, ConfigFileAppliesBelowEnvironment) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "lantern_options_test.conf")
          .string();
  std::ofstream(path)
      << "# comment\nthreads = 5\nmax-queue = 77\nlog-level = warning\n";
  ScopedEnv queue("LANTERN_MAX_QUEUE", "88");
  auto parsed = Parse({"--config", path.c_str()});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->options.threads, 5);
  EXPECT_EQ(parsed->options.max_queue, 88);
  EXPECT_EQ(parsed->options.log_level, "warning");
}

TEST(OptionsTest, BadInputIsInvalidArgumentWithReason) {
  struct Case {
    std::vector<const char*> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--no-such-flag"}, "unrecognised option"},
      {{"--threads", "many"}, "threads"},
      {{"--threads", "0"}, "--threads must be >= 1, got 0"},
      {{"--drain-timeout-ms", "-1"}, "--drain-timeout-ms must be >= 0"},
      {{"--shutdown-grace-ms", "-5"}, "--shutdown-grace-ms must be >= 0"},
      {{"--max-streams", "0"}, "--max-streams must be >= 1, got 0"},
      {{"--tls-cert", "server.pem"}, "--tls-cert and --tls-key go together"},
      {{"--tls-client-ca", "ca.pem"},
       "--tls-client-ca needs --tls-cert and --tls-key"},
      {{"--http2-window-bytes", "100"},
       "--http2-window-bytes must be within 1024.."},
      {{"--max-message-chars", "99999999"},
       "--max-message-chars must be <= 16777216"},
      {{"--log-level", "loud"}, "unknown log level 'loud'"},
      {{"--listen", "nowhere"}, "--listen must be host:port"},
      {{"--config", "/nonexistent/lantern.conf"}, "cannot read config file"},
  };
  for (const Case& c : cases) {
    auto parsed = Parse(c.args);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << c.expected;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.expected));
  }
}

TEST(OptionsTest, HelpListsEveryOptionAndTheEnvironmentRule) {
  auto parsed = Parse({"--help"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->exit_now);
  for (const char* text :
       {"--listen", "--model-dir", "--threads", "--torch-threads", "--handles",
        "--max-message-chars", "--max-queue", "--stream-window",
        "--drain-timeout-ms", "--log-level", "--cache-entries", "--max-batch",
        "--batch-delay-us", "--config", "LANTERN_MODEL_DIR"}) {
    EXPECT_THAT(parsed->message, HasSubstr(text));
  }
}

TEST(OptionsTest, VersionPrintsVersion) {
  auto parsed = Parse({"--version"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->exit_now);
  EXPECT_THAT(parsed->message, HasSubstr(ServerVersion()));
}

TEST(OptionsTest, ReceiveLimitFitsTheLongestTextAndNeverOverflows) {
  ServerOptions o;
  o.max_message_chars = 4096;
  EXPECT_EQ(MaxReceiveBytes(o), 4096 * 4 + 64 * 1024);
  o.max_message_chars = std::numeric_limits<int>::max();
  EXPECT_EQ(MaxReceiveBytes(o), std::numeric_limits<int>::max());
}

}  // namespace
}  // namespace lantern::server
