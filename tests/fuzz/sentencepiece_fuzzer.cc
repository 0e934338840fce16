// The SentencePiece tokenizer through liblantern_sentencepiece.so (opened
// with dlmopen; see core/sentencepiece_module.cc), with the shipped
// tokenizer model, on any text. The module and libsentencepiece are not
// instrumented: this finds faults in Lantern's side of the interface (buffer
// sizing and the retry, status mapping) and crashes anywhere, not coverage
// inside SentencePiece.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/text.h"
#include "core/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace lantern::fuzz {
namespace {

const core::Tokenizer& Tokenizer() {
  static const auto* tokenizer = [] {
    auto loaded = core::LoadSentencePieceTokenizer(
        std::string(LANTERN_FUZZ_MODEL_DIR) + "/tokenizer.model");
    LANTERN_FUZZ_CHECK(loaded.ok());
    return loaded->release();
  }();
  return *tokenizer;
}

// `must_succeed`: the text is what the engine passes (normalised UTF-8).
void CheckEncode(absl::string_view text, bool must_succeed) {
  const absl::StatusOr<std::vector<int64_t>> ids = Tokenizer().Encode(text);
  if (!ids.ok()) {
    LANTERN_FUZZ_CHECK(!must_succeed);
    LANTERN_FUZZ_CHECK(ids.status().code() == absl::StatusCode::kInternal);
    return;
  }
  for (const int64_t id : *ids) LANTERN_FUZZ_CHECK(id >= 0);
  const absl::StatusOr<std::vector<int64_t>> again = Tokenizer().Encode(text);
  LANTERN_FUZZ_CHECK(again.ok() && *again == *ids);
}

}  // namespace
}  // namespace lantern::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lantern;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::CheckEncode(text, /*must_succeed=*/false);
  if (auto normalized = core::NormalizeText(text); normalized.ok()) {
    fuzz::CheckEncode(*normalized, /*must_succeed=*/true);
  }
  return 0;
}
