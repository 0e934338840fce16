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
  EXPECT_EQ(parsed->options.engine.model_dir, DefaultModelDir());
  EXPECT_EQ(parsed->options.engine.worker_threads, 2);
  EXPECT_EQ(parsed->options.shutdown_grace, absl::Seconds(2));
  EXPECT_EQ(parsed->options.drain_timeout, absl::Seconds(10));
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
  EXPECT_EQ(o.engine.model_dir, "/m");
  EXPECT_EQ(o.engine.worker_threads, 4);
  EXPECT_EQ(o.engine.torch_threads, 2);
  EXPECT_EQ(o.engine.handles, 3);
  EXPECT_EQ(o.engine.max_message_chars, 100);
  EXPECT_EQ(o.engine.max_queue, 50);
  EXPECT_EQ(o.streams.window, 8);
  EXPECT_EQ(o.drain_timeout, absl::Milliseconds(500));
  EXPECT_EQ(o.shutdown_grace, absl::ZeroDuration());
  EXPECT_EQ(o.streams.max_streams, 10);
  EXPECT_EQ(o.transport.max_calls_per_connection, 20);
  EXPECT_EQ(o.transport.http2_window_bytes, 4096);
  EXPECT_EQ(o.transport.memory_quota_mb, 64);
  EXPECT_EQ(o.log_level, "debug");
  EXPECT_EQ(o.engine.cache_entries, 0);
  EXPECT_EQ(o.engine.batching.max_batch, 16);
  EXPECT_EQ(o.engine.batching.max_delay, absl::Microseconds(250));
}

TEST(OptionsTest, ComponentOptionsAreSetThroughTheirFlags) {
  auto parsed = Parse({"--context-messages",
                       "4",
                       "--context-window-minutes",
                       "90",
                       "--context-people",
                       "7",
                       "--context-total-people",
                       "70",
                       "--shared-context",
                       "true",
                       "--stream-channel-in-flight",
                       "3",
                       "--tls-cert",
                       "c.pem",
                       "--tls-key",
                       "k.pem",
                       "--tls-client-ca",
                       "ca.pem",
                       "--auth-tokens",
                       "t.txt",
                       "--metrics-listen",
                       "127.0.0.1:0"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ServerOptions& o = parsed->options;
  EXPECT_EQ(o.engine.context.max_messages, 4);
  EXPECT_EQ(o.engine.context.window, absl::Minutes(90));
  EXPECT_EQ(o.engine.context.max_people, 7);
  EXPECT_EQ(o.streams.context_total_people, 70);
  EXPECT_TRUE(o.streams.shared_context);
  EXPECT_EQ(o.streams.channel_in_flight, 3);
  EXPECT_EQ(o.tls.cert, "c.pem");
  EXPECT_EQ(o.tls.key, "k.pem");
  EXPECT_EQ(o.tls.client_ca, "ca.pem");
  EXPECT_EQ(o.auth_tokens, "t.txt");
  EXPECT_EQ(o.metrics.listen, "127.0.0.1:0");
}

// The engine's defaults are the server's: the struct is embedded, and the
// help shows its values, durations in the flags' units.
TEST(OptionsTest, DefaultsAreTheEnginesOwn) {
  const core::EngineOptions engine_defaults;
  const ServerOptions defaults;
  EXPECT_EQ(defaults.engine.batching.max_batch,
            engine_defaults.batching.max_batch);
  EXPECT_EQ(defaults.engine.context.window, engine_defaults.context.window);
  EXPECT_EQ(defaults.engine.model_dir, DefaultModelDir());
  auto parsed = Parse({"--help"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(parsed->message, HasSubstr("--batch-delay-us arg (=0)"));
  EXPECT_THAT(parsed->message,
              HasSubstr("--context-window-minutes arg (=1440)"));
  EXPECT_THAT(parsed->message, HasSubstr("--drain-timeout-ms arg (=10000)"));
  EXPECT_THAT(parsed->message,
              HasSubstr("--stream-channel-in-flight arg (=16)"));
}

TEST(OptionsTest, EnvironmentVariablesApplyBelowTheCommandLine) {
  ScopedEnv threads("LANTERN_THREADS", "6");
  ScopedEnv dir("LANTERN_MODEL_DIR", "/from/env");
  ScopedEnv unrelated("LANTERN_NOT_AN_OPTION", "x");
  auto parsed = Parse({"--threads", "3"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->options.engine.worker_threads, 3);
  EXPECT_EQ(parsed->options.engine.model_dir, "/from/env");
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
  EXPECT_EQ(parsed->options.engine.worker_threads, 5);
  EXPECT_EQ(parsed->options.engine.max_queue, 88);
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
      {{"--threads", "0"}, "threads must be >= 1, got 0"},
      {{"--drain-timeout-ms", "-1"}, "--drain-timeout-ms must be >= 0"},
      {{"--shutdown-grace-ms", "-5"}, "--shutdown-grace-ms must be >= 0"},
      {{"--max-streams", "0"}, "--max-streams must be >= 1, got 0"},
      {{"--tls-cert", "server.pem"}, "--tls-cert and --tls-key go together"},
      {{"--tls-client-ca", "ca.pem"},
       "--tls-client-ca needs --tls-cert and --tls-key"},
      {{"--http2-window-bytes", "100"},
       "--http2-window-bytes must be within 1024.."},
      {{"--max-message-chars", "99999999"},
       "max message chars must be 1..16777216, got 99999999"},
      {{"--batch-delay-us", "-1"}, "batch delay must be >= 0, got -1us"},
      {{"--handles", "-2"}, "handles must be >= 0, got -2"},
      {{"--context-messages", "257"},
       "context messages must be 1..256, got 257"},
      {{"--context-window-minutes", "0"},
       "context window must be 1 minute to 7 days, got 0"},
      {{"--context-people", "0"}, "context people must be 1..1000000, got 0"},
      {{"--context-total-people", "2000000"},
       "--context-total-people must be <= 1000000, got 2000000"},
      {{"--stream-channel-in-flight", "0"},
       "--stream-channel-in-flight must be >= 1, got 0"},
      {{"--max-calls-per-connection", "0"},
       "--max-calls-per-connection and --memory-quota-mb must be >= 1, got 0"},
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
  o.engine.max_message_chars = 4096;
  EXPECT_EQ(MaxReceiveBytes(o), 4096 * 4 + 64 * 1024);
  o.engine.max_message_chars = std::numeric_limits<int>::max();
  EXPECT_EQ(MaxReceiveBytes(o), std::numeric_limits<int>::max());
}

}  // namespace
}  // namespace lantern::server
