// Loading messages and the seeded sequence; see bench_messages.h.
#include "client/bench_messages.h"

#include <algorithm>
#include <fstream>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace lantern::client {
namespace {

constexpr size_t kSequenceLength = 65536;

}  // namespace

absl::StatusOr<std::vector<std::string>> LoadBenchMessages(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<std::string> messages;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    google::protobuf::Struct object;
    const auto status =
        google::protobuf::util::JsonStringToMessage(line, &object);
    auto it = object.fields().find("text");
    if (!status.ok() || it == object.fields().end() ||
        !it->second.has_string_value() || it->second.string_value().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " line ", number,
          " is not a JSON object with a non-empty string \"text\""));
    }
    messages.push_back(it->second.string_value());
  }
  if (messages.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " has no messages"));
  }
  return messages;
}

BenchSequence::BenchSequence(std::vector<std::string> messages,
                             double repeat_fraction, uint64_t seed,
                             bool verbatim)
    : messages_(std::move(messages)),
      verbatim_(verbatim),
      offset_(std::random_device()()) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  const uint32_t n = static_cast<uint32_t>(messages_.size());
  const uint32_t hot = std::min<uint32_t>(kHotSetSize, n);
  std::uniform_int_distribution<uint32_t> any(0, n - 1);
  std::uniform_int_distribution<uint32_t> any_hot(0, hot - 1);
  order_.reserve(kSequenceLength);
  hot_.reserve(kSequenceLength);
  for (size_t i = 0; i < kSequenceLength; ++i) {
    const bool hot = coin(rng) < repeat_fraction;
    order_.push_back(hot ? any_hot(rng) : any(rng));
    hot_.push_back(hot);
  }
}

std::string BenchSequence::At(int64_t i) const {
  const size_t k = static_cast<size_t>(i) % order_.size();
  const std::string& text = messages_[order_[k]];
  if (verbatim_ || hot_[k]) return text;
  // Four syllables of 15 consonants x 5 vowels: 31.6 million handles. Two
  // runs that happen to share handles still pair them with other texts.
  static constexpr char kConsonants[] = "bdfghklmnprstvz";
  static constexpr char kVowels[] = "aeiou";
  uint64_t n = offset_ + static_cast<uint64_t>(i);
  std::string handle = "@";
  for (int s = 0; s < 4; ++s) {
    handle.push_back(kConsonants[n % 15]);
    n /= 15;
    handle.push_back(kVowels[n % 5]);
    n /= 5;
  }
  return absl::StrCat(handle, " ", text);
}

absl::StatusOr<BenchSequence> MakeBenchSequence(const BenchOptions& options) {
  std::vector<std::string> messages;
  if (options.messages_file.empty()) {
    messages = BuiltinBenchMessages();
  } else {
    absl::StatusOr<std::vector<std::string>> loaded =
        LoadBenchMessages(options.messages_file);
    if (!loaded.ok()) return loaded.status();
    messages = *std::move(loaded);
  }
  return BenchSequence(std::move(messages), options.repeat_fraction,
                       options.seed, options.verbatim);
}

}  // namespace lantern::client
