// The model.json parser and validator (core::LoadModelSpec), and what the
// engine derives from a spec it accepted: the tokenizer it names
// (core::LoadTokenizer), the length buckets and each message's model input
// (core::LengthBuckets, core::ModelInput).
//
// Input: the contents of model.json. Its folder holds a small WordPiece
// vocab.txt, a small encoder vocab.json and a link to the shipped
// tokenizer.model, so specs naming those load a real tokenizer.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/model_spec.h"
#include "core/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace lantern::fuzz {
namespace {

namespace fs = std::filesystem;

const std::string& SpecDir() {
  static const auto* dir = [] {
    auto* path = new std::string(ScratchDir() + "/spec");
    fs::create_directories(*path);
    WriteFile(*path + "/vocab.txt",
              "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##s\nworld\n");
    WriteFile(
        *path + "/vocab.json",
        R"([["\ufffd", 0], ["<s>", 0], ["</s>", 0], ["r3", 0], ["r4", 0], ["r5", 0],
                  ["\u2581", -2], ["hello", -1], ["\u2581world", -1], ["s", -3]])");
    fs::create_symlink(std::string(LANTERN_FUZZ_MODEL_DIR) + "/tokenizer.model",
                       *path + "/tokenizer.model");
    return path;
  }();
  return *dir;
}

void CheckAccepted(const core::LoadedModelSpec& loaded) {
  const config::v1::ModelSpec& spec = loaded.spec;
  LANTERN_FUZZ_CHECK(!spec.name().empty() && !spec.file().empty());
  LANTERN_FUZZ_CHECK(spec.labels_size() >= 2);
  for (const auto& label : spec.labels()) {
    LANTERN_FUZZ_CHECK(!label.name().empty());
    LANTERN_FUZZ_CHECK(label.risk() >= 0.0f &&
                       label.risk() <= 1.0f);  // false for NaN
  }
  LANTERN_FUZZ_CHECK(std::isfinite(spec.weight()) && spec.weight() > 0.0f);
  LANTERN_FUZZ_CHECK(spec.max_tokens() >= 1);
  LANTERN_FUZZ_CHECK(fs::path(loaded.model_path).is_absolute());
  LANTERN_FUZZ_CHECK(fs::path(loaded.tokenizer_path).is_absolute());

  const std::vector<int64_t> buckets = core::LengthBuckets(spec.max_tokens());
  LANTERN_FUZZ_CHECK(!buckets.empty() && buckets.back() == spec.max_tokens());
  for (size_t i = 1; i < buckets.size(); ++i)
    LANTERN_FUZZ_CHECK(buckets[i - 1] < buckets[i]);

  // Every input fits the model's length, so it fits the padded tensor.
  for (const size_t n : {0, 1, 7, 300}) {
    const std::vector<int64_t> tokens(n, 4);
    const std::vector<int64_t> input = core::ModelInput(spec, tokens);
    LANTERN_FUZZ_CHECK(static_cast<int64_t>(input.size()) <= spec.max_tokens());
  }

  // The tokenizer it names: loads, or fails with a status.
  auto tokenizer = core::LoadTokenizer(spec.tokenizer(), loaded.tokenizer_path);
  if (tokenizer.ok()) {
    const auto ids = (*tokenizer)->Encode("hello worlds");
    LANTERN_FUZZ_CHECK(ids.ok());
  } else {
    const auto code = tokenizer.status().code();
    LANTERN_FUZZ_CHECK(code == absl::StatusCode::kNotFound ||
                       code == absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace lantern::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lantern;
  const std::string path = fuzz::SpecDir() + "/model.json";
  fuzz::WriteFile(path,
                  absl::string_view(reinterpret_cast<const char*>(data), size));
  const absl::StatusOr<core::LoadedModelSpec> loaded =
      core::LoadModelSpec(path);
  if (!loaded.ok()) {
    LANTERN_FUZZ_CHECK(loaded.status().code() ==
                       absl::StatusCode::kInvalidArgument);
    return 0;
  }
  fuzz::CheckAccepted(*loaded);
  return 0;
}
