// Text checks and normalisation applied to every message before tokenizing.
//
// The training package (scripts/lantern_train/text.py) applies the same
// steps in Python, so the tokenizer sees the same text at training and serving
// time. Case folding is left to the SentencePiece model's own normaliser.
#ifndef LANTERN_CORE_TEXT_H_
#define LANTERN_CORE_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lantern::core {

// OK if `text` is well-formed UTF-8; otherwise InvalidArgument naming `field`
// and the byte offset of the first bad sequence. Never echoes the text.
absl::Status ValidateUtf8(absl::string_view text, absl::string_view field);

// Number of Unicode code points in well-formed UTF-8 `text`.
size_t CountCodePoints(absl::string_view text);

// The longest prefix of well-formed UTF-8 `text` with at most
// `max_code_points` code points (never splits a code point).
absl::string_view PrefixOfCodePoints(absl::string_view text,
                                     size_t max_code_points);

// Unicode's stream-safe limit (UAX #15): no more than 30 combining marks
// (non-starters) in a row.
inline constexpr int kMaxCombiningMarks = 30;

// `text` without the combining marks that follow kMaxCombiningMarks others
// in a row. `text` must be valid UTF-8.
std::string DropExcessCombiningMarks(absl::string_view text);

// Combining marks past kMaxCombiningMarks in a row dropped; Unicode NFKC;
// control and format characters removed (tab, newline and other whitespace
// become a space); runs of whitespace collapsed to one space; leading and
// trailing whitespace stripped. `text` must be valid UTF-8 (InvalidArgument
// otherwise). The result is empty for text made only of whitespace and
// invisible characters.
absl::StatusOr<std::string> NormalizeText(absl::string_view text);

}  // namespace lantern::core

#endif  // LANTERN_CORE_TEXT_H_
