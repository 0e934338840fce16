// Serving-time tokenization must equal training-time tokenization. The
// training script wrote tests/data/tokenizer_samples.jsonl with Python's
// normalisation and SentencePiece ids for the shipped tokenizer; the C++
// path (NormalizeText + SentencePiece library) must reproduce both.
#include "core/tokenizer.h"

#include <fstream>
#include <string>

#include "core/text.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

TEST(TokenizerTest, MatchesTrainingScriptOnSamples) {
  auto tokenizer =
      LoadSentencePieceTokenizer(std::string(LANTERN_TEST_MODEL_DIR) + "/tokenizer.model");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::ifstream in(LANTERN_TEST_DATA_DIR "/tokenizer_samples.jsonl");
  ASSERT_TRUE(in.good());
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    google::protobuf::Struct sample;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &sample).ok());
    const auto& fields = sample.fields();
    const std::string text = fields.at("text").string_value();
    auto normalized = NormalizeText(text);
    ASSERT_TRUE(normalized.ok());
    EXPECT_EQ(*normalized, fields.at("normalized").string_value()) << text;
    auto ids = (*tokenizer)->Encode(*normalized);
    ASSERT_TRUE(ids.ok());
    std::vector<int64_t> expected;
    for (const auto& v : fields.at("ids").list_value().values()) {
      expected.push_back(static_cast<int64_t>(v.number_value()));
    }
    EXPECT_EQ(*ids, expected) << text;
    ++samples;
  }
  EXPECT_GE(samples, 20);
}

TEST(TokenizerTest, MissingModelIsNotFound) {
  EXPECT_EQ(LoadSentencePieceTokenizer("/nonexistent/tokenizer.model").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(TokenizerTest, CorruptModelIsInvalidArgument) {
  const std::string path = ::testing::TempDir() + "/corrupt.model";
  std::ofstream(path) << "this is not a sentencepiece model";
  EXPECT_EQ(LoadSentencePieceTokenizer(path).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lantern::core
