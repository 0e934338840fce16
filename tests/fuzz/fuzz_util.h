// Helpers shared by the libFuzzer targets in this folder.
#ifndef LANTERN_TESTS_FUZZ_FUZZ_UTIL_H_
#define LANTERN_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"

// A broken invariant is a crash: libFuzzer saves the input that caused it.
// Never prints the input.
#define LANTERN_FUZZ_CHECK(cond)                                      \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                  \
      std::abort();                                                   \
    }                                                                 \
  } while (0)

namespace lantern::fuzz {

// A directory of this process's own, removed at exit.
const std::string& ScratchDir();

// Writes `contents` to `path`, replacing it; aborts on failure.
void WriteFile(const std::string& path, absl::string_view contents);

}  // namespace lantern::fuzz

#endif  // LANTERN_TESTS_FUZZ_FUZZ_UTIL_H_
