// A user's own model served next to the defaults: the BERT-shaped model
// scripts/make_bert_model.py generates at build time (random weights,
// WordPiece vocab.txt, [CLS]/[SEP]/[PAD]) is added to a copy of the default
// model directory, and the real server is called through the real client.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "lantern/config/v1/model_spec.pb.h"
#include "server/server.h"
#include "tests/server/local_client.h"

namespace lantern::server {
namespace {

namespace fs = std::filesystem;
using ::lantern::client::Client;
using ::lantern::client::ClientOptions;

constexpr char kBertFolder[] = "bert_tiny";
const std::set<std::string> kBertLabels = {"none", "low", "medium", "high",
                                           "critical"};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

template <typename Message>
Message ParseJsonFile(const fs::path& path) {
  Message message;
  const auto status =
      google::protobuf::util::JsonStringToMessage(ReadFile(path), &message);
  EXPECT_TRUE(status.ok()) << path << ": " << status.message();
  return message;
}

class UserModelTest : public ::testing::Test {
 protected:
  // The defaults' model names that vote (modifiers only scale the score),
  // then a model directory = defaults + the BERT folder.
  static void SetUpTestSuite() {
    const fs::path defaults = LANTERN_TEST_MODEL_DIR;
    const fs::path dir = ModelDir();
    fs::remove_all(dir);
    fs::copy(defaults, dir, fs::copy_options::recursive);
    fs::copy(LANTERN_TEST_BERT_DIR, dir / kBertFolder,
             fs::copy_options::recursive);

    auto ensemble =
        ParseJsonFile<config::v1::EnsembleConfig>(dir / "ensemble.json");
    std::set<std::string> modifiers;
    for (const auto& m : ensemble.modifiers()) modifiers.insert(m.model());
    default_models_ = new std::set<std::string>;
    voting_defaults_ = new std::set<std::string>;
    for (const std::string& folder : ensemble.models()) {
      const std::string name =
          ParseJsonFile<config::v1::ModelSpec>(dir / folder / "model.json")
              .name();
      default_models_->insert(name);
      if (modifiers.count(name) == 0) voting_defaults_->insert(name);
    }
    ensemble.add_models(kBertFolder);
    std::string json;
    ASSERT_TRUE(
        google::protobuf::util::MessageToJsonString(ensemble, &json).ok());
    std::ofstream(dir / "ensemble.json") << json;

    ServerOptions options;
    options.shutdown_grace = absl::ZeroDuration();
    options.listen = "127.0.0.1:0";
    options.engine.model_dir = dir.string();
    auto server = Server::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    const absl::Status warm = server_->WaitForWarmup();
    ASSERT_TRUE(warm.ok()) << warm;
    client_ = new Client(LocalClient(server_->port()));
  }
  static void TearDownTestSuite() {
    delete client_;
    delete server_;
    delete default_models_;
    delete voting_defaults_;
    std::error_code ignored;
    fs::remove_all(ModelDir(), ignored);
  }

  static fs::path ModelDir() {
    return fs::path(::testing::TempDir()) / "lantern_user_model_dir";
  }

  static v1::ChatMessage Message(const std::string& id,
                                 const std::string& text) {
    v1::ChatMessage message;
    message.set_id(id);
    message.set_text(text);
    return message;
  }

  static Server* server_;
  static Client* client_;
  static std::set<std::string>* default_models_;
  static std::set<std::string>* voting_defaults_;
};

Server* UserModelTest::server_ = nullptr;
Client* UserModelTest::client_ = nullptr;
std::set<std::string>* UserModelTest::default_models_ = nullptr;
std::set<std::string>* UserModelTest::voting_defaults_ = nullptr;

TEST_F(UserModelTest, BertModelSignalsNextToTheDefaults) {
  for (const std::string text :
       {"I have the pills and I'm doing it tonight",
        "what time is the raid tonight?", "Ça va? 我很好 😭 unbelievable!!!"}) {
    auto analysis = client_->Analyze(Message("u1", text));
    ASSERT_TRUE(analysis.ok()) << analysis.status();
    EXPECT_FALSE(analysis->degraded());
    std::set<std::string> models;
    for (const v1::ModelSignal& signal : analysis->signals()) {
      models.insert(signal.model());
      if (signal.model() != kBertFolder) continue;
      EXPECT_EQ(signal.role(), "bert-random");
      EXPECT_EQ(kBertLabels.count(signal.label()), 1u) << signal.label();
      EXPECT_GT(signal.label_probability(), 0.0f);
      EXPECT_LE(signal.label_probability(), 1.0f);
      EXPECT_GE(signal.score(), 0.0f);
      EXPECT_LE(signal.score(), 1.0f);
      EXPECT_FLOAT_EQ(signal.weight(), 0.2f);
      EXPECT_EQ(signal.version().size(), 10u);
    }
    EXPECT_EQ(models.count(kBertFolder), 1u) << "no signal from the BERT model";
    for (const std::string& name : *voting_defaults_) {
      EXPECT_EQ(models.count(name), 1u)
          << "no signal from default model " << name;
    }
  }
}

TEST_F(UserModelTest, GetStatusShowsEveryModelWarm) {
  ASSERT_TRUE(client_->Analyze(Message("u2", "good morning everyone")).ok());
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(status->ready());
  std::set<std::string> names;
  for (const v1::ModelStatus& model : status->models()) {
    names.insert(model.name());
    EXPECT_TRUE(model.loaded()) << model.name();
    EXPECT_TRUE(model.warmed()) << model.name();
    EXPECT_GT(model.warmup_time_us(), 0) << model.name();
    EXPECT_GE(model.inferences(), 1u) << model.name();
    EXPECT_EQ(model.failures(), 0u) << model.name();
    EXPECT_EQ(model.error(), "") << model.name();
  }
  std::set<std::string> expected = *default_models_;
  expected.insert(kBertFolder);
  EXPECT_EQ(names, expected);
}

TEST_F(UserModelTest, LongMessagesAreTruncatedToTheBertMaxTokens) {
  // Far more pieces than maxTokens (64): truncated, not an error.
  std::string text;
  for (int i = 0; i < 300; ++i) text += "unbelievable ";
  auto analysis = client_->Analyze(Message("u3", text));
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  EXPECT_FALSE(analysis->degraded());
}

}  // namespace
}  // namespace lantern::server
