// Request validation and normalisation, as every message meets them before
// any model runs: core::ValidateMessage (UTF-8 of every field, id and text
// limits, NormalizeText) and the cue matcher on the caller's text.
//
// Input: text, id, user_id and channel_id separated by 0x1F bytes (missing
// fields are empty).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "core/cues.h"
#include "core/engine.h"
#include "core/text.h"
#include "tests/fuzz/fuzz_util.h"

namespace lantern::fuzz {
namespace {

const core::CueMatcher& Cues() {
  static const auto* cues = [] {
    auto loaded = core::CueMatcher::Load(std::string(LANTERN_FUZZ_MODEL_DIR) +
                                         "/cues.json");
    LANTERN_FUZZ_CHECK(loaded.ok());
    return new core::CueMatcher(*std::move(loaded));
  }();
  return *cues;
}

// What NormalizeText promises about its output.
void CheckNormalized(absl::string_view out) {
  LANTERN_FUZZ_CHECK(core::ValidateUtf8(out, "normalized").ok());
  if (out.empty()) return;
  LANTERN_FUZZ_CHECK(out.front() != ' ' && out.back() != ' ');
  LANTERN_FUZZ_CHECK(out.find("  ") == absl::string_view::npos);
  for (const char c : out) {
    // No ASCII control character or whitespace other than the space.
    LANTERN_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
  }
}

void CheckMessage(const core::Message& message, int max_chars) {
  const absl::StatusOr<std::string> normalized =
      core::ValidateMessage(message, max_chars);
  const bool text_ok = core::ValidateUtf8(message.text, "text").ok();
  if (!normalized.ok()) {
    LANTERN_FUZZ_CHECK(normalized.status().code() ==
                       absl::StatusCode::kInvalidArgument);
    return;
  }
  LANTERN_FUZZ_CHECK(text_ok);
  LANTERN_FUZZ_CHECK(!normalized->empty());
  LANTERN_FUZZ_CHECK(message.id.size() <= 256);
  LANTERN_FUZZ_CHECK(core::CountCodePoints(message.text) <=
                     static_cast<size_t>(max_chars));
  const absl::StatusOr<std::string> again = core::NormalizeText(message.text);
  LANTERN_FUZZ_CHECK(again.ok() && *again == *normalized);
  CheckNormalized(*normalized);

  // Cue spans are code point offsets into the caller's text.
  const int length = static_cast<int>(core::CountCodePoints(message.text));
  for (const core::Factor& factor : Cues().Match(message.text)) {
    LANTERN_FUZZ_CHECK(factor.source == "cues" && !factor.spans.empty());
    int previous_start = -1;
    for (const core::TextSpan& span : factor.spans) {
      LANTERN_FUZZ_CHECK(0 <= span.start && span.start < span.end &&
                         span.end <= length);
      LANTERN_FUZZ_CHECK(span.start >= previous_start);
      previous_start = span.start;
    }
  }
}

}  // namespace
}  // namespace lantern::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lantern;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<absl::string_view> fields =
      absl::StrSplit(input, absl::MaxSplits('\x1F', 3));
  core::Message message;
  message.text = std::string(fields[0]);
  if (fields.size() > 1) message.id = std::string(fields[1]);
  if (fields.size() > 2) message.user_id = std::string(fields[2]);
  if (fields.size() > 3) message.channel_id = std::string(fields[3]);

  // NormalizeText on its own, for any bytes: an error exactly for bad UTF-8.
  const absl::StatusOr<std::string> normalized =
      core::NormalizeText(message.text);
  LANTERN_FUZZ_CHECK(normalized.ok() ==
                     core::ValidateUtf8(message.text, "text").ok());
  if (normalized.ok()) fuzz::CheckNormalized(*normalized);
  LANTERN_FUZZ_CHECK(core::CountCodePoints(message.text) <=
                     message.text.size());

  fuzz::CheckMessage(message, 4096);  // The server's default limit.
  fuzz::CheckMessage(message, 16);    // A tight one, so the limit is hit.
  return 0;
}
