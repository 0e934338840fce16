// The messages a benchmark sends: the built-in mix, a file of JSON lines
// instead, and the fixed, seeded sequence drawn from either.
#ifndef LANTERN_CLIENT_BENCH_MESSAGES_H_
#define LANTERN_CLIENT_BENCH_MESSAGES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/bench_options.h"

namespace lantern::client {

// The built-in message mix: everyday chat lines of many lengths (greetings,
// games, work, plans, a few in other languages and with emoji) plus a small
// share of distressed and crisis messages. Written for this project. The
// first kHotSetSize entries are the short lines chat repeats most.
const std::vector<std::string>& BuiltinBenchMessages();
inline constexpr int kHotSetSize = 16;

// Reads JSON lines with a string "text" field (other fields are ignored;
// blank lines skipped). NotFound if the file cannot be opened;
// InvalidArgument naming the line number (never its text) when a line is not
// a JSON object with a non-empty "text"; InvalidArgument if there are none.
absl::StatusOr<std::vector<std::string>> LoadBenchMessages(
    const std::string& path);

// A fixed, seeded sequence of message texts. Element i is drawn from the
// hot set (the first min(kHotSetSize, size) messages) with probability
// `repeat_fraction`, else uniformly from the whole list; the choices repeat
// after 65,536 elements. Unless `verbatim`, an element not drawn from the
// hot set is addressed to a user, as chat replies often are: "@" + a
// pronounceable four-syllable handle numbering i from a random offset drawn
// once per sequence (e.g. "@kamirote "), so that it is distinct from every
// other element, also (with near certainty) from those of earlier runs
// against the same server: hot messages repeat exactly, the others do not.
// Element 0 is the first request's; BenchPlan hands out 1, 2, ...
// Immutable after construction: thread-safe.
class BenchSequence {
 public:
  // `messages` must not be empty.
  BenchSequence(std::vector<std::string> messages, double repeat_fraction,
                uint64_t seed, bool verbatim = false);
  std::string At(int64_t i) const;
  size_t size() const { return messages_.size(); }

 private:
  std::vector<std::string> messages_;
  std::vector<uint32_t> order_;
  std::vector<bool> hot_;
  bool verbatim_;
  uint64_t offset_;  // of the handles' numbers
};

// The sequence `options` asks for: the messages of options.messages_file
// (the built-in mix when empty) with its repeat fraction, seed and verbatim
// flag. Errors are LoadBenchMessages'.
absl::StatusOr<BenchSequence> MakeBenchSequence(const BenchOptions& options);

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_BENCH_MESSAGES_H_
