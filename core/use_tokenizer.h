// The tokenizer of Google's Universal Sentence Encoder Lite, as the encoder's
// own JavaScript runtime (npm @energetic-ai/embeddings 0.2.0) runs it, so the
// ids match the ones the encoder was built for.
//
// The vocabulary is the package's vocab.json: a JSON array of
// [piece, score] pairs, the id being the position. Encoding:
//  1. The text (already NFKC, see core/text.h) gets a leading "▁" and every
//     space becomes "▁".
//  2. Viterbi over code points. Candidates are the vocabulary pieces from id
//     6 on (ids 0..5 are reserved); a piece listed twice keeps its last id,
//     and a null score counts as 0. A position where no piece starts offers
//     a one-character unknown (id 0, score 0). For each end position,
//     candidates are taken from the earliest start on, and one replaces the
//     current best when its path score is >= the best, or when the best is
//     exactly 0, which the runtime reads as "not set yet" (so a path of
//     score 0 never stands, e.g. a leading "▁:" piece).
//  3. Backtracking steps back by each chosen piece's length in UTF-16 code
//     units; consecutive unknowns merge into one id 0.
// Ids are not truncated here: the engine keeps the first max_tokens.
//
// scripts/use_lite.py's UseTokenizer is the same algorithm for training;
// tests/core/tokenizer_test.cc checks that both give the same ids, and
// scripts/use_lite.py --check that Python matches the JavaScript runtime.
#ifndef LANTERN_CORE_USE_TOKENIZER_H_
#define LANTERN_CORE_USE_TOKENIZER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/tokenizer.h"

namespace lantern::core {

// Loads vocab.json. NotFound if the file is missing; InvalidArgument if it
// is not an array of [string, number or null] pairs or is empty.
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadUseTokenizer(
    const std::string& vocab_path);

}  // namespace lantern::core

#endif  // LANTERN_CORE_USE_TOKENIZER_H_
