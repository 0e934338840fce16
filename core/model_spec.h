// Reading and validating the model directory's configuration files:
//   <dir>/ensemble.json       lantern.config.v1.EnsembleConfig
//   <dir>/<model>/model.json  lantern.config.v1.ModelSpec
#ifndef LANTERN_CORE_MODEL_SPEC_H_
#define LANTERN_CORE_MODEL_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lantern/config/v1/model_spec.pb.h"

namespace lantern::core {

// A validated spec plus the absolute paths its relative names point to.
struct LoadedModelSpec {
  config::v1::ModelSpec spec;
  std::string model_path;      // TorchScript file
  std::string tokenizer_path;  // tokenizer model file
};

struct ModelDirectory {
  config::v1::EnsembleConfig ensemble;
  std::vector<LoadedModelSpec> models;  // in ensemble.json order
};

// Parses and validates one model.json. NotFound if the file is missing;
// InvalidArgument (naming the file and field) if it is malformed: unknown
// JSON fields, no labels, risk outside 0..1 (or NaN), max_tokens outside
// 1..65536 or without room for BOS/EOS and one token, weight not within
// (0, 1e6], unsupported tokenizer type.
absl::StatusOr<LoadedModelSpec> LoadModelSpec(const std::string& spec_path);

// Reads ensemble.json and every model it lists. Thresholds must satisfy
// 0 < low < medium < high < critical <= 1 and model names must be unique.
absl::StatusOr<ModelDirectory> LoadModelDirectory(const std::string& dir);

}  // namespace lantern::core

#endif  // LANTERN_CORE_MODEL_SPEC_H_
