#include "tests/fuzz/fuzz_util.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace lantern::fuzz {
namespace {

class Scratch {
 public:
  Scratch() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "lantern_fuzz_XXXXXX")
            .string();
    LANTERN_FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

const std::string& ScratchDir() {
  static Scratch scratch;  // Destroyed, and removed, at exit.
  return scratch.path();
}

void WriteFile(const std::string& path, absl::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  LANTERN_FUZZ_CHECK(out.good());
}

}  // namespace lantern::fuzz
