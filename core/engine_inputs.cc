// What the engine checks and feeds its models, apart from the engine
// itself: its options, a message's fields, the ids a model gets, the
// sequence lengths it runs at. See core/engine.h.
#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/engine.h"
#include "core/status_macros.h"
#include "core/text.h"

namespace lantern::core {
namespace {

constexpr size_t kMaxIdBytes = 256;

}  // namespace

absl::Status ValidateEngineOptions(const EngineOptions& o) {
  if (o.model_dir.empty())
    return absl::InvalidArgumentError("model dir is empty");
  // Named as the server's flags name them, in words.
  for (auto [value, least, name] : {std::tuple{o.worker_threads, 1, "threads"},
                                    {o.torch_threads, 1, "torch threads"},
                                    {o.handles, 0, "handles"},
                                    {o.max_queue, 1, "max queue"},
                                    {o.batching.max_batch, 1, "max batch"},
                                    {o.warmup_runs, 1, "warm-up runs"},
                                    {o.cache_entries, 0, "cache entries"}}) {
    if (value < least) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be >= ", least, ", got ", value));
    }
  }
  if (o.max_message_chars < 1 || o.max_message_chars > kMaxMessageCharsLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max message chars must be 1..", kMaxMessageCharsLimit,
                     ", got ", o.max_message_chars));
  }
  if (o.batching.max_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch delay must be >= 0, got ",
                     absl::FormatDuration(o.batching.max_delay)));
  }
  return o.context.Validate();
}

std::vector<int64_t> LengthBuckets(int64_t max_tokens) {
  std::vector<int64_t> buckets;
  for (int64_t b = 8; b < max_tokens; b *= 2) buckets.push_back(b);
  buckets.push_back(max_tokens);
  return buckets;
}

std::vector<int64_t> ModelInput(const config::v1::ModelSpec& spec,
                                const std::vector<int64_t>& tokens) {
  const auto& tok = spec.tokenizer();
  const int64_t max_tokens = spec.max_tokens();
  std::vector<int64_t> ids;
  ids.reserve(std::min(static_cast<size_t>(max_tokens), tokens.size() + 2));
  if (tok.bos_id() >= 0) ids.push_back(tok.bos_id());
  const int64_t room = max_tokens - static_cast<int64_t>(ids.size()) -
                       (tok.eos_id() >= 0 ? 1 : 0);
  const size_t keep =
      std::min(tokens.size(), static_cast<size_t>(std::max<int64_t>(room, 0)));
  ids.insert(ids.end(), tokens.begin(),
             tokens.begin() + static_cast<long>(keep));
  if (tok.eos_id() >= 0) ids.push_back(tok.eos_id());
  return ids;
}

absl::StatusOr<std::string> ValidateMessage(const Message& message,
                                            int max_chars) {
  LANTERN_RETURN_IF_ERROR(ValidateUtf8(message.id, "message.id"));
  if (message.id.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("message.id is ", message.id.size(),
                     " bytes; the limit is ", kMaxIdBytes));
  }
  LANTERN_RETURN_IF_ERROR(ValidateUtf8(message.user_id, "message.user_id"));
  LANTERN_RETURN_IF_ERROR(
      ValidateUtf8(message.channel_id, "message.channel_id"));
  LANTERN_RETURN_IF_ERROR(ValidateUtf8(message.text, "message.text"));
  if (message.text.empty()) {
    return absl::InvalidArgumentError("message.text is empty");
  }
  const size_t chars = CountCodePoints(message.text);
  if (chars > static_cast<size_t>(max_chars)) {
    return absl::InvalidArgumentError(
        absl::StrCat("message.text is ", chars,
                     " characters long; the limit is ", max_chars));
  }
  LANTERN_ASSIGN_OR_RETURN(std::string normalized, NormalizeText(message.text));
  if (normalized.empty()) {
    return absl::InvalidArgumentError(
        "message.text has no visible characters (only whitespace or control "
        "characters)");
  }
  return normalized;
}

}  // namespace lantern::core
