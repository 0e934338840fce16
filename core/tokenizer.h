// Text → token ids for a model.
#ifndef LANTERN_CORE_TOKENIZER_H_
#define LANTERN_CORE_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lantern/config/v1/model_spec.pb.h"

namespace lantern::core {

// Thread-safe once constructed: Encode may run on many threads at once.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Token ids of normalised text (see core/text.h), without special tokens.
  virtual absl::StatusOr<std::vector<int64_t>> Encode(
      absl::string_view normalized_text) const = 0;
};

// Loads a SentencePiece model file. NotFound / InvalidArgument on failure.
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadSentencePieceTokenizer(
    const std::string& model_path);

// Loads the tokenizer a spec describes; `model_path` is spec.model resolved
// against the spec's folder: "sentencepiece", "wordpiece" (see
// core/wordpiece_tokenizer.h) or "universal_sentence_encoder" (see
// core/use_tokenizer.h). InvalidArgument for an unsupported type.
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(
    const config::v1::TokenizerSpec& spec, const std::string& model_path);

}  // namespace lantern::core

#endif  // LANTERN_CORE_TOKENIZER_H_
