// Finds cue phrases (lantern.config.v1.CueSet) in a message and reports
// where they are, so a verdict can point at its evidence without quoting it.
//
// Matching is case-insensitive (per code point), on whole words (a match
// may not start or end inside a run of letters or digits), and a space in a
// phrase matches any run of whitespace. Spans are [start, end) in Unicode
// code points of the text as the caller sent it. Immutable and thread-safe.
#ifndef LANTERN_CORE_CUES_H_
#define LANTERN_CORE_CUES_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/ensemble.h"
#include "lantern/config/v1/model_spec.pb.h"

namespace lantern::core {

class CueMatcher {
 public:
  // InvalidArgument for a cue without a factor or with an empty phrase.
  static absl::StatusOr<CueMatcher> Create(const config::v1::CueSet& cues);
  // Reads a CueSet JSON file. NotFound / InvalidArgument.
  static absl::StatusOr<CueMatcher> Load(const std::string& path);

  // One Factor (source "cues") per cue with at least one match, in cue-set
  // order, spans ascending; a span inside another of the same cue is
  // dropped. `text` must be valid UTF-8.
  std::vector<Factor> Match(absl::string_view text) const;

  size_t num_phrases() const { return phrases_.size(); }

 private:
  struct Phrase {
    std::vector<int32_t> code_points;  // folded
    int cue = 0;
  };
  CueMatcher() = default;
  // Length in code points of the match of `phrase` at `pos`, or 0.
  static int MatchAt(const std::vector<int32_t>& text, size_t pos,
                     const std::vector<int32_t>& phrase);

  std::vector<std::string> factors_;  // per cue
  std::vector<Phrase> phrases_;
  std::unordered_map<int32_t, std::vector<int>>
      by_first_;  // first cp -> phrases
};

}  // namespace lantern::core

#endif  // LANTERN_CORE_CUES_H_
