// Includes no abseil header: see sentencepiece_model.h.
#include "core/sentencepiece_model.h"

#include <sentencepiece_processor.h>

namespace lantern::core::internal {

SentencePieceModel::SentencePieceModel()
    : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}

SentencePieceModel::~SentencePieceModel() = default;

std::unique_ptr<SentencePieceModel> SentencePieceModel::Load(
    const std::string& path, std::string* error) {
  std::unique_ptr<SentencePieceModel> model(new SentencePieceModel());
  const auto status = model->processor_->Load(path);
  if (!status.ok()) {
    *error = status.ToString();
    return nullptr;
  }
  return model;
}

bool SentencePieceModel::Encode(std::string_view text, std::vector<int>* ids,
                                int* error_code) const {
  const auto status = processor_->Encode(text, ids);
  *error_code = static_cast<int>(status.code());
  return status.ok();
}

}  // namespace lantern::core::internal
