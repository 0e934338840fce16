// SentencePiece, reached through liblantern_sentencepiece.so (see
// sentencepiece_module.cc for why it is loaded with dlmopen). Use Tokenizer
// (core/tokenizer.h) rather than this class.
#ifndef LANTERN_CORE_SENTENCEPIECE_MODEL_H_
#define LANTERN_CORE_SENTENCEPIECE_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lantern::core::internal {

// Thread-safe once loaded (Encode is const).
class SentencePieceModel {
 public:
  // NotFound if the module or the model file cannot be found;
  // InvalidArgument if SentencePiece rejects the model file.
  static absl::StatusOr<std::unique_ptr<SentencePieceModel>> Load(
      const std::string& path);
  ~SentencePieceModel();

  // Internal with SentencePiece's status code on failure (never the text).
  absl::StatusOr<std::vector<int>> Encode(absl::string_view text) const;

 private:
  explicit SentencePieceModel(void* handle) : handle_(handle) {}
  void* handle_;
};

}  // namespace lantern::core::internal

#endif  // LANTERN_CORE_SENTENCEPIECE_MODEL_H_
