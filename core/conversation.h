// Conversation context: reading a message in the light of the same person's
// recent messages in the same channel.
//
// What is remembered of a message: when it was sent and its score
// (Verdict::score, before context). Never its text. People are keyed by a
// salted 128-bit digest of (channel_id, user_id) (MakeKey in
// core/result_cache.h), so the ids themselves are not kept either.
//
// The rules (ContextRules::Evaluate) are pure: the stream path (a
// ContextStore per stream, or one shared by all streams) and the unary path
// (history sent by the caller) both call them, so the same message with the
// same history gets the same verdict over either RPC.
#ifndef LANTERN_CORE_CONVERSATION_H_
#define LANTERN_CORE_CONVERSATION_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/ensemble.h"
#include "core/result_cache.h"

namespace lantern::core {

struct ContextOptions {
  // Earlier messages considered (and remembered) per person: the latest
  // `max_messages` sent within `window` before the message at hand.
  int max_messages = 16;
  absl::Duration window = absl::Hours(24);
  // People one ContextStore remembers; the least recently seen is forgotten
  // first.
  int max_people = 1024;

  // InvalidArgument when a bound is below 1 or above its cap (max_messages
  // 256, window 7 days, max_people 1,000,000).
  absl::Status Validate() const;
};

// One earlier message of a person.
struct PriorScore {
  absl::Time sent;
  float score = 0.0f;
};

enum class Trend { kUnspecified = 0, kRising, kSteady, kFalling };

struct ConversationContext {
  // Earlier messages considered.
  int prior_messages = 0;
  // The level of the message on its own, and after the rules.
  Level message_level = Level::kUnspecified;
  Level level = Level::kUnspecified;
  Trend trend = Trend::kUnspecified;
  float trend_slope = 0.0f;  // score per message
  float peak_score = 0.0f;
  absl::Duration since_peak;
  // The context in words; never message content.
  std::vector<std::string> factors;
  // Why `level` is above `message_level`; empty when it is not.
  std::string raise_reason;
};

// Trend thresholds and how many messages the trend looks at.
inline constexpr float kTrendThreshold = 0.05f;
inline constexpr int kTrendMessages = 6;

// The escalation rules. With P the earlier messages considered and L(s) the
// ensemble's level for a score:
//   trend      least-squares slope of the scores of the last (up to 5)
//              messages of P and this one, per message: rising from +0.05,
//              falling from -0.05, unspecified without P.
//   to HIGH    when this message is LOW or MEDIUM on its own and, in the
//              6 hours before it, either
//                (a) 2 or more messages of P are MEDIUM or above, or
//                (b) one message of P is HIGH or above and this one is
//                    MEDIUM, or
//                (c) the trend is rising, over 3 or more messages of P
//                    or over 2 that are both LOW or above.
//   to MEDIUM  when this message is LOW on its own and 2 or more messages of
//              P in the hour before it are LOW or above, or one in the 6
//              hours before it is HIGH or above.
// Context never lowers a level, never raises NONE (a calm message stays
// calm; it does not erase P either), and never makes CRITICAL.
class ContextRules {
 public:
  // `level_for` maps a score to a level (Ensemble::LevelFor).
  ContextRules(ContextOptions options, std::function<Level(float)> level_for)
      : options_(options), level_for_(std::move(level_for)) {}

  // `history`: the person's earlier messages in any order; those sent after
  // `sent`, or more than the window before it, are left out, and of the rest
  // the latest max_messages are considered.
  ConversationContext Evaluate(absl::Span<const PriorScore> history,
                               absl::Time sent, float score) const;

  const ContextOptions& options() const { return options_; }

 private:
  // The latest max_messages of `history` sent within the window before
  // `sent`, oldest first.
  std::vector<PriorScore> Considered(absl::Span<const PriorScore> history,
                                     absl::Time sent) const;

  ContextOptions options_;
  std::function<Level(float)> level_for_;
};

// Raises `verdict` to `context.level` when that is higher, with the reason
// as a factor (source "context"), and the review flag and action to match.
void ApplyContext(const ConversationContext& context, Verdict* verdict);

// Counters shared by every ContextStore of a server, and the server-wide
// bound on people remembered. Thread-safe.
class ContextBudget {
 public:
  explicit ContextBudget(int64_t max_people) : capacity_(max_people) {}

  // Takes room for one more person; false when the server holds
  // `max_people` already.
  bool TryAddPerson();
  void RemovePeople(int64_t n) { people_.fetch_sub(n); }

  struct Stats {
    uint64_t people = 0;
    uint64_t capacity = 0;
    uint64_t records = 0;
    uint64_t people_evicted = 0;
    uint64_t records_evicted = 0;
    uint64_t records_expired = 0;
  };
  Stats stats() const;

  std::atomic<int64_t> records{0};
  std::atomic<uint64_t> people_evicted{0};
  std::atomic<uint64_t> records_evicted{0};
  std::atomic<uint64_t> records_expired{0};

 private:
  const int64_t capacity_;
  std::atomic<int64_t> people_{0};
};

// The people of one stream (or of all streams, when shared): for each, the
// scores and times of their latest messages. Bounded by ContextOptions and
// the budget; see ContextStatus in proto/lantern/v1/analyzer.proto for what
// is counted. Thread-safe.
class ContextStore {
 public:
  // `budget` must outlive the store.
  ContextStore(ContextOptions options, ContextBudget* budget);
  ~ContextStore();
  ContextStore(const ContextStore&) = delete;
  ContextStore& operator=(const ContextStore&) = delete;

  static CacheKey PersonKey(absl::string_view channel_id,
                            absl::string_view user_id);

  // The person's remembered messages (oldest first), after dropping those
  // older than the window before `now`. Counts as a use for eviction.
  std::vector<PriorScore> History(const CacheKey& person, absl::Time now);

  // Remembers one more message of the person, dropping the oldest beyond
  // max_messages. When the person is new and the store or the budget is
  // full, this store forgets its least recently seen person first; a store
  // with nobody to forget does not remember the message (counted as an
  // eviction).
  void Record(const CacheKey& person, PriorScore message);

  // People this store remembers now.
  int people() const;

 private:
  struct Person {
    std::deque<PriorScore> messages;  // by time sent, oldest first
    std::list<CacheKey>::iterator lru;
  };
  void ExpireLocked(Person& person, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool EvictOneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ContextOptions options_;
  ContextBudget* const budget_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<CacheKey, Person> people_ ABSL_GUARDED_BY(mu_);
  std::list<CacheKey> lru_ ABSL_GUARDED_BY(mu_);  // most recent first
};

}  // namespace lantern::core

#endif  // LANTERN_CORE_CONVERSATION_H_
