// The WordPiece tokenizer (core/wordpiece_tokenizer.h), on any text and on
// any vocabulary file.
//
// Input: the first byte picks the case. 0x00..0xEF: the rest is text for one
// of four tokenizers (a small vocabulary written here and the test vocabulary
// tests/data/wordpiece_vocab.txt, each cased and uncased). 0xF0..0xFF: the
// rest is a vocab.txt, loaded and then run on a few fixed texts.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/text.h"
#include "core/wordpiece_tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace lantern::fuzz {
namespace {

using core::WordPieceOptions;
using core::WordPieceTokenizer;

WordPieceOptions Options(bool lowercase) {
  WordPieceOptions options;
  options.lowercase = lowercase;
  options.strip_accents = lowercase;
  return options;
}

const std::vector<std::unique_ptr<WordPieceTokenizer>>& Tokenizers() {
  static const auto* tokenizers = [] {
    const std::vector<std::string> small = {
        "[PAD]", "[UNK]", "[CLS]",    "[SEP]",  "i",   "'",    "m",     "so",
        "tired", "un",    "##believ", "##able", "##s", "play", "##ing", ",",
        ".",     "!",     "café",     "cafe",   "我",  "na",   "##ïve", "##ive",
        "ok",    "##ok",  "a",        "##a",    "İ",   "ß",    "##",    "###"};
    auto* out = new std::vector<std::unique_ptr<WordPieceTokenizer>>();
    for (const bool lowercase : {false, true}) {
      auto from_vocab =
          WordPieceTokenizer::FromVocab(small, Options(lowercase));
      LANTERN_FUZZ_CHECK(from_vocab.ok());
      out->push_back(*std::move(from_vocab));
      auto loaded = WordPieceTokenizer::Load(
          std::string(LANTERN_FUZZ_DATA_DIR) + "/wordpiece_vocab.txt",
          Options(lowercase));
      LANTERN_FUZZ_CHECK(loaded.ok());
      out->push_back(*std::move(loaded));
    }
    return out;
  }();
  return *tokenizers;
}

void CheckEncode(const WordPieceTokenizer& tokenizer, absl::string_view text) {
  const bool valid = core::ValidateUtf8(text, "text").ok();
  const absl::StatusOr<std::vector<int64_t>> ids = tokenizer.Encode(text);
  const absl::StatusOr<std::vector<std::string>> pieces =
      tokenizer.Tokenize(text);
  LANTERN_FUZZ_CHECK(ids.ok() == valid && pieces.ok() == valid);
  if (!valid) {
    LANTERN_FUZZ_CHECK(ids.status().code() ==
                       absl::StatusCode::kInvalidArgument);
    return;
  }
  LANTERN_FUZZ_CHECK(ids->size() == pieces->size());
  for (size_t i = 0; i < ids->size(); ++i) {
    const int64_t id = (*ids)[i];
    LANTERN_FUZZ_CHECK(0 <= id && id < tokenizer.vocab_size());
    const std::string& piece = (*pieces)[i];
    LANTERN_FUZZ_CHECK(!piece.empty());
    // A piece is its own entry, or "##" + a continuation entry.
    const std::optional<int64_t> whole = tokenizer.TokenId(piece);
    LANTERN_FUZZ_CHECK(whole.has_value() || piece.rfind("##", 0) == 0);
  }
}

}  // namespace
}  // namespace lantern::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lantern;
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  if (data[0] < 0xF0) {
    const auto& tokenizer =
        *fuzz::Tokenizers()[data[0] % fuzz::Tokenizers().size()];
    fuzz::CheckEncode(tokenizer, rest);
    // What the engine feeds it: normalised text.
    if (auto normalized = core::NormalizeText(rest); normalized.ok()) {
      fuzz::CheckEncode(tokenizer, *normalized);
    }
    return 0;
  }
  const std::string path = fuzz::ScratchDir() + "/vocab.txt";
  fuzz::WriteFile(path, rest);
  auto loaded =
      core::WordPieceTokenizer::Load(path, fuzz::Options(data[0] & 1));
  if (!loaded.ok()) {
    const auto code = loaded.status().code();
    LANTERN_FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  for (const char* text :
       {"I'm so tired...", "unbelievable café NAÏVE 我好", "[UNK] ## #"}) {
    fuzz::CheckEncode(**loaded, text);
  }
  return 0;
}
