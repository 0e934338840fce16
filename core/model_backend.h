// One loaded copy of a classifier: the unit a ModelPool leases out.
#ifndef LANTERN_CORE_MODEL_BACKEND_H_
#define LANTERN_CORE_MODEL_BACKEND_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace lantern::core {

// Not thread-safe: one caller at a time, which ModelPool's leases guarantee.
class ModelBackend {
 public:
  virtual ~ModelBackend() = default;
  // Runs the classifier on a batch: one row per entry of `rows`, each
  // holding real tokens and padded with `pad_id` up to `length` (every row's
  // size <= length; the attention mask marks the real tokens). Returns one
  // logits vector per row, in order. Internal on failure.
  virtual absl::StatusOr<std::vector<std::vector<float>>> Forward(
      const std::vector<std::vector<int64_t>>& rows, int64_t length,
      int64_t pad_id) = 0;
};

// Loads the file at `path` into a new backend. Used so tests can load fakes.
using BackendLoader =
    std::function<absl::StatusOr<std::unique_ptr<ModelBackend>>(
        const std::string& path)>;

// TorchScript loader (core/torch_backend.cc): NotFound if the file is
// missing, InvalidArgument if torch cannot load it. Calls eval() and
// freezes the module when it can be frozen.
absl::StatusOr<std::unique_ptr<ModelBackend>> LoadTorchScriptBackend(
    const std::string& path);

// Process-wide settings for running models: torch's intra-op thread count
// (inter-op 1), the TorchScript graph executor (the legacy one, without
// shape profiling), the quantized engine (oneDNN) for int8 models, and
// glibc's mmap and trim thresholds (32 and 64 MiB), so that activations are
// not mapped and unmapped on every pass.
// Call once, before loading any model.
void ConfigureTorch(int intra_op_threads);

// Which BLAS library libtorch is using, e.g. the resolved path of
// libblas.so.3, and whether it is the slow reference implementation.
struct BlasInfo {
  std::string library;
  bool is_reference = false;
};
BlasInfo DescribeBlas();

}  // namespace lantern::core

#endif  // LANTERN_CORE_MODEL_BACKEND_H_
