#include "core/wordpiece_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/files.h"
#include "core/status_macros.h"
#include "core/text.h"

namespace lantern::core {
namespace {

constexpr absl::string_view kContinuationPrefix = "##";

// Whitespace as BERT's basic tokenizer sees it. Tab, LF and CR are control
// characters by category but separate words.
bool IsWhitespace(char32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  if (cp < 0x80) return false;
  const utf8proc_category_t cat =
      utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
         cat == UTF8PROC_CATEGORY_ZP;
}

// Characters the basic tokenizer deletes: every "other" category (Cc, Cf,
// Cn, Co, Cs), NUL and the replacement character. Call after IsWhitespace.
bool IsRemoved(char32_t cp) {
  if (cp == 0 || cp == 0xFFFD) return true;
  if (cp >= 0x20 && cp < 0x7F) return false;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
      return true;
    default:
      return false;
  }
}

// CJK Unified Ideographs and their extensions and compatibility blocks:
// the ranges BERT puts spaces around. Hiragana, katakana and hangul are not
// among them.
bool IsCjkIdeograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// ASCII symbols count as punctuation even where Unicode says S* ("$", "+",
// "^", "`" ...), so that they split words the way BERT's vocabularies
// expect.
bool IsPunctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) ||
      (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    return true;
  }
  if (cp < 0x80) return false;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

void AppendUtf8(char32_t cp, std::string* out) {
  utf8proc_uint8_t buf[4];
  const utf8proc_ssize_t n =
      utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  out->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

void LowerCase(std::u32string* word) {
  std::u32string out;
  out.reserve(word->size());
  for (char32_t cp : *word) {
    if (cp < 0x80) {
      out.push_back(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
    } else if (cp == 0x130) {
      // LATIN CAPITAL LETTER I WITH DOT ABOVE: its full lower-case mapping
      // (the one Python and Rust use) keeps the dot as a combining mark.
      out.push_back('i');
      out.push_back(0x307);
    } else {
      out.push_back(static_cast<char32_t>(
          utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
  }
  *word = std::move(out);
}

// Canonical decomposition with the non-spacing marks dropped. Canonical
// reordering is skipped: it only moves combining marks, and the marks it
// could move relative to each other are almost all Mn, which are dropped.
void StripAccents(std::u32string* word) {
  std::u32string out;
  out.reserve(word->size());
  for (char32_t cp : *word) {
    if (cp < 0x80) {
      out.push_back(cp);
      continue;
    }
    utf8proc_int32_t parts[8];
    utf8proc_ssize_t n =
        utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), parts, 8,
                                UTF8PROC_DECOMPOSE, nullptr);
    if (n < 0 || n > 8) {  // Cannot happen for a valid code point; keep it.
      parts[0] = static_cast<utf8proc_int32_t>(cp);
      n = 1;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) {
      if (utf8proc_category(parts[i]) != UTF8PROC_CATEGORY_MN) {
        out.push_back(static_cast<char32_t>(parts[i]));
      }
    }
  }
  *word = std::move(out);
}

}  // namespace

absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::Load(
    const std::string& vocab_path, WordPieceOptions options) {
  LANTERN_ASSIGN_OR_RETURN(const std::string contents, ReadFile(vocab_path));
  std::vector<std::string> vocab;
  size_t begin = 0;
  while (begin < contents.size()) {
    size_t end = contents.find('\n', begin);
    if (end == std::string::npos) end = contents.size();
    absl::string_view line(contents.data() + begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    vocab.emplace_back(line);
    begin = end + 1;
  }
  auto tokenizer = FromVocab(vocab, std::move(options));
  if (!tokenizer.ok()) {
    return absl::Status(
        tokenizer.status().code(),
        absl::StrCat(vocab_path, ": ", tokenizer.status().message()));
  }
  return tokenizer;
}

absl::StatusOr<std::unique_ptr<WordPieceTokenizer>>
WordPieceTokenizer::FromVocab(const std::vector<std::string>& vocab,
                              WordPieceOptions options) {
  if (vocab.empty())
    return absl::InvalidArgumentError("the vocabulary is empty");
  if (options.max_chars_per_word < 1) {
    return absl::InvalidArgumentError("max_chars_per_word must be >= 1");
  }
  if (options.unk_token.empty()) options.unk_token = "[UNK]";
  std::unique_ptr<WordPieceTokenizer> tokenizer(
      new WordPieceTokenizer(std::move(options), 0));
  tokenizer->vocab_size_ = static_cast<int64_t>(vocab.size());
  for (size_t id = 0; id < vocab.size(); ++id) {
    absl::string_view entry = vocab[id];
    // insert_or_assign: a repeated entry keeps its last id.
    if (entry.size() > kContinuationPrefix.size() &&
        entry.substr(0, kContinuationPrefix.size()) == kContinuationPrefix) {
      entry.remove_prefix(kContinuationPrefix.size());
      tokenizer->continuations_.insert_or_assign(std::string(entry),
                                                 static_cast<int64_t>(id));
      tokenizer->max_continuation_chars_ =
          std::max(tokenizer->max_continuation_chars_, CountCodePoints(entry));
    }
    // Every entry, "##" ones included, can also match a whole word (such a
    // word never reaches WordPiece: "#" is punctuation).
    tokenizer->starts_.insert_or_assign(vocab[id], static_cast<int64_t>(id));
    tokenizer->max_start_chars_ =
        std::max(tokenizer->max_start_chars_, CountCodePoints(vocab[id]));
  }
  const std::optional<int64_t> unk =
      tokenizer->TokenId(tokenizer->options_.unk_token);
  if (!unk.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the unknown token '", tokenizer->options_.unk_token,
                     "' is not in the vocabulary"));
  }
  tokenizer->unk_id_ = *unk;
  return tokenizer;
}

std::optional<int64_t> WordPieceTokenizer::TokenId(
    absl::string_view token) const {
  const auto it = starts_.find(token);
  if (it == starts_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::vector<int64_t>> WordPieceTokenizer::Encode(
    absl::string_view text) const {
  std::vector<int64_t> ids;
  LANTERN_RETURN_IF_ERROR(Run(text, &ids, nullptr));
  return ids;
}

absl::StatusOr<std::vector<std::string>> WordPieceTokenizer::Tokenize(
    absl::string_view text) const {
  std::vector<int64_t> ids;
  std::vector<std::string> pieces;
  LANTERN_RETURN_IF_ERROR(Run(text, &ids, &pieces));
  return pieces;
}

absl::Status WordPieceTokenizer::Run(absl::string_view text,
                                     std::vector<int64_t>* ids,
                                     std::vector<std::string>* pieces) const {
  LANTERN_RETURN_IF_ERROR(ValidateUtf8(text, "text"));
  std::u32string word;
  const auto flush = [&] {
    if (word.empty()) return;
    AddWord(word, ids, pieces);
    word.clear();
  };
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  size_t offset = 0;
  while (offset < text.size()) {
    utf8proc_int32_t cp32;
    offset += static_cast<size_t>(utf8proc_iterate(
        bytes + offset, static_cast<utf8proc_ssize_t>(text.size() - offset),
        &cp32));
    const auto cp = static_cast<char32_t>(cp32);
    if (IsWhitespace(cp)) {
      flush();
    } else if (IsRemoved(cp)) {
      continue;
    } else if (IsCjkIdeograph(cp)) {
      flush();
      word.push_back(cp);
      flush();
    } else {
      word.push_back(cp);
    }
  }
  flush();
  return absl::OkStatus();
}

// One whitespace-delimited word: case and accents, then punctuation splits.
void WordPieceTokenizer::AddWord(const std::u32string& raw,
                                 std::vector<int64_t>* ids,
                                 std::vector<std::string>* pieces) const {
  std::u32string word = raw;
  if (options_.lowercase) LowerCase(&word);
  if (options_.strip_accents) StripAccents(&word);
  std::u32string run;
  for (char32_t cp : word) {
    if (!IsPunctuation(cp)) {
      run.push_back(cp);
      continue;
    }
    if (!run.empty()) AddWordPieces(run, ids, pieces);
    run.assign(1, cp);
    AddWordPieces(run, ids, pieces);
    run.clear();
  }
  if (!run.empty()) AddWordPieces(run, ids, pieces);
}

// Greedy longest-match-first split of one word into vocabulary entries.
void WordPieceTokenizer::AddWordPieces(const std::u32string& word,
                                       std::vector<int64_t>* ids,
                                       std::vector<std::string>* pieces) const {
  const auto add_unknown = [&] {
    ids->push_back(unk_id_);
    if (pieces != nullptr) pieces->push_back(options_.unk_token);
  };
  if (word.size() > static_cast<size_t>(options_.max_chars_per_word)) {
    add_unknown();
    return;
  }
  // UTF-8 of the word and the byte offset of every code point, so that each
  // candidate is a string_view lookup with no allocation.
  std::string utf8;
  std::vector<size_t> offsets;
  offsets.reserve(word.size() + 1);
  for (char32_t cp : word) {
    offsets.push_back(utf8.size());
    AppendUtf8(cp, &utf8);
  }
  offsets.push_back(utf8.size());

  const size_t first_id = ids->size();
  const size_t first_piece = pieces != nullptr ? pieces->size() : 0;
  size_t start = 0;
  while (start < word.size()) {
    const bool first = start == 0;
    const auto& entries = first ? starts_ : continuations_;
    const size_t longest = first ? max_start_chars_ : max_continuation_chars_;
    bool found = false;
    for (size_t end = std::min(word.size(), start + longest); end > start;
         --end) {
      const absl::string_view candidate(utf8.data() + offsets[start],
                                        offsets[end] - offsets[start]);
      const auto it = entries.find(candidate);
      if (it == entries.end()) continue;
      ids->push_back(it->second);
      if (pieces != nullptr) {
        pieces->push_back(first ? std::string(candidate)
                                : absl::StrCat(kContinuationPrefix, candidate));
      }
      start = end;
      found = true;
      break;
    }
    if (!found) {
      // The whole word is unknown, not just the rest of it.
      ids->resize(first_id);
      if (pieces != nullptr) pieces->resize(first_piece);
      add_unknown();
      return;
    }
  }
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadWordPieceTokenizer(
    const config::v1::TokenizerSpec& spec, const std::string& vocab_path) {
  WordPieceOptions options;
  options.lowercase = spec.lowercase();
  options.strip_accents =
      spec.has_strip_accents() ? spec.strip_accents() : spec.lowercase();
  if (!spec.unk_token().empty()) options.unk_token = spec.unk_token();
  LANTERN_ASSIGN_OR_RETURN(
      auto tokenizer, WordPieceTokenizer::Load(vocab_path, std::move(options)));
  const int64_t size = tokenizer->vocab_size();
  if (spec.pad_id() < 0 || spec.pad_id() >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat(vocab_path, ": pad_id ", spec.pad_id(),
                     " is outside the vocabulary (", size, " entries)"));
  }
  for (const auto& [name, id] :
       {std::pair<const char*, int64_t>{"bos_id", spec.bos_id()},
        std::pair<const char*, int64_t>{"eos_id", spec.eos_id()}}) {
    if (id >= size) {
      return absl::InvalidArgumentError(
          absl::StrCat(vocab_path, ": ", name, " ", id,
                       " is outside the vocabulary (", size, " entries)"));
    }
  }
  return std::unique_ptr<Tokenizer>(std::move(tokenizer));
}

}  // namespace lantern::core
