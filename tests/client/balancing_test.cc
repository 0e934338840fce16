// Several targets in one client: the target list, the balancing policy, and
// round robin with client-side health checking against two real servers
// (fake models), one of which drains.
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/cli.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/server/local_client.h"
#include "tests/testing/fakes.h"

namespace lantern::client {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::lantern::server::LocalClient;
using ::lantern::server::Server;
using ::lantern::server::ServerOptions;
using ::lantern::testing::FakeDeps;
using ::lantern::testing::FakeModelState;
using ::lantern::testing::WriteModelDir;
using ::testing::HasSubstr;

using Balancing = ClientOptions::Balancing;

TEST(ChannelTargetTest, ListOfIpv4AddressesBecomesGrpcStaticList) {
  EXPECT_EQ(ChannelTarget("127.0.0.1:50051,10.0.0.2:50052").value(),
            "ipv4:127.0.0.1:50051,10.0.0.2:50052");
  EXPECT_EQ(ChannelTarget(" 127.0.0.1:1 , 127.0.0.1:2 ").value(),
            "ipv4:127.0.0.1:1,127.0.0.1:2");
}

TEST(ChannelTargetTest, ListOfBracketedIpv6AddressesBecomesIpv6List) {
  EXPECT_EQ(ChannelTarget("[::1]:1,[fe80::2]:2").value(),
            "ipv6:[::1]:1,[fe80::2]:2");
}

TEST(ChannelTargetTest, SingleTargetsAndGrpcListsPassUnchanged) {
  for (const char* target :
       {"127.0.0.1:50051", "localhost:50051", "dns:///lantern:50051",
        "ipv4:127.0.0.1:1,127.0.0.1:2", "[::1]:50051"}) {
    EXPECT_EQ(ChannelTarget(target).value(), target);
  }
}

TEST(ChannelTargetTest, BadListsAreInvalidArgumentNamingTheEntry) {
  const auto code_and_message = [](const std::string& target) {
    absl::StatusOr<std::string> result = ChannelTarget(target);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << target;
    return std::string(result.status().message());
  };
  EXPECT_THAT(code_and_message("lantern-0:1,lantern-1:1"),
              HasSubstr("'lantern-0:1'"));
  EXPECT_THAT(code_and_message("lantern-0:1,lantern-1:1"),
              HasSubstr("dns:///name:port"));
  EXPECT_THAT(code_and_message("127.0.0.1:1,[::1]:2"), HasSubstr("mixes"));
  EXPECT_THAT(code_and_message("127.0.0.1:1,"), HasSubstr("empty"));
  EXPECT_THAT(code_and_message("127.0.0.1:0,127.0.0.1:2"),
              HasSubstr("'127.0.0.1:0'"));
  EXPECT_THAT(code_and_message("127.0.0.1,127.0.0.1:2"), HasSubstr("no :port"));
  EXPECT_THAT(code_and_message("[::1:1,[::1]:2"), HasSubstr("unclosed"));
}

TEST(BalancingTest, AutoIsRoundRobinForAListOnly) {
  ClientOptions options;
  options.target = "127.0.0.1:1";
  options.max_attempts = 1;
  EXPECT_EQ(EffectiveBalancing(options), Balancing::kPickFirst);
  EXPECT_EQ(ServiceConfigJson(options), "");
  options.target = "127.0.0.1:1,127.0.0.1:2";
  EXPECT_EQ(EffectiveBalancing(options), Balancing::kRoundRobin);
  options.balancing = Balancing::kPickFirst;
  EXPECT_EQ(EffectiveBalancing(options), Balancing::kPickFirst);
  options.target = "dns:///lantern-headless:50051";
  options.balancing = Balancing::kRoundRobin;
  EXPECT_EQ(EffectiveBalancing(options), Balancing::kRoundRobin);
}

TEST(BalancingTest, RoundRobinServiceConfigWatchesTheAnalyzerService) {
  ClientOptions options;
  options.balancing = Balancing::kRoundRobin;
  options.max_attempts = 1;
  EXPECT_EQ(ServiceConfigJson(options),
            R"({"loadBalancingConfig":[{"round_robin":{}}],)"
            R"("healthCheckConfig":{"serviceName":"lantern.v1.Analyzer"}})");
}

TEST(BalancingTest, RetryPolicyCoversTheReadOnlyUnaryCallsOnly) {
  ClientOptions options;
  options.target = "127.0.0.1:1";
  options.max_attempts = 3;
  EXPECT_EQ(ServiceConfigJson(options),
            R"({"methodConfig":[{"name":[)"
            R"({"service":"lantern.v1.Analyzer","method":"Analyze"},)"
            R"({"service":"lantern.v1.Analyzer","method":"GetStatus"}],)"
            R"("retryPolicy":{"maxAttempts":3,"initialBackoff":"0.1s",)"
            R"("maxBackoff":"1s","backoffMultiplier":2,)"
            R"("retryableStatusCodes":["UNAVAILABLE"]}}],)"
            R"("retryThrottling":{"maxTokens":10,"tokenRatio":1.0}})");
  // With round_robin, both.
  options.balancing = Balancing::kRoundRobin;
  const std::string both = ServiceConfigJson(options);
  EXPECT_THAT(both, HasSubstr(R"("loadBalancingConfig")"));
  EXPECT_THAT(both, HasSubstr(R"("maxAttempts":3)"));
}

absl::StatusOr<CliOptions> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "lantern");
  return ParseCommandLine(static_cast<int>(args.size()), args.data(),
                          "127.0.0.1:50051");
}

TEST(CliBalancingTest, TargetListAndBalanceReachTheClientOptions) {
  absl::StatusOr<CliOptions> list =
      Parse({"--target", "127.0.0.1:1,127.0.0.1:2", "health"});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->client.target, "127.0.0.1:1,127.0.0.1:2");
  EXPECT_EQ(EffectiveBalancing(list->client), Balancing::kRoundRobin);
  absl::StatusOr<CliOptions> dns =
      Parse({"status", "--target", "dns:///lantern:50051", "--balance",
             "round_robin"});
  ASSERT_TRUE(dns.ok()) << dns.status();
  EXPECT_EQ(dns->client.balancing, Balancing::kRoundRobin);
  absl::StatusOr<CliOptions> first =
      Parse({"--target", "127.0.0.1:1,127.0.0.1:2", "--balance=pick_first",
             "status"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(EffectiveBalancing(first->client), Balancing::kPickFirst);
}

TEST(CliBalancingTest, BadListOrPolicyIsAUsageError) {
  absl::StatusOr<CliOptions> names =
      Parse({"--target", "lantern-0:1,lantern-1:1", "health"});
  EXPECT_EQ(names.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(names.status().message(), HasSubstr("--target: "));
  absl::StatusOr<CliOptions> policy = Parse({"--balance", "random", "health"});
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), HasSubstr("--balance"));
}

v1::ChatMessage Message(int i) {
  v1::ChatMessage message;
  message.set_id(absl::StrCat("m", i));
  message.set_text(absl::StrCat("gg that boss took us ", i, " tries"));
  return message;
}

// Polls `done` every millisecond for up to 30 s; false if it never held.
bool Eventually(const std::function<bool()>& done) {
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (absl::Now() < give_up) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return false;
}

// Server::Shutdown() on a thread of its own; ending the grace period and
// joining on destruction, so a failed assertion cannot leave it running.
class Drain {
 public:
  explicit Drain(Server& server)
      : server_(server), thread_([this] { server_.Shutdown(); }) {}
  ~Drain() {
    // The first call starts the shutdown if Shutdown() has not yet, the
    // second ends the grace period either way.
    server_.RequestShutdown();
    server_.RequestShutdown();
    thread_.join();
  }

 private:
  Server& server_;
  std::thread thread_;
};

// Two servers on the same fake model, each with a long grace period so one
// can stay NOT_SERVING with its port open for the whole test.
class TwoServersTest : public ::testing::Test {
 protected:
  TwoServersTest() : model_(std::make_shared<FakeModelState>()) {
    model_->logits = {2.0f, 0.0f};
    dir_ = WriteModelDir({{"only", {{"calm", 0.0f}, {"danger", 1.0f}}}});
  }

  // Ends the grace periods, so the servers stop at once.
  ~TwoServersTest() override {
    for (auto& server : servers_) {
      server->RequestShutdown();
      server->RequestShutdown();
    }
  }

  Server& Start() {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.engine.model_dir = dir_;
    options.shutdown_grace = absl::Milliseconds(60000);
    auto server = Server::Create(options, FakeDeps(dir_, {{"only", model_}}));
    EXPECT_TRUE(server.ok()) << server.status();
    EXPECT_TRUE((*server)->WaitForWarmup().ok());
    servers_.push_back(*std::move(server));
    return *servers_.back();
  }

  // Messages a server analysed plus the calls it refused as UNAVAILABLE,
  // asked directly (GetStatus answers while draining too).
  static uint64_t CallsSeen(Client& direct) {
    absl::StatusOr<v1::GetStatusResponse> status = direct.GetStatus();
    EXPECT_TRUE(status.ok()) << status.status();
    if (!status.ok()) return 0;
    const auto unavailable = status->errors().find("UNAVAILABLE");
    return status->requests_served() +
           (unavailable == status->errors().end() ? 0 : unavailable->second);
  }

  std::shared_ptr<FakeModelState> model_;
  std::string dir_;
  std::vector<std::unique_ptr<Server>> servers_;
};

TEST_F(TwoServersTest, RoundRobinReachesBothAndSkipsOneThatReportsNotServing) {
  Server& a = Start();
  Server& b = Start();
  Client direct_a(LocalClient(a.port()));
  Client direct_b(LocalClient(b.port()));
  ClientOptions options = LocalClient(a.port());
  options.target = absl::StrCat("127.0.0.1:", a.port(), ",127.0.0.1:",
                                b.port());  // kAuto: round robin
  // As shipped: the service config holds round robin, health checking and
  // the retry policy together.
  options.max_attempts = ClientOptions().max_attempts;
  Client balanced(options);
  ASSERT_TRUE(balanced.WaitUntilServing(absl::Seconds(30)).ok());

  // Each address joins the rotation once its connection is up and its health
  // watch says SERVING; until both have, one may get every call.
  int i = 0;
  ASSERT_TRUE(Eventually([&] {
    EXPECT_TRUE(balanced.Analyze(Message(i++)).ok());
    return CallsSeen(direct_a) > 0 && CallsSeen(direct_b) > 0;
  }));
  // Both in the rotation: calls alternate.
  const uint64_t a_before = CallsSeen(direct_a);
  const uint64_t b_before = CallsSeen(direct_b);
  for (int k = 0; k < 20; ++k) {
    absl::StatusOr<v1::Analysis> analysis = balanced.Analyze(Message(i++));
    ASSERT_TRUE(analysis.ok()) << analysis.status();
  }
  EXPECT_EQ(CallsSeen(direct_a) - a_before, 10u);
  EXPECT_EQ(CallsSeen(direct_b) - b_before, 10u);

  // A starts draining: NOT_SERVING at once, port open for the grace period.
  auto drain = std::make_unique<Drain>(a);
  ASSERT_TRUE(Eventually([&] {
    return direct_a.CheckHealth().value_or(HealthCheckResponse::UNKNOWN) ==
           HealthCheckResponse::NOT_SERVING;
  }));
  // The balanced client learns it over its health watch. GetStatus, which a
  // draining server still answers, says which server took each call: three
  // in a row from B means A has left the rotation (with A in it, calls
  // alternate). No Analyze call is spent finding out.
  int from_b_in_a_row = 0;
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<v1::GetStatusResponse> status = balanced.GetStatus();
    EXPECT_TRUE(status.ok()) << status.status();
    from_b_in_a_row =
        status.ok() && !status->draining() ? from_b_in_a_row + 1 : 0;
    return from_b_in_a_row >= 3;
  }));
  const uint64_t a_draining = CallsSeen(direct_a);
  const uint64_t b_alone = CallsSeen(direct_b);
  for (int k = 0; k < 50; ++k) {
    absl::StatusOr<v1::Analysis> analysis = balanced.Analyze(Message(i++));
    ASSERT_TRUE(analysis.ok()) << analysis.status();
  }
  EXPECT_EQ(CallsSeen(direct_a), a_draining);
  EXPECT_EQ(CallsSeen(direct_b) - b_alone, 50u);

  drain.reset();  // A's port closes.
  // B alone keeps serving through the same client.
  EXPECT_TRUE(balanced.Analyze(Message(i++)).ok());
}

}  // namespace
}  // namespace lantern::client
