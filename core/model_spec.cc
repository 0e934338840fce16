#include "core/model_spec.h"

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/files.h"
#include "core/status_macros.h"

namespace lantern::core {
namespace {

namespace fs = std::filesystem;

// Far above any model here (the encoder reads 128 tokens) and any message
// the server accepts; the engine warms every length bucket up to it.
constexpr int kMaxTokensLimit = 65536;
// Far from float overflow when the ensemble sums weights.
constexpr float kMaxWeight = 1e6f;

absl::Status Invalid(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::Status ValidateSpec(const std::string& path,
                          const config::v1::ModelSpec& spec) {
  if (spec.name().empty()) return Invalid(path, "name is required");
  if (spec.file().empty()) return Invalid(path, "file is required");
  if (spec.labels_size() < 2)
    return Invalid(path, "at least two labels are required");
  for (const auto& label : spec.labels()) {
    if (label.name().empty()) return Invalid(path, "every label needs a name");
    // Written so that NaN ("NaN" is valid protobuf JSON) fails too.
    if (!(label.risk() >= 0.0f && label.risk() <= 1.0f)) {
      return Invalid(path, absl::StrCat("risk of label '", label.name(),
                                        "' must be within 0..1"));
    }
  }
  if (spec.max_tokens() < 1 || spec.max_tokens() > kMaxTokensLimit) {
    return Invalid(
        path, absl::StrCat("max_tokens must be within 1..", kMaxTokensLimit));
  }
  const int specials = (spec.tokenizer().bos_id() >= 0 ? 1 : 0) +
                       (spec.tokenizer().eos_id() >= 0 ? 1 : 0);
  if (spec.max_tokens() <= specials) {
    return Invalid(path, absl::StrCat("max_tokens must be >= ", specials + 1,
                                      ": bos_id and eos_id take ", specials,
                                      " and the text needs at least one"));
  }
  // NaN, infinite or huge weights would make the weighted mean NaN, and a
  // NaN score reads as level "none" for every message.
  if (!(spec.weight() > 0.0f && spec.weight() <= kMaxWeight)) {
    return Invalid(path,
                   absl::StrCat("weight must be > 0 and at most ", kMaxWeight));
  }
  if (spec.handles() < 0) return Invalid(path, "handles must be >= 0");
  if (spec.tokenizer().type() != "sentencepiece" &&
      spec.tokenizer().type() != "wordpiece" &&
      spec.tokenizer().type() != "universal_sentence_encoder") {
    return Invalid(path,
                   absl::StrCat("tokenizer.type '", spec.tokenizer().type(),
                                "' is not supported (use sentencepiece, "
                                "wordpiece or universal_sentence_encoder)"));
  }
  if (spec.tokenizer().model().empty()) {
    return Invalid(path, "tokenizer.model is required");
  }
  const config::v1::TokenizerSpec& tok = spec.tokenizer();
  if (tok.type() != "wordpiece" &&
      (tok.lowercase() || tok.has_strip_accents() ||
       !tok.unk_token().empty())) {
    // The other tokenizers carry their own normalisation rules.
    return Invalid(path,
                   "tokenizer.lowercase, strip_accents and unk_token apply to "
                   "wordpiece only");
  }
  return absl::OkStatus();
}

absl::Status ValidateThresholds(const std::string& path,
                                const config::v1::Thresholds& t) {
  if (!(0.0f < t.low() && t.low() < t.medium() && t.medium() < t.high() &&
        t.high() < t.critical() && t.critical() <= 1.0f)) {
    return Invalid(
        path,
        "thresholds must satisfy 0 < low < medium < high < critical <= 1");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LoadedModelSpec> LoadModelSpec(const std::string& spec_path) {
  LoadedModelSpec loaded;
  LANTERN_RETURN_IF_ERROR(ReadJsonProto(spec_path, &loaded.spec));
  LANTERN_RETURN_IF_ERROR(ValidateSpec(spec_path, loaded.spec));
  const fs::path dir = fs::path(spec_path).parent_path();
  loaded.model_path = fs::weakly_canonical(dir / loaded.spec.file()).string();
  loaded.tokenizer_path =
      fs::weakly_canonical(dir / loaded.spec.tokenizer().model()).string();
  return loaded;
}

absl::StatusOr<ModelDirectory> LoadModelDirectory(const std::string& dir) {
  if (!fs::is_directory(dir)) {
    return absl::NotFoundError(
        absl::StrCat("model directory ", dir,
                     " does not exist (run scripts/setup.sh to "
                     "train the default models, or pass --model-dir)"));
  }
  ModelDirectory result;
  const std::string ensemble_path = (fs::path(dir) / "ensemble.json").string();
  LANTERN_RETURN_IF_ERROR(ReadJsonProto(ensemble_path, &result.ensemble));
  if (result.ensemble.models().empty()) {
    return Invalid(ensemble_path, "models must list at least one model folder");
  }
  LANTERN_RETURN_IF_ERROR(
      ValidateThresholds(ensemble_path, result.ensemble.thresholds()));
  std::set<std::string> names;
  for (const std::string& folder : result.ensemble.models()) {
    LANTERN_ASSIGN_OR_RETURN(
        LoadedModelSpec spec,
        LoadModelSpec((fs::path(dir) / folder / "model.json").string()));
    if (!names.insert(spec.spec.name()).second) {
      return Invalid(
          ensemble_path,
          absl::StrCat("model name '", spec.spec.name(), "' is used twice"));
    }
    result.models.push_back(std::move(spec));
  }
  return result;
}

}  // namespace lantern::core
