// The Universal Sentence Encoder tokenizer's rules on a tiny vocabulary.
// Parity with the encoder's real vocabulary is tokenizer_test.cc's job.
#include "core/use_tokenizer.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string WriteVocab(const std::string& name, const std::string& json) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << json;
  return path;
}

// Ids 0..5 are reserved; "b" is listed twice (id 11 wins); ":" and "▁:"
// have null scores.
constexpr char kVocab[] =
    R"([["\ufffd", 0], ["<s>", 0], ["</s>", 0], ["r3", 0], ["r4", 0],
  ["r5", 0], ["\u2581", -2], ["a", -1], ["b", -1], ["ab", -1.5], ["\u2581a", -1],
  ["b", -0.5], [":", null], ["\u2581:", null]])";

std::vector<int64_t> Encode(const std::string& text) {
  auto tokenizer = LoadUseTokenizer(WriteVocab("use_vocab.json", kVocab));
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  auto ids = (*tokenizer)->Encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return *ids;
}

TEST(UseTokenizerTest, BestPathWithTheLastIdOfADuplicatePiece) {
  // "▁a" + "b" (-1.5) beats "▁" + "ab" (-3.5); "b" is id 11, not 8.
  EXPECT_THAT(Encode("ab"), ElementsAre(10, 11));
  // Spaces become "▁" pieces.
  EXPECT_THAT(Encode("a a"), ElementsAre(10, 10));
}

TEST(UseTokenizerTest, APathScoreOfZeroCountsAsUnset) {
  // "▁:" alone scores 0, which the runtime treats as "no path yet", so
  // "▁" + ":" (-2) wins although it scores lower.
  EXPECT_THAT(Encode(":a"), ElementsAre(6, 12, 7));
}

TEST(UseTokenizerTest, UnknownCharactersMergeIntoOneId) {
  EXPECT_THAT(Encode("a\U0001F600\U0001F600"), ElementsAre(10, 0));
  EXPECT_THAT(Encode("\U0001F600 a"), ElementsAre(6, 0, 10));
  EXPECT_TRUE(Encode("").empty());
}

TEST(UseTokenizerTest, MissingOrMalformedVocabularies) {
  EXPECT_EQ(LoadUseTokenizer("/nonexistent/vocab.json").status().code(),
            absl::StatusCode::kNotFound);
  auto not_pairs = LoadUseTokenizer(
      WriteVocab("bad1.json", R"([["a", 0], 3, 4, 5, 6, 7, 8])"));
  EXPECT_EQ(not_pairs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_pairs.status().message(), HasSubstr("entry 1 is malformed"));
  auto bad_score = LoadUseTokenizer(WriteVocab(
      "bad2.json",
      R"([["a", 0], ["b", 0], ["c", 0], ["d", 0], ["e", 0], ["f", 0], ["g", "x"]])"));
  EXPECT_THAT(bad_score.status().message(),
              HasSubstr("entry 6 has a score that is not a number"));
  EXPECT_EQ(LoadUseTokenizer(WriteVocab("bad3.json", "[]")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lantern::core
