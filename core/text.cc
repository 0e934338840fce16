#include "core/text.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"

namespace lantern::core {
namespace {

// Code points treated as whitespace after NFKC: tab, LF, VT, FF, CR, NEL and
// the Unicode separator categories (Zs, Zl, Zp).
bool IsSpace(utf8proc_int32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == 0x0B || cp == 0x0C || cp == '\r' ||
      cp == 0x85) {
    return true;
  }
  const utf8proc_category_t cat = utf8proc_category(cp);
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
         cat == UTF8PROC_CATEGORY_ZP;
}

// Control (Cc) and format (Cf) characters carry no meaning for the models.
bool IsInvisible(utf8proc_int32_t cp) {
  const utf8proc_category_t cat = utf8proc_category(cp);
  return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF;
}

const utf8proc_uint8_t* Bytes(absl::string_view s) {
  return reinterpret_cast<const utf8proc_uint8_t*>(s.data());
}

}  // namespace

absl::Status ValidateUtf8(absl::string_view text, absl::string_view field) {
  size_t offset = 0;
  while (offset < text.size()) {
    utf8proc_int32_t cp;
    const utf8proc_ssize_t n = utf8proc_iterate(
        Bytes(text) + offset,
        static_cast<utf8proc_ssize_t>(text.size() - offset), &cp);
    if (n <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " is not valid UTF-8 (bad byte sequence at byte ",
                       offset, " of ", text.size(), ")"));
    }
    offset += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

size_t CountCodePoints(absl::string_view text) {
  size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80)
      ++count;  // Count every byte that starts a sequence.
  }
  return count;
}

absl::string_view PrefixOfCodePoints(absl::string_view text,
                                     size_t max_code_points) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80 && count++ == max_code_points)
      return text.substr(0, i);
  }
  return text;
}

std::string DropExcessCombiningMarks(absl::string_view text) {
  std::string out;
  int run = 0;
  size_t kept_until = 0;  // text[kept_until, at) is still to be copied
  const auto size = static_cast<utf8proc_ssize_t>(text.size());
  for (utf8proc_ssize_t at = 0; at < size;) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n =
        utf8proc_iterate(Bytes(text) + at, size - at, &cp);
    if (n <= 0) break;  // Callers validate first.
    run = utf8proc_get_property(cp)->combining_class == 0 ? 0 : run + 1;
    if (run > kMaxCombiningMarks) {
      absl::StrAppend(
          &out, text.substr(kept_until, static_cast<size_t>(at) - kept_until));
      kept_until = static_cast<size_t>(at + n);
    }
    at += n;
  }
  if (kept_until == 0) return std::string(text);
  absl::StrAppend(&out, text.substr(kept_until));
  return out;
}

absl::StatusOr<std::string> NormalizeText(absl::string_view raw) {
  if (auto status = ValidateUtf8(raw, "text"); !status.ok()) return status;
  if (raw.empty()) return std::string();
  // NFKC sorts each run of combining marks; a run of thousands costs
  // quadratic time (55 ms for 4,096 alternating marks). Runs are cut first.
  const std::string text = DropExcessCombiningMarks(raw);

  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t len = utf8proc_map(
      Bytes(text), static_cast<utf8proc_ssize_t>(text.size()), &mapped,
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                     UTF8PROC_COMPAT));
  if (len < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("text cannot be normalised: ", utf8proc_errmsg(len)));
  }
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped,
                                                                &std::free);

  std::string out;
  out.reserve(static_cast<size_t>(len));
  bool pending_space = false;
  utf8proc_ssize_t offset = 0;
  while (offset < len) {
    utf8proc_int32_t cp;
    offset += utf8proc_iterate(mapped + offset, len - offset, &cp);
    if (IsSpace(cp)) {
      pending_space = !out.empty();
      continue;
    }
    if (IsInvisible(cp)) continue;
    if (pending_space) out.push_back(' ');
    pending_space = false;
    utf8proc_uint8_t buf[4];
    const utf8proc_ssize_t n = utf8proc_encode_char(cp, buf);
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
  }
  return out;
}

}  // namespace lantern::core
