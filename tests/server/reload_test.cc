// Reloading the model directory while calls run (the SIGHUP path), with
// fake models: the ensemble file and a model's version change on disk.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/server/local_client.h"
#include "tests/testing/fakes.h"

namespace lantern::server {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::lantern::client::Client;
using ::lantern::testing::FakeDeps;
using ::lantern::testing::FakeModelState;
using ::lantern::testing::WriteModelDir;
using ::testing::HasSubstr;

class ReloadTest : public ::testing::Test {
 protected:
  ReloadTest() : model_(std::make_shared<FakeModelState>()) {
    model_->logits = {2.0f, 0.0f};  // p(calm) 0.88: score 0.12
    dir_ = WriteModelDir({{"only", {{"calm", 0.0f}, {"danger", 1.0f}}}});
  }

  std::unique_ptr<Server> Start() {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.engine.model_dir = dir_;
    options.shutdown_grace = absl::ZeroDuration();
    auto server = Server::Create(options, FakeDeps(dir_, {{"only", model_}}));
    EXPECT_TRUE(server.ok()) << server.status();
    EXPECT_TRUE((*server)->WaitForWarmup().ok());
    return *std::move(server);
  }

  // ensemble.json with `version`, and a low threshold that turns the fake
  // model's 0.12 into LOW.
  void WriteEnsemble(const std::string& version) {
    std::ofstream(std::filesystem::path(dir_) / "ensemble.json")
        << "{\"version\": \"" << version << "\", \"models\": [\"only\"], "
        << "\"thresholds\": {\"low\": 0.05, \"medium\": 0.4, \"high\": 0.6, "
        << "\"critical\": 0.8}}";
  }

  std::shared_ptr<FakeModelState> model_;
  std::string dir_;
};

TEST_F(ReloadTest, SwapUnderLoadLosesNoCallAndKeepsServing) {
  auto server = Start();
  model_->forward_delay_ms = 2;  // Calls stay in flight across the swap.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0}, not_serving{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      Client client(LocalClient(server->port()));
      for (int i = 0; !stop.load(); ++i) {
        auto analysis = client.Analyze(
            TextMessage("m", absl::StrCat("caller ", t, " says ", i)));
        (analysis.ok() ? ok : failed).fetch_add(1);
      }
    });
  }
  callers.emplace_back([&] {
    Client client(LocalClient(server->port()));
    while (!stop.load()) {
      auto health = client.CheckHealth("lantern.v1.Analyzer");
      if (!health.ok() || *health != HealthCheckResponse::SERVING) {
        not_serving.fetch_add(1);
      }
    }
  });
  while (ok.load() < 20) absl::SleepFor(absl::Milliseconds(5));
  WriteEnsemble("test-2");
  const absl::Status reloaded = server->ReloadModels();
  const int ok_at_swap = ok.load();
  while (ok.load() < ok_at_swap + 20) absl::SleepFor(absl::Milliseconds(5));
  stop.store(true);
  for (std::thread& t : callers) t.join();

  EXPECT_TRUE(reloaded.ok()) << reloaded;
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(not_serving.load(), 0);
  Client client(LocalClient(server->port()));
  auto after = client.Analyze(TextMessage("after", "hello again"));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->ensemble_version(), "test-2");
  EXPECT_EQ(after->level(), v1::CRISIS_LEVEL_LOW);
  // The counters are the server's, across both engines.
  EXPECT_EQ(client.GetStatus()->requests_served(),
            static_cast<uint64_t>(ok.load()) + 1);
}

TEST_F(ReloadTest, AStreamOpenAcrossTheSwapGetsTheNewVersionAfterIt) {
  auto server = Start();
  Client client(LocalClient(server->port()));
  auto stream = client.OpenStream();
  v1::StreamAnalyzeResponse response;
  ASSERT_TRUE(stream->Write(TextMessage("1", "before")));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.analysis().ensemble_version(), "test-1");
  WriteEnsemble("test-2");
  ASSERT_TRUE(server->ReloadModels().ok());
  ASSERT_TRUE(stream->Write(TextMessage("2", "after")));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.analysis().ensemble_version(), "test-2");
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ReloadTest, AChangedModelVersionIsLoadedAndWarmedBesideTheOld) {
  auto server = Start();
  const int backends = model_->instances.load();  // live handles
  const int passes = model_->forward_calls.load();
  std::string spec;
  {
    std::ifstream in(std::filesystem::path(dir_) / "only" / "model.json");
    spec.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t at = spec.find("\"version\": \"7\"");
  ASSERT_NE(at, std::string::npos);
  spec.replace(at, 14, "\"version\": \"8\"");
  std::ofstream(std::filesystem::path(dir_) / "only" / "model.json") << spec;
  ASSERT_TRUE(server->ReloadModels().ok());
  // New handles were warmed (forward passes before any call) and the old
  // ones released.
  EXPECT_GT(model_->forward_calls.load(), passes);
  EXPECT_EQ(model_->instances.load(), backends);
  Client client(LocalClient(server->port()));
  auto analysis = client.Analyze(TextMessage("v", "which version"));
  ASSERT_TRUE(analysis.ok());
  ASSERT_EQ(analysis->signals_size(), 1);
  EXPECT_EQ(analysis->signals(0).version(), "8");
  auto status = client.GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->models(0).version(), "8");
  EXPECT_TRUE(status->models(0).warmed());
}

TEST_F(ReloadTest, ABrokenConfigIsRejectedNamingTheFileAndTheOldKeepsServing) {
  auto server = Start();
  std::ofstream(std::filesystem::path(dir_) / "ensemble.json") << "{not json";
  const absl::Status reloaded = server->ReloadModels();
  EXPECT_EQ(reloaded.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reloaded.message(), HasSubstr("ensemble.json"));
  Client client(LocalClient(server->port()));
  auto analysis = client.Analyze(TextMessage("o", "still here"));
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  EXPECT_EQ(analysis->ensemble_version(), "test-1");
  EXPECT_EQ(client.CheckHealth().value(), HealthCheckResponse::SERVING);
}

TEST_F(ReloadTest, AModelThatFailsToLoadIsRejectedAndTheOldKeepsServing) {
  auto server = Start();
  model_->load_error = absl::InvalidArgumentError("model.pt is corrupt");
  WriteEnsemble("test-2");
  const absl::Status reloaded = server->ReloadModels();
  EXPECT_THAT(reloaded.message(), HasSubstr("model.pt is corrupt"));
  Client client(LocalClient(server->port()));
  auto analysis = client.Analyze(TextMessage("o", "still here"));
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  EXPECT_EQ(analysis->ensemble_version(), "test-1");
}

TEST_F(ReloadTest, NoReloadWhileDraining) {
  auto server = Start();
  server->Shutdown();
  EXPECT_EQ(server->ReloadModels().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace lantern::server
