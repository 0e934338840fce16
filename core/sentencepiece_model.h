// A thin, std-only wrapper over sentencepiece::SentencePieceProcessor.
//
// sentencepiece_processor.h declares its own `absl::string_view`, which
// collides with abseil's; so the SentencePiece header is included only in
// sentencepiece_model.cc, which includes no abseil header. Use Tokenizer
// (core/tokenizer.h) instead of this class.
#ifndef LANTERN_CORE_SENTENCEPIECE_MODEL_H_
#define LANTERN_CORE_SENTENCEPIECE_MODEL_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}  // namespace sentencepiece

namespace lantern::core::internal {

// Thread-safe once loaded (Encode is const).
class SentencePieceModel {
 public:
  // Returns nullptr and sets `*error` on failure.
  static std::unique_ptr<SentencePieceModel> Load(const std::string& path,
                                                  std::string* error);
  ~SentencePieceModel();

  // Returns false (and SentencePiece's status code in `*error_code`) on
  // failure.
  bool Encode(std::string_view text, std::vector<int>* ids,
              int* error_code) const;

 private:
  SentencePieceModel();
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

}  // namespace lantern::core::internal

#endif  // LANTERN_CORE_SENTENCEPIECE_MODEL_H_
