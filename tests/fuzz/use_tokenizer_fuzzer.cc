// The Universal Sentence Encoder tokenizer (core/use_tokenizer.h), on any
// text and on any vocab.json.
//
// Input: the first byte picks the case. 0x00..0xEF: the rest is text for the
// encoder's real vocabulary (models/default/encoder/vocab.json, 8,000
// pieces; even bytes) or a small one written here (odd bytes).
// 0xF0..0xFF: the rest is a vocab.json, loaded and run on a few fixed texts.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/text.h"
#include "core/use_tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace lantern::fuzz {
namespace {

// Ids 0..5 reserved, a duplicate piece, null scores (as in the test).
constexpr char kSmallVocab[] =
    R"([["\ufffd", 0], ["<s>", 0], ["</s>", 0], ["r3", 0],
  ["r4", 0], ["r5", 0], ["\u2581", -2], ["a", -1], ["b", -1], ["ab", -1.5],
  ["\u2581a", -1], ["b", -0.5], [":", null], ["\u2581:", null], ["\ud83d\ude00", -3],
  ["\u00e9t\u00e9", -2], ["\u2581\u2581", -4]])";

struct Vocab {
  std::unique_ptr<core::Tokenizer> tokenizer;
  int64_t size = 0;
};

const std::vector<Vocab>& Vocabs() {
  static const auto* vocabs = [] {
    auto* out = new std::vector<Vocab>();
    auto real = core::LoadUseTokenizer(std::string(LANTERN_FUZZ_MODEL_DIR) +
                                       "/encoder/vocab.json");
    LANTERN_FUZZ_CHECK(real.ok());
    out->push_back({*std::move(real), 8000});
    const std::string path = ScratchDir() + "/small_vocab.json";
    WriteFile(path, kSmallVocab);
    auto small = core::LoadUseTokenizer(path);
    LANTERN_FUZZ_CHECK(small.ok());
    out->push_back({*std::move(small), 17});
    return out;
  }();
  return *vocabs;
}

void CheckEncode(const core::Tokenizer& tokenizer, int64_t vocab_size,
                 absl::string_view text) {
  const absl::StatusOr<std::vector<int64_t>> ids = tokenizer.Encode(text);
  if (!ids.ok()) {
    // Only text that is not UTF-8 is refused.
    LANTERN_FUZZ_CHECK(!core::ValidateUtf8(text, "text").ok());
    LANTERN_FUZZ_CHECK(ids.status().code() ==
                       absl::StatusCode::kInvalidArgument);
    return;
  }
  LANTERN_FUZZ_CHECK(ids->empty() == text.empty());
  for (size_t i = 0; i < ids->size(); ++i) {
    const int64_t id = (*ids)[i];
    // Unknown (0) or a piece past the reserved ids; unknowns merge.
    LANTERN_FUZZ_CHECK(id == 0 || (6 <= id && id < vocab_size));
    LANTERN_FUZZ_CHECK(i == 0 || id != 0 || (*ids)[i - 1] != 0);
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
    const fuzz::Vocab& vocab = fuzz::Vocabs()[data[0] % 2];
    fuzz::CheckEncode(*vocab.tokenizer, vocab.size, rest);
    // What the engine feeds it: normalised text.
    if (auto normalized = core::NormalizeText(rest); normalized.ok()) {
      fuzz::CheckEncode(*vocab.tokenizer, vocab.size, *normalized);
    }
    return 0;
  }
  const std::string path = fuzz::ScratchDir() + "/vocab.json";
  fuzz::WriteFile(path, rest);
  auto loaded = core::LoadUseTokenizer(path);
  if (!loaded.ok()) {
    LANTERN_FUZZ_CHECK(loaded.status().code() ==
                       absl::StatusCode::kInvalidArgument);
    return 0;
  }
  for (const char* text :
       {"a b", "ab:a \xF0\x9F\x98\x80", "\xC3\xA9t\xC3\xA9  x"}) {
    const absl::StatusOr<std::vector<int64_t>> ids = (*loaded)->Encode(text);
    LANTERN_FUZZ_CHECK(ids.ok());
    for (const int64_t id : *ids) LANTERN_FUZZ_CHECK(id >= 0);
  }
  return 0;
}
