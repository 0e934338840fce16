#include "core/tokenizer.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/sentencepiece_model.h"
#include "core/use_tokenizer.h"
#include "core/wordpiece_tokenizer.h"

namespace lantern::core {
namespace {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(
      std::unique_ptr<internal::SentencePieceModel> model)
      : model_(std::move(model)) {}

  absl::StatusOr<std::vector<int64_t>> Encode(
      absl::string_view normalized_text) const override {
    absl::StatusOr<std::vector<int>> ids = model_->Encode(normalized_text);
    if (!ids.ok()) return ids.status();
    return std::vector<int64_t>(ids->begin(), ids->end());
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
  auto model = internal::SentencePieceModel::Load(model_path);
  if (!model.ok()) return model.status();
  return std::make_unique<SentencePieceTokenizer>(*std::move(model));
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(
    const config::v1::TokenizerSpec& spec, const std::string& model_path) {
  if (spec.type() == "sentencepiece")
    return LoadSentencePieceTokenizer(model_path);
  if (spec.type() == "wordpiece")
    return LoadWordPieceTokenizer(spec, model_path);
  if (spec.type() == "universal_sentence_encoder")
    return LoadUseTokenizer(model_path);
  return absl::InvalidArgumentError(
      absl::StrCat("tokenizer type '", spec.type(), "' is not supported"));
}

}  // namespace lantern::core
