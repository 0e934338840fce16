// The only translation unit that includes LibTorch headers.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <malloc.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/model_backend.h"

namespace lantern::core {
namespace {

// Allocations up to this size come from the heap, not from mmap.
constexpr int kMmapThreshold = 32 << 20;

class TorchScriptBackend final : public ModelBackend {
 public:
  explicit TorchScriptBackend(torch::jit::Module module)
      : module_(std::move(module)) {}

  absl::StatusOr<std::vector<std::vector<float>>> Forward(
      const std::vector<std::vector<int64_t>>& rows, int64_t length,
      int64_t pad_id) override {
    // InferenceMode is thread-local, so it is opened on the calling thread.
    c10::InferenceMode guard;
    // Denormal floats take a slow microcode path on x86: with them, one
    // severity pass took 1,989 µs instead of 179 µs on this project's
    // machine. Flush-to-zero lives in each thread's MXCSR register, and
    // passes run on the batchers' threads and on callers' threads, so every
    // calling thread sets it once. Results change only below 1e-38.
    thread_local const bool flushing =
        at::globalContext().setFlushDenormal(true);
    (void)flushing;
    const auto batch = static_cast<int64_t>(rows.size());
    try {
      auto input = torch::full({batch, length}, pad_id, torch::kLong);
      auto mask = torch::zeros({batch, length}, torch::kLong);
      auto* in = input.data_ptr<int64_t>();
      auto* m = mask.data_ptr<int64_t>();
      for (int64_t r = 0; r < batch; ++r) {
        const auto& ids = rows[static_cast<size_t>(r)];
        std::copy(ids.begin(), ids.end(), in + r * length);
        std::fill(m + r * length,
                  m + r * length + static_cast<int64_t>(ids.size()), 1);
      }
      const at::Tensor logits = module_.forward({input, mask})
                                    .toTensor()
                                    .to(torch::kFloat)
                                    .contiguous();
      if (logits.dim() != 2 || logits.size(0) != batch) {
        return absl::InternalError(
            absl::StrCat("model returned a tensor of rank ", logits.dim(),
                         "; expected logits of shape [batch, labels]"));
      }
      const int64_t labels = logits.size(1);
      const float* data = logits.data_ptr<float>();
      std::vector<std::vector<float>> out(static_cast<size_t>(batch));
      for (int64_t r = 0; r < batch; ++r) {
        out[static_cast<size_t>(r)].assign(data + r * labels,
                                           data + (r + 1) * labels);
      }
      return out;
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("forward failed: ", e.what()));
    }
  }

 private:
  torch::jit::Module module_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModelBackend>> LoadTorchScriptBackend(
    const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError(absl::StrCat("model file not found: ", path));
  }
  try {
    torch::jit::Module module = torch::jit::load(path);
    module.eval();
    // Freezing turns parameters into constants and inlines attribute
    // lookups: fewer operator calls per pass (callgrind: -9% instructions
    // per message with the default models, together with the executor
    // choice in ConfigureTorch). No numerics-changing folds, so the logits
    // stay those of the module as trained. A module that cannot be frozen
    // runs as loaded.
    try {
      module =
          torch::jit::freeze(module, c10::nullopt, /*optimize_numerics=*/false);
    } catch (const std::exception& e) {
      const std::string what = e.what();
      LogWarning(absl::StrCat("model ", path,
                              " cannot be frozen, so it runs as loaded: ",
                              what.substr(0, what.find('\n'))));
    }
    return std::make_unique<TorchScriptBackend>(std::move(module));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load TorchScript model ", path, ": ", e.what()));
  }
}

void ConfigureTorch(int intra_op_threads) {
  // The profiling executor re-profiles and re-specialises graphs as input
  // shapes change (every length and batch bucket); the legacy executor
  // optimises once per input signature, which suits a fixed set of warmed
  // shapes and costs fewer instructions per pass.
  torch::jit::getProfilingMode() = false;
  torch::jit::getExecutorMode() = false;
  at::set_num_threads(intra_op_threads);
  // int8 Linear layers (the default encoder's) are packed for the
  // quantized engine when a model loads; scripts/use_lite.py quantizes with
  // oneDNN, the one x86 engine Debian's torch has.
  // glibc serves allocations above its mmap threshold (128 KiB until it
  // adapts) with fresh pages and unmaps them on free, so every pass at
  // batch 8 faulted its activations in anew: the encoder took 2.75 ms a
  // message instead of 0.55 (docs/performance.md). A fixed threshold keeps
  // them in the heap, and stops glibc's own adjustment, which only happens
  // once some large block is freed.
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, 2 * kMmapThreshold);
  const auto& engines = at::globalContext().supportedQEngines();
  if (std::find(engines.begin(), engines.end(), at::QEngine::ONEDNN) !=
      engines.end()) {
    at::globalContext().setQEngine(at::QEngine::ONEDNN);
  }
  // Inter-op threads can only be set once per process; later calls throw.
  try {
    at::set_num_interop_threads(1);
  } catch (const std::exception&) {
  }
}

BlasInfo DescribeBlas() {
  // libtorch links libblas.so.3; the alternatives system decides which
  // implementation that is. The mapped file's path tells.
  BlasInfo info;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (absl::StrContains(path, "libblas.so") ||
        absl::StrContains(path, "libopenblas")) {
      info.library = path;
      break;
    }
  }
  if (info.library.empty()) {
    info.library = "unknown";
  } else {
    // Debian's reference BLAS lives in .../blas/; OpenBLAS in .../openblas-*/.
    info.is_reference = !absl::StrContains(info.library, "openblas") &&
                        !absl::StrContains(info.library, "mkl") &&
                        !absl::StrContains(info.library, "blis");
  }
  return info;
}

}  // namespace lantern::core
