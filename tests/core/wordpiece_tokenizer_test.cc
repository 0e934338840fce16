// WordPiece tokenizer: known tokenizations on a small vocabulary written
// here, loading errors, spec hook-up, and parity with the Python reference
// on tests/data/wordpiece_samples.jsonl (see make_wordpiece_samples.py).
#include "core/wordpiece_tokenizer.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/model_spec.h"
#include "core/text.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::vector<std::string>& SmallVocab() {
  static const auto* vocab = new std::vector<std::string>{
      "[PAD]", "[UNK]",    "[CLS]",  "[SEP]", "[MASK]",  // 0-4
      "i",     "'",        "m",      "so",    "tired",   // 5-9
      "un",    "##believ", "##able", "##s",   "play",    // 10-14
      "##ing", ",",        ".",      "!",     "?",       // 15-19
      "cafe",  "café",     "Hello",  "hello", "我",      // 20-24
      "好",    "na",       "##ive",  "##ïve", "ok",      // 25-29
      "##ok",  "a",        "##a",    "x",     "naïve"};  // 30-34
  return *vocab;
}

std::unique_ptr<WordPieceTokenizer> Make(bool lowercase, bool strip_accents) {
  WordPieceOptions options;
  options.lowercase = lowercase;
  options.strip_accents = strip_accents;
  auto tokenizer = WordPieceTokenizer::FromVocab(SmallVocab(), options);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return *std::move(tokenizer);
}

std::vector<std::string> Pieces(const WordPieceTokenizer& t,
                                absl::string_view text) {
  auto pieces = t.Tokenize(text);
  EXPECT_TRUE(pieces.ok()) << pieces.status();
  return pieces.ok() ? *pieces : std::vector<std::string>{};
}

TEST(WordPieceTokenizerTest, UncasedSplitsPunctuationAndContinuations) {
  auto t = Make(/*lowercase=*/true, /*strip_accents=*/true);
  EXPECT_THAT(Pieces(*t, "I'm SO tired..."),
              ElementsAre("i", "'", "m", "so", "tired", ".", ".", "."));
  EXPECT_THAT(Pieces(*t, "Unbelievable, unbelievables!"),
              ElementsAre("un", "##believ", "##able", ",", "un", "##believ",
                          "##able", "##s", "!"));
  EXPECT_EQ(t->Encode("I'm SO tired...").value(),
            (std::vector<int64_t>{5, 6, 7, 8, 9, 17, 17, 17}));
}

TEST(WordPieceTokenizerTest, LongestMatchFirstAndContinuationLookup) {
  auto t = Make(true, true);
  // "aaa": "a" starts, then "##a" twice; "ok" is a whole word, "okok" is
  // "ok" + "##ok".
  EXPECT_THAT(Pieces(*t, "aaa okok"),
              ElementsAre("a", "##a", "##a", "ok", "##ok"));
  // "playing" = "play" + "##ing", the longest entries that fit.
  EXPECT_THAT(Pieces(*t, "playing"), ElementsAre("play", "##ing"));
}

TEST(WordPieceTokenizerTest, WordThatCannotBeSplitIsOneUnknown) {
  auto t = Make(true, true);
  // "unbelievably": "un" "##believ" then "ably" has no "##" entry: the
  // whole word is [UNK], not a partial split.
  EXPECT_THAT(Pieces(*t, "so unbelievably tired"),
              ElementsAre("so", "[UNK]", "tired"));
  EXPECT_EQ(t->Encode("zzz").value(), (std::vector<int64_t>{1}));
}

TEST(WordPieceTokenizerTest, WordsLongerThanMaxCharsAreUnknown) {
  auto t = Make(true, true);
  EXPECT_EQ(Pieces(*t, std::string(100, 'a')).size(), 100u);
  EXPECT_THAT(Pieces(*t, std::string(101, 'a') + " ok"),
              ElementsAre("[UNK]", "ok"));
  WordPieceOptions options;
  options.max_chars_per_word = 3;
  auto short_words = WordPieceTokenizer::FromVocab(SmallVocab(), options);
  ASSERT_TRUE(short_words.ok());
  EXPECT_THAT(Pieces(**short_words, "aaa aaaa"),
              ElementsAre("a", "##a", "##a", "[UNK]"));
}

TEST(WordPieceTokenizerTest, CaseAndAccentsFollowOptions) {
  EXPECT_THAT(Pieces(*Make(false, false), "Hello hello HELLO café"),
              ElementsAre("Hello", "hello", "[UNK]", "café"));
  EXPECT_THAT(Pieces(*Make(true, true), "Hello CAFÉ naïve"),
              ElementsAre("hello", "cafe", "na", "##ive"));
  // Lower-cased, accents kept: "naïve" is its own entry.
  EXPECT_THAT(Pieces(*Make(true, false), "NAÏVE Café"),
              ElementsAre("naïve", "café"));
  // Accents stripped, case kept.
  EXPECT_THAT(Pieces(*Make(false, true), "Hello café"),
              ElementsAre("Hello", "cafe"));
}

TEST(WordPieceTokenizerTest, DecomposedAccentsAreStrippedToo) {
  // "e" + COMBINING ACUTE ACCENT, as some keyboards send it.
  EXPECT_THAT(Pieces(*Make(true, true), "cafe\u0301"), ElementsAre("cafe"));
}

TEST(WordPieceTokenizerTest, CjkIdeographsAreSeparateWords) {
  auto t = Make(true, true);
  EXPECT_THAT(Pieces(*t, "我好"), ElementsAre("我", "好"));
  EXPECT_THAT(Pieces(*t, "ok我ok"), ElementsAre("ok", "我", "ok"));
  EXPECT_EQ(t->Encode("我好").value(), (std::vector<int64_t>{24, 25}));
}

TEST(WordPieceTokenizerTest, ControlCharactersAreRemovedAndWhitespaceSplits) {
  auto t = Make(true, true);
  // BEL and ZERO WIDTH SPACE vanish inside a word; tab, NBSP, ideographic
  // space and LINE SEPARATOR split words.
  EXPECT_THAT(Pieces(*t, "o\x07k o\u200bk"), ElementsAre("ok", "ok"));
  EXPECT_THAT(Pieces(*t, "ok\tok\u00a0ok\u3000ok\u2028ok"),
              ElementsAre("ok", "ok", "ok", "ok", "ok"));
  EXPECT_THAT(Pieces(*t, std::string("ok\0ok", 5)), ElementsAre("ok", "##ok"));
  EXPECT_THAT(Pieces(*t, "  \t\n "), IsEmpty());
  EXPECT_THAT(Pieces(*t, ""), IsEmpty());
}

TEST(WordPieceTokenizerTest, SpecialTokenStringsInTextAreOrdinaryText) {
  // A chat message must not be able to inject [SEP] or [CLS].
  auto ids = Make(true, true)->Encode("[SEP]").value();
  EXPECT_THAT(ids, Not(::testing::Contains(3)));
  EXPECT_EQ(ids.front(), 1);  // "[" is not in this vocabulary.
}

TEST(WordPieceTokenizerTest,
     DottedCapitalIKeepsItsDotUnlessAccentsAreStripped) {
  const std::vector<std::string> vocab = {"[UNK]", "i", "i\u0307", "##s"};
  WordPieceOptions lower;
  lower.lowercase = true;
  auto keep = WordPieceTokenizer::FromVocab(vocab, lower);
  ASSERT_TRUE(keep.ok());
  EXPECT_THAT(Pieces(**keep, "\u0130s"), ElementsAre("i\u0307", "##s"));
  lower.strip_accents = true;
  auto strip = WordPieceTokenizer::FromVocab(vocab, lower);
  ASSERT_TRUE(strip.ok());
  EXPECT_THAT(Pieces(**strip, "\u0130s"), ElementsAre("i", "##s"));
}

TEST(WordPieceTokenizerTest, InvalidUtf8IsInvalidArgumentWithoutTheText) {
  auto ids = Make(true, true)->Encode("secret \xC3\x28");
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ids.status().message(), Not(HasSubstr("secret")));
}

TEST(WordPieceTokenizerTest, EncodeIsSafeFromManyThreads) {
  auto t = Make(true, true);
  const std::vector<int64_t> expected =
      t->Encode("I'm so tired, unbelievable!").value();
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 2000; ++n) {
        if (t->Encode("I'm so tired, unbelievable!").value() != expected)
          ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

TEST(WordPieceTokenizerTest, LoadsVocabFileWithLineNumbersAsIds) {
  // CRLF line ends are accepted; a repeated entry keeps its last id.
  const std::string path =
      WriteFile("vocab_crlf.txt", "[PAD]\r\n[UNK]\r\nok\r\n##ok\r\nok\r\n");
  auto t = WordPieceTokenizer::Load(path, WordPieceOptions{});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->vocab_size(), 5);
  EXPECT_EQ((*t)->TokenId("[UNK]"), 1);
  EXPECT_EQ((*t)->TokenId("ok"), 4);
  EXPECT_EQ((*t)->Encode("okok").value(), (std::vector<int64_t>{4, 3}));
}

TEST(WordPieceTokenizerTest, LoadErrorsNameTheProblem) {
  EXPECT_EQ(
      WordPieceTokenizer::Load("/nonexistent/vocab.txt", {}).status().code(),
      absl::StatusCode::kNotFound);
  auto empty = WordPieceTokenizer::Load(WriteFile("vocab_empty.txt", ""), {});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("empty"));
  auto no_unk = WordPieceTokenizer::Load(
      WriteFile("vocab_no_unk.txt", "[PAD]\nok\n"), {});
  EXPECT_EQ(no_unk.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_unk.status().message(),
              HasSubstr("'[UNK]' is not in the vocabulary"));
  WordPieceOptions custom;
  custom.unk_token = "<unk>";
  EXPECT_TRUE(WordPieceTokenizer::Load(
                  WriteFile("vocab_unk.txt", "<pad>\n<unk>\n"), custom)
                  .ok());
}

TEST(WordPieceTokenizerTest, SpecSelectsWordPieceAndChecksSpecialIds) {
  const std::string path =
      WriteFile("vocab_spec.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nok\n");
  config::v1::TokenizerSpec spec;
  spec.set_type("wordpiece");
  spec.set_lowercase(true);  // strip_accents unset: follows lowercase.
  spec.set_pad_id(0);
  spec.set_bos_id(2);
  spec.set_eos_id(3);
  auto tokenizer = LoadTokenizer(spec, path);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->Encode("OK ÓK").value(),
            (std::vector<int64_t>{4, 4}));
  spec.set_strip_accents(false);
  EXPECT_EQ(LoadTokenizer(spec, path).value()->Encode("OK ÓK").value(),
            (std::vector<int64_t>{4, 1}));
  spec.set_eos_id(5);
  auto bad = LoadTokenizer(spec, path);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("eos_id 5 is outside the vocabulary"));
}

TEST(WordPieceTokenizerTest, ModelSpecAcceptsWordPieceFields) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "wp_spec";
  fs::create_directories(dir);
  std::ofstream(dir / "model.json") << R"({"name": "b", "file": "m.pt",
      "tokenizer": {"type": "wordpiece", "model": "vocab.txt", "padId": 0,
                    "bosId": 2, "eosId": 3, "lowercase": true,
                    "stripAccents": false, "unkToken": "[UNK]"},
      "labels": [{"name": "a"}, {"name": "b", "risk": 1}],
      "maxTokens": 16, "weight": 1})";
  auto loaded = LoadModelSpec((dir / "model.json").string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->spec.tokenizer().lowercase());
  EXPECT_TRUE(loaded->spec.tokenizer().has_strip_accents());
  EXPECT_EQ(loaded->tokenizer_path, (dir / "vocab.txt").string());
  // WordPiece settings on a SentencePiece spec are a mistake, not ignored.
  std::ofstream(dir / "model.json") << R"({"name": "b", "file": "m.pt",
      "tokenizer": {"type": "sentencepiece", "model": "t.model", "lowercase": true},
      "labels": [{"name": "a"}, {"name": "b", "risk": 1}],
      "maxTokens": 16, "weight": 1})";
  auto mixed = LoadModelSpec((dir / "model.json").string());
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mixed.status().message(), HasSubstr("apply to wordpiece only"));
}

TEST(WordPieceTokenizerTest, NormalisedTextGivesTheSameIdsForOrdinaryText) {
  // The engine tokenizes NormalizeText's output; for ordinary chat that
  // changes nothing. (Compatibility characters do change: see the samples.)
  auto t = Make(true, true);
  for (const char* text : {"I'm so tired...", "  ok\t\tok \n", "Café, naïve!",
                           "我好 ok", "o\u200bk"}) {
    EXPECT_EQ(t->Encode(NormalizeText(text).value()).value(),
              t->Encode(text).value())
        << text;
  }
  // "…" is one punctuation character raw, three full stops after NFKC.
  EXPECT_EQ(t->Encode("ok\u2026").value().size(), 2u);
  EXPECT_EQ(t->Encode(NormalizeText("ok\u2026").value()).value(),
            (std::vector<int64_t>{29, 17, 17, 17}));
}

std::vector<int64_t> Ints(const google::protobuf::Value& list) {
  std::vector<int64_t> out;
  for (const auto& v : list.list_value().values()) {
    out.push_back(static_cast<int64_t>(v.number_value()));
  }
  return out;
}

std::vector<std::string> Strings(const google::protobuf::Value& list) {
  std::vector<std::string> out;
  for (const auto& v : list.list_value().values())
    out.push_back(v.string_value());
  return out;
}

TEST(WordPieceTokenizerTest, MatchesPythonReferenceOnSamples) {
  std::map<std::string, std::unique_ptr<WordPieceTokenizer>> by_config;
  std::ifstream in(LANTERN_TEST_DATA_DIR "/wordpiece_samples.jsonl");
  ASSERT_TRUE(in.good());
  std::string line;
  int samples = 0;
  int changed_by_nfkc = 0;
  while (std::getline(in, line)) {
    google::protobuf::Struct sample;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(line, &sample).ok());
    const auto& f = sample.fields();
    auto& tokenizer = by_config[f.at("config").string_value()];
    if (tokenizer == nullptr) {
      WordPieceOptions options;
      options.lowercase = f.at("lowercase").bool_value();
      options.strip_accents = f.at("strip_accents").bool_value();
      auto loaded = WordPieceTokenizer::Load(
          LANTERN_TEST_DATA_DIR "/wordpiece_vocab.txt", options);
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      tokenizer = *std::move(loaded);
    }
    const std::string text = f.at("text").string_value();
    const std::string context = f.at("config").string_value() + ": " + text;
    EXPECT_EQ(tokenizer->Tokenize(text).value(), Strings(f.at("tokens")))
        << context;
    EXPECT_EQ(tokenizer->Encode(text).value(), Ints(f.at("ids"))) << context;
    // What the engine does: normalise, then tokenize.
    const std::string normalized = NormalizeText(text).value();
    EXPECT_EQ(normalized, f.at("normalized").string_value()) << context;
    EXPECT_EQ(tokenizer->Encode(normalized).value(),
              Ints(f.at("normalized_ids")))
        << context;
    if (Ints(f.at("ids")) != Ints(f.at("normalized_ids"))) ++changed_by_nfkc;
    ++samples;
  }
  EXPECT_EQ(by_config.size(), 4u);
  EXPECT_GE(samples, 150);
  // Only the compatibility-character samples differ (see the generator).
  EXPECT_LE(changed_by_nfkc, 4 * 7);
}

}  // namespace
}  // namespace lantern::core
