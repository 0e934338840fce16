// BERT-style WordPiece tokenization from a vocab.txt, for users' own models.
//
// Reproduces what Hugging Face's BERT tokenizers do with a WordPiece vocab
// (the fast, Rust one where the two differ), in two stages:
//
// 1. Basic tokenization, per code point of the input:
//    - U+0000, U+FFFD and every "other" character (categories Cc, Cf, Cn, Co,
//      Cs) except tab, LF and CR are removed;
//    - whitespace (space, tab, LF, CR, Zs, Zl, Zp) separates words;
//    - each CJK ideograph (the BERT ranges: U+4E00..9FFF, U+3400..4DBF,
//      U+20000..2A6DF, U+2A700..2CEAF, U+F900..FAFF, U+2F800..2FA1F) is a
//      word of its own;
//    - then each word is lower-cased (simple case mapping per code point;
//      U+0130 becomes "i" + U+0307 as in full case mapping) if `lowercase`,
//      has its accents stripped (canonical decomposition, then every
//      non-spacing mark, category Mn, dropped) if `strip_accents`, and is
//      split so that every punctuation character (ASCII !../:..@/[..`/{..~
//      or any category P*) is a word of its own.
// 2. WordPiece: each word is split greedily, longest match first, into
//    vocabulary entries; pieces after the first are looked up with the "##"
//    prefix. A word that cannot be split completely, or that is longer than
//    `max_chars_per_word` code points, becomes the single unknown token.
//
// Known differences from Hugging Face, all deliberate or negligible:
// - Special-token strings in the text ("[SEP]", "[CLS]", ...) are tokenized
//   as ordinary text: a chat message must not be able to inject them.
// - Python's slow BertTokenizer lower-cases a Greek capital sigma at the end
//   of a word to final sigma; the fast tokenizer and this class do not.
// - Unicode tables are utf8proc's (Unicode 15); Python's may be older, so
//   characters assigned since then may be classified differently.
//
// The engine feeds this class normalised text (core/text.h: NFKC, control
// and format characters removed, whitespace collapsed). For ordinary text
// that gives the same tokens as the raw text; compatibility characters are
// the exception: full-width letters, ligatures, superscripts and "…" (U+2026,
// which NFKC turns into three full stops) reach the vocabulary in their NFKC
// form. docs/models.md lists this.
#ifndef LANTERN_CORE_WORDPIECE_TOKENIZER_H_
#define LANTERN_CORE_WORDPIECE_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tokenizer.h"
#include "lantern/config/v1/model_spec.pb.h"

namespace lantern::core {

struct WordPieceOptions {
  // Lower-case every word before splitting it.
  bool lowercase = false;
  // Decompose and drop non-spacing marks ("café" -> "cafe").
  bool strip_accents = false;
  // Vocabulary entry used for words that cannot be split; must exist.
  std::string unk_token = "[UNK]";
  // Longer words (in code points, after lower-casing and accent stripping)
  // become the unknown token.
  int max_chars_per_word = 100;
};

// Immutable once created; Encode and Tokenize may run on many threads at
// once.
class WordPieceTokenizer final : public Tokenizer {
 public:
  // Reads a vocab.txt: one entry per line, the id is the 0-based line number
  // (a trailing CR is ignored; a repeated entry keeps its last id, as
  // Hugging Face does). NotFound if the file cannot be read; InvalidArgument
  // if it is empty, the unknown token is missing, or an option is out of
  // range.
  static absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> Load(
      const std::string& vocab_path, WordPieceOptions options);

  // Same, from the entries themselves (id = index).
  static absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> FromVocab(
      const std::vector<std::string>& vocab, WordPieceOptions options);

  // Ids of `text`'s pieces, without special tokens. InvalidArgument if
  // `text` is not valid UTF-8 (the message never contains the text).
  absl::StatusOr<std::vector<int64_t>> Encode(
      absl::string_view text) const override;

  // The pieces themselves ("##" marks continuations), for tests and tools.
  absl::StatusOr<std::vector<std::string>> Tokenize(
      absl::string_view text) const;

  // Number of ids (lines of the vocabulary).
  int64_t vocab_size() const { return vocab_size_; }
  // Id of a vocabulary entry, if present.
  std::optional<int64_t> TokenId(absl::string_view token) const;

 private:
  WordPieceTokenizer(WordPieceOptions options, int64_t unk_id)
      : options_(std::move(options)), unk_id_(unk_id) {}

  absl::Status Run(absl::string_view text, std::vector<int64_t>* ids,
                   std::vector<std::string>* pieces) const;
  void AddWord(const std::u32string& word, std::vector<int64_t>* ids,
               std::vector<std::string>* pieces) const;
  void AddWordPieces(const std::u32string& word, std::vector<int64_t>* ids,
                     std::vector<std::string>* pieces) const;

  WordPieceOptions options_;
  int64_t unk_id_ = 0;
  int64_t vocab_size_ = 0;
  // Entries that may start a word, and "##" entries without the prefix.
  absl::flat_hash_map<std::string, int64_t> starts_;
  absl::flat_hash_map<std::string, int64_t> continuations_;
  // Longest entry of each map in code points: bounds the greedy search.
  size_t max_start_chars_ = 0;
  size_t max_continuation_chars_ = 0;
};

// Builds a WordPieceTokenizer for a spec of type "wordpiece": `vocab_path`
// is spec.model resolved; strip_accents defaults to lowercase when unset,
// unk_token to "[UNK]". Besides Load's errors, InvalidArgument if pad_id,
// bos_id or eos_id is outside the vocabulary.
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadWordPieceTokenizer(
    const config::v1::TokenizerSpec& spec, const std::string& vocab_path);

}  // namespace lantern::core

#endif  // LANTERN_CORE_WORDPIECE_TOKENIZER_H_
