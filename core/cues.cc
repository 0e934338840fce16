#include "core/cues.h"

#include <utf8proc.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/files.h"

namespace lantern::core {
namespace {

// Lower case, with typographic apostrophes folded to ASCII so "can’t" and
// "can't" match the same phrase. One output code point per input one, so
// positions map back to the caller's text unchanged.
int32_t Fold(int32_t cp) {
  if (cp == 0x2019 || cp == 0x2018 || cp == 0x02BC) return '\'';
  return utf8proc_tolower(cp);
}

bool IsWordChar(int32_t cp) {
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ND:
      return true;
    default:
      return false;
  }
}

bool IsSpace(int32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' ||
         utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS;
}

// Folded code points of valid UTF-8 `text`.
std::vector<int32_t> Decode(absl::string_view text) {
  std::vector<int32_t> out;
  out.reserve(text.size());
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t offset = 0;
  const auto size = static_cast<utf8proc_ssize_t>(text.size());
  while (offset < size) {
    utf8proc_int32_t cp;
    const utf8proc_ssize_t n =
        utf8proc_iterate(bytes + offset, size - offset, &cp);
    if (n <= 0) break;  // Callers pass validated text.
    out.push_back(Fold(cp));
    offset += n;
  }
  return out;
}

}  // namespace

absl::StatusOr<CueMatcher> CueMatcher::Create(const config::v1::CueSet& cues) {
  CueMatcher matcher;
  for (const config::v1::Cue& cue : cues.cues()) {
    if (cue.factor().empty())
      return absl::InvalidArgumentError("every cue needs a factor");
    const int index = static_cast<int>(matcher.factors_.size());
    matcher.factors_.push_back(cue.factor());
    for (const std::string& phrase : cue.phrases()) {
      std::vector<int32_t> folded = Decode(phrase);
      // Collapse the phrase's own whitespace to single spaces.
      std::vector<int32_t> compact;
      for (int32_t cp : folded) {
        if (IsSpace(cp)) {
          if (!compact.empty() && compact.back() != ' ') compact.push_back(' ');
        } else {
          compact.push_back(cp);
        }
      }
      while (!compact.empty() && compact.back() == ' ') compact.pop_back();
      if (compact.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("cue '", cue.factor(), "' has an empty phrase"));
      }
      matcher.by_first_[compact.front()].push_back(
          static_cast<int>(matcher.phrases_.size()));
      matcher.phrases_.push_back({std::move(compact), index});
    }
  }
  return matcher;
}

absl::StatusOr<CueMatcher> CueMatcher::Load(const std::string& path) {
  config::v1::CueSet cues;
  if (absl::Status s = ReadJsonProto(path, &cues); !s.ok()) return s;
  return Create(cues);
}

int CueMatcher::MatchAt(const std::vector<int32_t>& text, size_t pos,
                        const std::vector<int32_t>& phrase) {
  size_t t = pos;
  for (int32_t cp : phrase) {
    if (cp == ' ') {
      if (t >= text.size() || !IsSpace(text[t])) return 0;
      while (t < text.size() && IsSpace(text[t])) ++t;
      continue;
    }
    if (t >= text.size() || text[t] != cp) return 0;
    ++t;
  }
  // Whole words only: the match must not stop inside a word.
  if (IsWordChar(phrase.back()) && t < text.size() && IsWordChar(text[t]))
    return 0;
  return static_cast<int>(t - pos);
}

std::vector<Factor> CueMatcher::Match(absl::string_view text) const {
  const std::vector<int32_t> cps = Decode(text);
  std::vector<std::vector<TextSpan>> spans(factors_.size());
  for (size_t pos = 0; pos < cps.size(); ++pos) {
    auto it = by_first_.find(cps[pos]);
    if (it == by_first_.end()) continue;
    // Whole words only: the match must not start inside a word.
    if (pos > 0 && IsWordChar(cps[pos]) && IsWordChar(cps[pos - 1])) continue;
    for (int index : it->second) {
      const Phrase& phrase = phrases_[static_cast<size_t>(index)];
      const int length = MatchAt(cps, pos, phrase.code_points);
      if (length == 0) continue;
      const TextSpan span{static_cast<int>(pos),
                          static_cast<int>(pos) + length};
      auto& list = spans[static_cast<size_t>(phrase.cue)];
      if (std::find(list.begin(), list.end(), span) == list.end())
        list.push_back(span);
    }
  }
  std::vector<Factor> factors;
  for (size_t i = 0; i < factors_.size(); ++i) {
    if (spans[i].empty()) continue;
    // Longest first at each start, then drop spans inside an earlier one
    // ("pills" inside "have the pills").
    std::sort(spans[i].begin(), spans[i].end(),
              [](const TextSpan& a, const TextSpan& b) {
                return a.start != b.start ? a.start < b.start : a.end > b.end;
              });
    std::vector<TextSpan> kept;
    for (const TextSpan& span : spans[i]) {
      if (kept.empty() || span.end > kept.back().end) kept.push_back(span);
    }
    factors.push_back({factors_[i], "cues", std::move(kept)});
  }
  return factors;
}

}  // namespace lantern::core
