#include "core/result_cache.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

// Design notes.
//
// Each shard is a doubly linked list in recency order (front = most recent)
// plus a flat_hash_map from key to list node. Per entry that is one list
// node (16-byte key + 16-byte shared_ptr + two links = 48 bytes, a 64-byte
// malloc chunk with glibc) and one map slot (16-byte key + 8-byte iterator
// + 1 control byte, at a load factor between 7/16 and 7/8): about 95-125
// bytes per entry before the value itself (115-117 measured with glibc at
// 64K and 1M entries), so ~1.9 MB at the default 16384 entries, plus the
// values. The map is not reserved up front, so an idle cache costs almost
// nothing; it grows by doubling as a shard fills.
//
// A full shard reuses its least recently used node for the new entry, so
// at steady state Insert() allocates nothing. Values dropped by eviction or
// replacement are released after the shard lock is let go, so the last
// owner's destructor never runs under the lock.
//
// Counters live in each shard (no cache line shared by all threads) and are
// only written under the shard lock, so a relaxed load+store is enough; they
// are atomics only so that stats() can read them without locking.

namespace lantern::core {
namespace {

constexpr size_t kSaltBytes = 16;

// SHA-256 and the per-process salt, fetched once. Never freed: MakeKey()
// may run on any thread until the process ends.
struct KeyDigest {
  EVP_MD* sha256 = nullptr;
  unsigned char salt[kSaltBytes] = {};
  bool ok = false;
};

const KeyDigest& GetKeyDigest() {
  static const KeyDigest* const digest = [] {
    auto* d = new KeyDigest;
    d->sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    d->ok = d->sha256 != nullptr &&
            RAND_bytes(d->salt, static_cast<int>(kSaltBytes)) == 1;
    return d;
  }();
  return *digest;
}

[[noreturn]] void DieDigestUnavailable() {
  std::fputs("lantern: SHA-256 cache-key digest unavailable from OpenSSL\n",
             stderr);
  std::abort();
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// Written without a lock by the only writer, which holds the shard lock.
void Bump(std::atomic<uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1,
                std::memory_order_relaxed);
}

}  // namespace

CacheKey MakeKey(absl::string_view context_fingerprint,
                 absl::string_view normalized_text) {
  const KeyDigest& digest = GetKeyDigest();
  if (!digest.ok) DieDigestUnavailable();
  // The fingerprint's length goes first so that ("ab", "c") and ("a", "bc")
  // hash different byte strings.
  unsigned char length[8];
  uint64_t n = context_fingerprint.size();
  for (unsigned char& byte : length) {
    byte = static_cast<unsigned char>(n & 0xff);
    n >>= 8;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  const bool ok = ctx != nullptr &&
                  EVP_DigestInit_ex2(ctx.get(), digest.sha256, nullptr) &&
                  EVP_DigestUpdate(ctx.get(), digest.salt, kSaltBytes) &&
                  EVP_DigestUpdate(ctx.get(), length, sizeof(length)) &&
                  EVP_DigestUpdate(ctx.get(), context_fingerprint.data(),
                                   context_fingerprint.size()) &&
                  EVP_DigestUpdate(ctx.get(), normalized_text.data(),
                                   normalized_text.size()) &&
                  EVP_DigestFinal_ex(ctx.get(), out, &out_len) && out_len >= 16;
  if (!ok) DieDigestUnavailable();
  CacheKey key;
  std::memcpy(&key.hi, out, 8);
  std::memcpy(&key.lo, out + 8, 8);
  return key;
}

namespace internal {

struct alignas(64) LruCacheCore::Shard {
  struct Entry {
    CacheKey key;
    std::shared_ptr<const void> value;
  };
  using List = std::list<Entry>;

  absl::Mutex mu;
  size_t capacity = 0;  // >= 1; set once before use.
  List lru ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<CacheKey, List::iterator> index ABSL_GUARDED_BY(mu);

  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> insertions{0};
  std::atomic<uint64_t> evictions{0};
  std::atomic<size_t> size{0};
};

absl::Status LruCacheCore::Validate(const ResultCacheOptions& options) {
  if (options.shards < 1 || (options.shards & (options.shards - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("result cache shards must be a power of two >= 1, got ",
                     options.shards));
  }
  if (options.capacity > 0 && !GetKeyDigest().ok) {
    return absl::InternalError(
        "result cache: OpenSSL provides no SHA-256 or random salt");
  }
  return absl::OkStatus();
}

namespace {

// The largest power of two <= min(shards, capacity), or 0 when disabled.
int EffectiveShards(const ResultCacheOptions& options) {
  if (options.capacity == 0) return 0;
  int shards = options.shards;
  while (static_cast<size_t>(shards) > options.capacity) shards /= 2;
  return shards;
}

}  // namespace

LruCacheCore::LruCacheCore(const ResultCacheOptions& options)
    : capacity_(options.capacity), num_shards_(EffectiveShards(options)) {
  if (num_shards_ == 0) return;
  shards_ = std::make_unique<Shard[]>(num_shards_);
  const size_t n = static_cast<size_t>(num_shards_);
  for (size_t i = 0; i < n; ++i) {
    // Spread the remainder over the first shards; the sum is capacity_.
    shards_[i].capacity = capacity_ / n + (i < capacity_ % n ? 1 : 0);
  }
}

LruCacheCore::~LruCacheCore() = default;

LruCacheCore::Shard& LruCacheCore::ShardFor(const CacheKey& key) const {
  // Keys are uniform digests, so their low bits pick a shard evenly.
  return shards_[key.lo & static_cast<uint64_t>(num_shards_ - 1)];
}

std::shared_ptr<const void> LruCacheCore::Lookup(const CacheKey& key) {
  if (num_shards_ == 0) return nullptr;
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.index.find(key);
  if (it == shard.index.end()) {
    Bump(shard.misses);
    return nullptr;
  }
  Bump(shard.hits);
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  return it->second->value;
}

bool LruCacheCore::Insert(const CacheKey& key,
                          std::shared_ptr<const void> value) {
  if (num_shards_ == 0 || value == nullptr) return false;
  Shard& shard = ShardFor(key);
  std::shared_ptr<const void> dropped;  // Released after the lock.
  absl::MutexLock lock(&shard.mu);
  Bump(shard.insertions);
  auto it = shard.index.find(key);
  if (it != shard.index.end()) {
    dropped = std::exchange(it->second->value, std::move(value));
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return false;
  }
  bool evicted = false;
  if (shard.lru.size() >= shard.capacity) {
    // Recycle the least recently used node as the new entry.
    auto last = std::prev(shard.lru.end());
    shard.index.erase(last->key);
    dropped = std::exchange(last->value, std::move(value));
    last->key = key;
    shard.lru.splice(shard.lru.begin(), shard.lru, last);
    Bump(shard.evictions);
    evicted = true;
  } else {
    shard.lru.push_front(Shard::Entry{key, std::move(value)});
    shard.size.store(shard.lru.size(), std::memory_order_relaxed);
  }
  shard.index.emplace(key, shard.lru.begin());
  return evicted;
}

ResultCacheStats LruCacheCore::stats() const {
  ResultCacheStats stats;
  stats.capacity = capacity_;
  for (int i = 0; i < num_shards_; ++i) {
    const Shard& shard = shards_[i];
    stats.hits += shard.hits.load(std::memory_order_relaxed);
    stats.misses += shard.misses.load(std::memory_order_relaxed);
    stats.insertions += shard.insertions.load(std::memory_order_relaxed);
    stats.evictions += shard.evictions.load(std::memory_order_relaxed);
    stats.size += shard.size.load(std::memory_order_relaxed);
  }
  return stats;
}

}  // namespace internal
}  // namespace lantern::core
