// A bounded, sharded, thread-safe LRU cache of analysis results, so that
// repeated chat lines ("gg", "good morning", pasted text) skip the models.
//
// What is stored: per entry, a 128-bit CacheKey and a shared_ptr to the
// caller's immutable value. Never message text: the key is a digest of the
// text and of everything else that changes the answer, computed by MakeKey();
// without the secret per-process salt even a short text ("gg") cannot be
// recovered by hashing guesses. Nothing here logs.
//
// Keys: MakeKey() is SHA-256 (OpenSSL) over a random per-process salt, the
// length-prefixed context fingerprint and the normalised text, truncated to
// 128 bits. The odds that any two of n distinct inputs share a key are about
// n^2 / 2^129: below 1e-26 for a billion distinct messages in one process.
// Because the salt is secret and random per process, keys are comparable
// only within one process, and collisions cannot be chosen by a sender.
// (absl::Hash was ruled out: it reduces every string longer than 16 bytes to
// one 64-bit intermediate, so two salted absl hashes give 64 bits, not 128.)
//
// Bounds: at most `capacity` entries in total, split as evenly as possible
// over the shards; each shard evicts its least recently used entry when a
// new key arrives and it is full. Lookup() and Insert() both count as use.
// The values' own size is the caller's; see the design notes in
// result_cache.cc for the per-entry overhead.
//
// Ownership: values are shared. A value returned by Lookup() stays valid for
// as long as the caller holds it, even after it is evicted or replaced.
//
// Thread-safety: all methods are thread-safe. Each shard has its own mutex;
// counters are atomics read without locks, so stats() is a sum of per-shard
// counts that may be mid-update while other threads work (each count is
// exact once the cache is quiescent, and `size` never exceeds `capacity`).
#ifndef LANTERN_CORE_RESULT_CACHE_H_
#define LANTERN_CORE_RESULT_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lantern::core {

// A 128-bit digest naming one cached result. Holds no text.
struct CacheKey {
  uint64_t hi = 0;
  uint64_t lo = 0;

  friend bool operator==(const CacheKey& a, const CacheKey& b) {
    return a.hi == b.hi && a.lo == b.lo;
  }
  friend bool operator!=(const CacheKey& a, const CacheKey& b) {
    return !(a == b);
  }
  template <typename H>
  friend H AbslHashValue(H h, const CacheKey& key) {
    return H::combine(std::move(h), key.hi, key.lo);
  }
};
static_assert(sizeof(CacheKey) == 16 &&
                  std::is_trivially_copyable<CacheKey>::value,
              "CacheKey must stay a plain 128-bit digest");

// The key for `normalized_text` under `context_fingerprint`: a string that
// names everything else that changes the answer (model set and versions,
// options, conversation context). Equal inputs give equal keys within one
// process; inputs that differ in either part, or in where one part ends,
// give different keys (up to the collision odds above). Neither input is
// retained. Thread-safe; about 0.2-0.4 µs for chat-sized inputs.
// Aborts if OpenSSL cannot provide SHA-256 or random bytes; ResultCache
// Create() checks both first and reports Internal instead.
CacheKey MakeKey(absl::string_view context_fingerprint,
                 absl::string_view normalized_text);

struct ResultCacheOptions {
  // Entries held in total, across all shards. 0 disables the cache: Lookup()
  // always misses, Insert() does nothing and no counter moves. Memory is
  // about 115 bytes per entry plus the value: ~30 MB at this default for a
  // 1.7 KB Analysis (3 signals of 5 labels, 3 factors).
  size_t capacity = 16384;
  // Independently locked parts; a power of two >= 1. When capacity is
  // smaller, the cache uses the largest power of two <= capacity so that
  // every shard holds at least one entry.
  int shards = 16;
};

struct ResultCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  // Insert() calls that stored a value, new or replacing an equal key's.
  uint64_t insertions = 0;
  // Entries dropped to make room for a new key (replacements not counted).
  uint64_t evictions = 0;
  // Entries held now.
  size_t size = 0;
  // ResultCacheOptions::capacity.
  size_t capacity = 0;
};

namespace internal {

// The type-erased cache behind ResultCache<Value>; use that instead.
class LruCacheCore {
 public:
  // InvalidArgument for a shard count that is not a power of two >= 1;
  // Internal when MakeKey()'s digest is unavailable (enabled caches only).
  static absl::Status Validate(const ResultCacheOptions& options);

  // `options` must have passed Validate().
  explicit LruCacheCore(const ResultCacheOptions& options);
  LruCacheCore(const LruCacheCore&) = delete;
  LruCacheCore& operator=(const LruCacheCore&) = delete;
  ~LruCacheCore();

  std::shared_ptr<const void> Lookup(const CacheKey& key);
  // True when an entry was evicted to make room.
  bool Insert(const CacheKey& key, std::shared_ptr<const void> value);
  ResultCacheStats stats() const;
  int shards() const { return num_shards_; }

 private:
  struct Shard;
  Shard& ShardFor(const CacheKey& key) const;

  const size_t capacity_;
  const int num_shards_;  // 0 when disabled.
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace internal

// Caches immutable `Value`s (the engine caches core::Verdict) under
// CacheKeys.
template <typename Value>
class ResultCache {
 public:
  using Options = ResultCacheOptions;
  using Stats = ResultCacheStats;

  // InvalidArgument when `options.shards` is not a power of two >= 1;
  // Internal when SHA-256 or the random salt is unavailable from OpenSSL.
  static absl::StatusOr<std::unique_ptr<ResultCache>> Create(Options options) {
    absl::Status status = internal::LruCacheCore::Validate(options);
    if (!status.ok()) return status;
    return absl::WrapUnique(new ResultCache(options));
  }

  ResultCache(const ResultCache&) = delete;
  ResultCache& operator=(const ResultCache&) = delete;

  // The value stored under `key`, now the shard's most recently used, or
  // nullptr on a miss.
  std::shared_ptr<const Value> Lookup(const CacheKey& key) {
    return std::static_pointer_cast<const Value>(core_.Lookup(key));
  }

  // Stores `value` under `key`, replacing any value already there, and
  // evicts the shard's least recently used entry if the shard was full.
  // A null `value` is ignored. Returns true when an entry was evicted.
  bool Insert(const CacheKey& key, std::shared_ptr<const Value> value) {
    return core_.Insert(key, std::move(value));
  }

  Stats stats() const { return core_.stats(); }

  // False when capacity is 0: callers may then skip MakeKey() altogether.
  bool enabled() const { return core_.shards() > 0; }
  // Shards in use (see ResultCacheOptions::shards); 0 when disabled.
  int shards() const { return core_.shards(); }

 private:
  explicit ResultCache(const Options& options) : core_(options) {}

  internal::LruCacheCore core_;
};

}  // namespace lantern::core

#endif  // LANTERN_CORE_RESULT_CACHE_H_
