#include "core/tokenizer.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/sentencepiece_model.h"

namespace lantern::core {
namespace {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(
      std::unique_ptr<internal::SentencePieceModel> model)
      : model_(std::move(model)) {}

  absl::StatusOr<std::vector<int64_t>> Encode(
      absl::string_view normalized_text) const override {
    std::vector<int> ids;
    int code = 0;
    if (!model_->Encode(std::string_view(normalized_text.data(),
                                         normalized_text.size()),
                        &ids, &code)) {
      // SentencePiece's message may quote the input; keep only the code.
      return absl::InternalError(
          absl::StrCat("tokenizer failed with SentencePiece code ", code));
    }
    return std::vector<int64_t>(ids.begin(), ids.end());
  }

 private:
  std::unique_ptr<internal::SentencePieceModel> model_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadSentencePieceTokenizer(
    const std::string& model_path) {
  if (!std::filesystem::exists(model_path)) {
    return absl::NotFoundError(
        absl::StrCat("tokenizer model not found: ", model_path));
  }
  std::string error;
  auto model = internal::SentencePieceModel::Load(model_path, &error);
  if (model == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load SentencePiece model ", model_path, ": ", error));
  }
  return std::make_unique<SentencePieceTokenizer>(std::move(model));
}

}  // namespace lantern::core
