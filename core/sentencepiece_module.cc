// liblantern_sentencepiece.so: a C interface over libsentencepiece, loaded
// with dlmopen(LM_ID_NEWLM) by sentencepiece_model.cc.
//
// Why: Debian's libsentencepiece carries its own protobuf-lite 3.14 and
// exports those symbols. In a process that also loads libprotobuf 3.21 (gRPC,
// libtorch) one copy's symbols bind to the other's code and the process
// crashes or fails protobuf's version check. dlmopen(LM_ID_NEWLM) loads this
// module into a link-map namespace of its own, with its own copies of
// libsentencepiece, libstdc++ and libc, so libsentencepiece's protobuf
// symbols never meet ours. (RTLD_DEEPBIND did the same job, but
// AddressSanitizer and ThreadSanitizer refuse to run a process that uses it.)
// No other Lantern code may link libsentencepiece.
//
// Rules that keep the two namespaces apart: only plain buffers cross this
// interface (memory is allocated and freed on the side that owns it: the
// model handle here by lantern_spm_load/lantern_spm_free, the text and id
// buffers by the caller), and no C++ exception leaves it. The module is
// built without sanitizer or fuzzer instrumentation: their runtimes live in
// the main namespace only.
#include <sentencepiece_processor.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

extern "C" {

// Returns a model handle, or nullptr with a message in `error`.
__attribute__((visibility("default"))) void* lantern_spm_load(
    const char* path, char* error, size_t error_size) {
  try {
    auto processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = processor->Load(path);
    if (!status.ok()) {
      std::snprintf(error, error_size, "%s", status.ToString().c_str());
      return nullptr;
    }
    return processor.release();
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "%s", e.what());
    return nullptr;
  }
}

// Encodes `text` into at most `capacity` ids. Returns SentencePiece's status
// code (0 = OK) and the full number of ids in `*count`; when that exceeds
// `capacity` the caller retries with a larger buffer.
__attribute__((visibility("default"))) int lantern_spm_encode(
    const void* model, const char* text, size_t length, int* ids,
    size_t capacity, size_t* count) {
  const auto* processor =
      static_cast<const sentencepiece::SentencePieceProcessor*>(model);
  std::vector<int> out;
  const auto status = processor->Encode(std::string(text, length), &out);
  *count = out.size();
  if (status.ok() && out.size() <= capacity && !out.empty()) {
    std::memcpy(ids, out.data(), out.size() * sizeof(int));
  }
  return static_cast<int>(status.code());
}

__attribute__((visibility("default"))) void lantern_spm_free(void* model) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(model);
}

}  // extern "C"
