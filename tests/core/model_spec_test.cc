#include "core/model_spec.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fakes.h"

namespace lantern::core {
namespace {

namespace fs = std::filesystem;
using ::lantern::testing::WriteModelDir;
using ::testing::HasSubstr;

std::string TwoModelDir() {
  return WriteModelDir({{"sev", {{"none", 0.0f}, {"high", 1.0f}}, 0.6f, 32, 2},
                        {"dis", {{"calm", 0.0f}, {"danger", 1.0f}}, 0.4f}});
}

TEST(ModelSpecTest, LoadsDirectoryInEnsembleOrderWithResolvedPaths) {
  const std::string dir = TwoModelDir();
  auto loaded = LoadModelDirectory(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->ensemble.version(), "test-1");
  EXPECT_FLOAT_EQ(loaded->ensemble.thresholds().high(), 0.6f);
  ASSERT_EQ(loaded->models.size(), 2u);
  const LoadedModelSpec& sev = loaded->models[0];
  EXPECT_EQ(sev.spec.name(), "sev");
  EXPECT_EQ(sev.spec.max_tokens(), 32);
  EXPECT_EQ(sev.spec.handles(), 2);
  EXPECT_FLOAT_EQ(sev.spec.weight(), 0.6f);
  EXPECT_EQ(sev.model_path, (fs::path(dir) / "sev" / "model.pt").string());
  EXPECT_EQ(sev.tokenizer_path, (fs::path(dir) / "tok.model").string());
  EXPECT_EQ(loaded->models[1].spec.labels(1).name(), "danger");
}

TEST(ModelSpecTest, MissingDirectoryIsNotFoundWithAHint) {
  auto loaded = LoadModelDirectory("/nonexistent/lantern");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(loaded.status().message(), HasSubstr("scripts/setup.sh"));
}

TEST(ModelSpecTest, MissingSpecIsNotFound) {
  const std::string dir = TwoModelDir();
  fs::remove(fs::path(dir) / "dis" / "model.json");
  EXPECT_EQ(LoadModelDirectory(dir).status().code(),
            absl::StatusCode::kNotFound);
}

void WriteSpec(const std::string& dir, const std::string& json) {
  std::ofstream(fs::path(dir) / "sev" / "model.json") << json;
}

constexpr char kValidTail[] =
    R"("tokenizer": {"type": "sentencepiece", "model": "t.model"},
       "maxTokens": 8, "weight": 1})";

TEST(ModelSpecTest, UnknownFieldIsInvalidArgument) {
  const std::string dir = TwoModelDir();
  WriteSpec(dir, std::string(R"({"name": "sev", "file": "m.pt", "wieght": 2,
      "labels": [{"name": "a"}, {"name": "b", "risk": 1}], )") +
                     kValidTail);
  auto loaded = LoadModelDirectory(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("sev/model.json"));
}

TEST(ModelSpecTest, RiskOutsideUnitIntervalIsInvalidArgument) {
  const std::string dir = TwoModelDir();
  WriteSpec(dir, std::string(R"({"name": "sev", "file": "m.pt",
      "labels": [{"name": "a"}, {"name": "b", "risk": 1.5}], )") +
                     kValidTail);
  auto loaded = LoadModelDirectory(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("risk of label 'b'"));
}

// tests/fuzz/model_spec_fuzzer's checks fail on these: protobuf's JSON accepts
// "NaN" and "Infinity", which passed the range checks; a NaN risk or an
// infinite weight made every verdict's score NaN, which reads as level
// "none". A huge maxTokens made each message reserve gigabytes.
TEST(ModelSpecTest, NonFiniteOrHugeNumbersAreInvalidArgument) {
  const struct {
    const char* labels;
    const char* tail;
    const char* error;
  } cases[] = {
      {R"([{"name": "a", "risk": "NaN"}, {"name": "b", "risk": 1}])",
       R"("maxTokens": 8, "weight": 1)", "risk of label 'a'"},
      {R"([{"name": "a"}, {"name": "b", "risk": 1}])",
       R"("maxTokens": 8, "weight": "NaN")", "weight must be > 0 and at most"},
      {R"([{"name": "a"}, {"name": "b", "risk": 1}])",
       R"("maxTokens": 8, "weight": "Infinity")",
       "weight must be > 0 and at most"},
      {R"([{"name": "a"}, {"name": "b", "risk": 1}])",
       R"("maxTokens": 8, "weight": 1e30)", "weight must be > 0 and at most"},
      {R"([{"name": "a"}, {"name": "b", "risk": 1}])",
       R"("maxTokens": 2147483647, "weight": 1)",
       "max_tokens must be within 1..65536"},
  };
  for (const auto& c : cases) {
    const std::string dir = TwoModelDir();
    WriteSpec(
        dir, std::string(R"({"name": "sev", "file": "m.pt", "labels": )") +
                 c.labels +
                 R"(, "tokenizer": {"type": "sentencepiece", "model": "t"}, )" +
                 c.tail + "}");
    auto loaded = LoadModelDirectory(dir);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument)
        << c.tail;
    EXPECT_THAT(loaded.status().message(), HasSubstr(c.error)) << c.tail;
  }
}

TEST(ModelSpecTest, UnsupportedTokenizerIsInvalidArgument) {
  const std::string dir = TwoModelDir();
  WriteSpec(dir, R"({"name": "sev", "file": "m.pt", "maxTokens": 8, "weight": 1,
      "labels": [{"name": "a"}, {"name": "b", "risk": 1}],
      "tokenizer": {"type": "bpe", "model": "t"}})");
  auto loaded = LoadModelDirectory(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("'bpe' is not supported"));
}

TEST(ModelSpecTest, MaxTokensWithoutRoomAfterBosAndEosIsInvalidArgument) {
  const std::string dir = TwoModelDir();
  WriteSpec(dir, R"({"name": "sev", "file": "m.pt", "maxTokens": 2, "weight": 1,
      "labels": [{"name": "a"}, {"name": "b", "risk": 1}],
      "tokenizer": {"type": "sentencepiece", "model": "t", "bosId": 1, "eosId": 2}})");
  auto loaded = LoadModelDirectory(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("max_tokens must be >= 3"));
}

TEST(ModelSpecTest, UnorderedThresholdsAreInvalidArgument) {
  const std::string dir = TwoModelDir();
  std::ofstream(fs::path(dir) / "ensemble.json")
      << R"({"models": ["sev"], "thresholds": {"low": 0.5, "medium": 0.4,
            "high": 0.6, "critical": 0.8}})";
  auto loaded = LoadModelDirectory(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("low < medium"));
}

TEST(ModelSpecTest, DuplicateModelNamesAreInvalidArgument) {
  const std::string dir = TwoModelDir();
  std::ofstream(fs::path(dir) / "ensemble.json")
      << R"({"models": ["sev", "sev"], "thresholds": {"low": 0.2, "medium": 0.4,
            "high": 0.6, "critical": 0.8}})";
  auto loaded = LoadModelDirectory(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("'sev' is used twice"));
}

}  // namespace
}  // namespace lantern::core
