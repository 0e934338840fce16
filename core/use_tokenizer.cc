#include "core/use_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/files.h"
#include "google/protobuf/struct.pb.h"

namespace lantern::core {
namespace {

constexpr char kSeparator[] = "\xE2\x96\x81";  // U+2581 "▁"
constexpr int kReservedIds = 6;

struct Piece {
  double score = 0.0;
  int64_t id = 0;
};

// Code points of a string: the UTF-16 length the runtime steps back by.
int Utf16Length(absl::string_view text) {
  int length = 0;
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t offset = 0;
  const auto size = static_cast<utf8proc_ssize_t>(text.size());
  while (offset < size) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n =
        utf8proc_iterate(bytes + offset, size - offset, &cp);
    if (n <= 0) return length + 1;  // Not UTF-8: count the rest as one unit.
    length += cp > 0xFFFF ? 2 : 1;
    offset += n;
  }
  return length;
}

class UseTokenizer final : public Tokenizer {
 public:
  UseTokenizer(absl::flat_hash_map<std::string, Piece> pieces,
               std::vector<int> step_back, int longest_piece)
      : pieces_(std::move(pieces)),
        step_back_(std::move(step_back)),
        longest_piece_(longest_piece) {}

  absl::StatusOr<std::vector<int64_t>> Encode(
      absl::string_view normalized_text) const override {
    if (normalized_text.empty()) return std::vector<int64_t>();
    absl::StatusOr<Input> input = Prepare(normalized_text);
    if (!input.ok()) return input.status();
    return Backtrack(BestLastPieces(*input));
  }

 private:
  // The text as the runtime sees it: a separator first and in place of
  // every space. offsets[i] is the byte offset of code point i; the last
  // entry is the end.
  struct Input {
    std::string text;
    std::vector<size_t> offsets;
    int size() const { return static_cast<int>(offsets.size()) - 1; }
  };

  static absl::StatusOr<Input> Prepare(absl::string_view normalized_text) {
    Input in;
    in.text = kSeparator;
    for (const char c : normalized_text) {
      if (c == ' ') {
        in.text += kSeparator;
      } else {
        in.text += c;
      }
    }
    const auto* bytes =
        reinterpret_cast<const utf8proc_uint8_t*>(in.text.data());
    const auto size = static_cast<utf8proc_ssize_t>(in.text.size());
    for (utf8proc_ssize_t offset = 0; offset < size;) {
      utf8proc_int32_t cp = 0;
      const utf8proc_ssize_t n =
          utf8proc_iterate(bytes + offset, size - offset, &cp);
      if (n <= 0) return absl::InvalidArgumentError("text is not valid UTF-8");
      in.offsets.push_back(static_cast<size_t>(offset));
      offset += n;
    }
    in.offsets.push_back(in.text.size());
    return in;
  }

  // The piece spanning code points [start, end), if the vocabulary has it.
  const Piece* Lookup(const Input& in, int start, int end) const {
    const size_t from = in.offsets[static_cast<size_t>(start)];
    const absl::string_view piece(in.text.data() + from,
                                  in.offsets[static_cast<size_t>(end)] - from);
    auto it = pieces_.find(piece);
    return it == pieces_.end() ? nullptr : &it->second;
  }

  // Where no piece starts, the runtime offers a one-character unknown.
  std::vector<bool> UnknownStarts(const Input& in) const {
    const int n = in.size();
    std::vector<bool> unknown_at(static_cast<size_t>(n), true);
    for (int start = 0; start < n; ++start) {
      for (int end = start + 1; end <= std::min(n, start + longest_piece_);
           ++end) {
        if (Lookup(in, start, end) != nullptr) {
          unknown_at[static_cast<size_t>(start)] = false;
          break;
        }
      }
    }
    return unknown_at;
  }

  // Viterbi over piece scores: for each end position, the id of the last
  // piece of the best segmentation ending there (ties go to the later
  // start, as in the runtime).
  std::vector<int64_t> BestLastPieces(const Input& in) const {
    const int n = in.size();
    const std::vector<bool> unknown_at = UnknownStarts(in);
    std::vector<double> best(static_cast<size_t>(n) + 1, 0.0);
    std::vector<int64_t> words(static_cast<size_t>(n) + 1, 0);
    const Piece unknown;
    for (int end = 1; end <= n; ++end) {
      for (int start = std::max(0, end - longest_piece_); start < end;
           ++start) {
        const Piece* piece = Lookup(in, start, end);
        if (piece == nullptr && end == start + 1 &&
            unknown_at[static_cast<size_t>(start)]) {
          piece = &unknown;
        }
        if (piece == nullptr) continue;
        const double score = piece->score + best[static_cast<size_t>(start)];
        double& current = best[static_cast<size_t>(end)];
        if (current == 0.0 || score >= current) {
          current = score;
          words[static_cast<size_t>(end)] = piece->id;
        }
      }
    }
    return words;
  }

  // Walks back from the end by each piece's UTF-16 length (the runtime's
  // quirk); consecutive unknowns merge into one.
  std::vector<int64_t> Backtrack(const std::vector<int64_t>& words) const {
    std::vector<int64_t> ids;
    for (int at = static_cast<int>(words.size()) - 1; at > 0;
         at -=
         step_back_[static_cast<size_t>(words[static_cast<size_t>(at)])]) {
      const int64_t id = words[static_cast<size_t>(at)];
      if (id == 0 && !ids.empty() && ids.back() == 0) continue;
      ids.push_back(id);
    }
    std::reverse(ids.begin(), ids.end());
    return ids;
  }

  const absl::flat_hash_map<std::string, Piece> pieces_;
  // Per id: the UTF-16 length of its piece (at least 1).
  const std::vector<int> step_back_;
  const int longest_piece_;  // in code points
};

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadUseTokenizer(
    const std::string& vocab_path) {
  google::protobuf::ListValue vocab;
  if (absl::Status read = ReadJsonProto(vocab_path, &vocab); !read.ok())
    return read;
  auto invalid = [&](int id, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(
        vocab_path, ": entry ", id, " ", what, "; expected [piece, score]"));
  };
  if (vocab.values_size() <= kReservedIds)
    return invalid(vocab.values_size(), "is missing");
  absl::flat_hash_map<std::string, Piece> pieces;
  std::vector<int> step_back;
  int longest_piece = 1;
  for (int id = 0; id < vocab.values_size(); ++id) {
    const google::protobuf::Value& entry = vocab.values(id);
    if (!entry.has_list_value() || entry.list_value().values_size() != 2 ||
        !entry.list_value().values(0).has_string_value()) {
      return invalid(id, "is malformed");
    }
    const std::string& piece = entry.list_value().values(0).string_value();
    const google::protobuf::Value& score = entry.list_value().values(1);
    if (score.kind_case() != google::protobuf::Value::kNumberValue &&
        score.kind_case() != google::protobuf::Value::kNullValue) {
      return invalid(id, "has a score that is not a number or null");
    }
    step_back.push_back(std::max(1, Utf16Length(piece)));
    if (id < kReservedIds || piece.empty()) continue;
    // A later duplicate replaces an earlier one, as in the runtime's trie.
    pieces[piece] = Piece{score.number_value(), id};
    // UTF-16 units bound the length in code points from above.
    longest_piece = std::max(longest_piece, step_back.back());
  }
  return std::make_unique<UseTokenizer>(std::move(pieces), std::move(step_back),
                                        longest_piece);
}

}  // namespace lantern::core
