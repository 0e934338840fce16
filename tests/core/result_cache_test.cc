#include "core/result_cache.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/engine.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

// A value that knows which key it was stored under and counts live copies,
// so tests can see both cross-talk and when the last owner lets go.
struct Tracked {
  explicit Tracked(uint64_t id, std::atomic<int>* live) : id(id), live(live) {
    live->fetch_add(1);
  }
  ~Tracked() { live->fetch_sub(1); }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;

  const uint64_t id;
  std::atomic<int>* const live;
};

using StringCache = ResultCache<std::string>;

std::unique_ptr<StringCache> MakeCache(size_t capacity, int shards) {
  StringCache::Options options;
  options.capacity = capacity;
  options.shards = shards;
  auto cache = StringCache::Create(options);
  EXPECT_TRUE(cache.ok()) << cache.status();
  return std::move(cache).value();
}

std::shared_ptr<const std::string> Str(const char* s) {
  return std::make_shared<const std::string>(s);
}

// Keys built by hand: lo picks the shard, so tests control placement.
CacheKey Key(uint64_t hi, uint64_t lo) { return CacheKey{hi, lo}; }

TEST(MakeKeyTest, SameInputsGiveEqualKeys) {
  EXPECT_EQ(MakeKey("models=a@1,b@2;opts=x", "good morning"),
            MakeKey("models=a@1,b@2;opts=x", "good morning"));
  EXPECT_EQ(MakeKey("", ""), MakeKey("", ""));
}

TEST(MakeKeyTest, DifferentContextWithSameTextGivesDifferentKeys) {
  EXPECT_NE(MakeKey("models=a@1", "gg"), MakeKey("models=a@2", "gg"));
  EXPECT_NE(MakeKey("ctx:previous-line-1", "gg"),
            MakeKey("ctx:previous-line-2", "gg"));
}

TEST(MakeKeyTest, DifferentTextGivesDifferentKeys) {
  EXPECT_NE(MakeKey("ctx", "gg"), MakeKey("ctx", "gg "));
  EXPECT_NE(MakeKey("ctx", ""), MakeKey("ctx", "a"));
}

TEST(MakeKeyTest, BoundaryBetweenContextAndTextMatters) {
  EXPECT_NE(MakeKey("ab", "c"), MakeKey("a", "bc"));
  EXPECT_NE(MakeKey("", "abc"), MakeKey("abc", ""));
}

TEST(MakeKeyTest, ManyDistinctInputsGiveDistinctKeys) {
  std::set<std::pair<uint64_t, uint64_t>> keys;
  for (int i = 0; i < 20000; ++i) {
    const CacheKey key = MakeKey("ctx", std::to_string(i));
    keys.emplace(key.hi, key.lo);
  }
  EXPECT_EQ(keys.size(), 20000u);
}

TEST(ResultCacheTest, CreateRejectsShardsThatAreNotPowersOfTwo) {
  for (int shards : {0, -1, 3, 6, 12}) {
    StringCache::Options options;
    options.shards = shards;
    auto cache = StringCache::Create(options);
    EXPECT_EQ(cache.status().code(), absl::StatusCode::kInvalidArgument)
        << "shards=" << shards;
  }
}

TEST(ResultCacheTest, MissThenInsertThenHit) {
  auto cache = MakeCache(8, 1);
  const CacheKey key = MakeKey("ctx", "gg");
  EXPECT_EQ(cache->Lookup(key), nullptr);
  cache->Insert(key, Str("verdict-1"));
  auto hit = cache->Lookup(key);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*hit, "verdict-1");
  EXPECT_EQ(cache->Lookup(MakeKey("ctx", "gg!")), nullptr);
}

TEST(ResultCacheTest, InsertReplacesValueUnderSameKey) {
  auto cache = MakeCache(8, 1);
  cache->Insert(Key(0, 1), Str("old"));
  cache->Insert(Key(0, 1), Str("new"));
  EXPECT_EQ(*cache->Lookup(Key(0, 1)), "new");
  const ResultCacheStats stats = cache->stats();
  EXPECT_EQ(stats.size, 1u);
  EXPECT_EQ(stats.insertions, 2u);
  EXPECT_EQ(stats.evictions, 0u);
}

TEST(ResultCacheTest, NullValueIsIgnored) {
  auto cache = MakeCache(8, 1);
  cache->Insert(Key(0, 1), nullptr);
  EXPECT_EQ(cache->stats().insertions, 0u);
  EXPECT_EQ(cache->stats().size, 0u);
}

TEST(ResultCacheTest, EvictsLeastRecentlyUsedWithinShard) {
  auto cache = MakeCache(3, 1);
  cache->Insert(Key(0, 1), Str("a"));
  cache->Insert(Key(0, 2), Str("b"));
  cache->Insert(Key(0, 3), Str("c"));
  // Order, most recent first: c b a. A lookup makes a the most recent.
  ASSERT_NE(cache->Lookup(Key(0, 1)), nullptr);  // a c b
  cache->Insert(Key(0, 4), Str("d"));            // d a c; b evicted
  EXPECT_EQ(cache->Lookup(Key(0, 2)), nullptr);
  // Re-inserting counts as use: c becomes the most recent.
  cache->Insert(Key(0, 3), Str("c2"));  // c d a
  cache->Insert(Key(0, 5), Str("e"));   // e c d; a evicted
  EXPECT_EQ(cache->Lookup(Key(0, 1)), nullptr);
  EXPECT_EQ(*cache->Lookup(Key(0, 3)), "c2");  // c e d
  EXPECT_EQ(*cache->Lookup(Key(0, 4)), "d");   // d c e
  EXPECT_EQ(*cache->Lookup(Key(0, 5)), "e");   // e d c
  cache->Insert(Key(0, 6), Str("f"));          // f e d; c evicted
  EXPECT_EQ(cache->Lookup(Key(0, 3)), nullptr);
  EXPECT_EQ(cache->stats().evictions, 3u);
  EXPECT_EQ(cache->stats().size, 3u);
}

TEST(ResultCacheTest, CapacityIsSplitAcrossShardsWithoutExceedingTotal) {
  auto cache = MakeCache(10, 4);
  EXPECT_EQ(cache->shards(), 4);
  // lo % 4 picks the shard: fill every shard far past its share.
  for (uint64_t i = 0; i < 400; ++i) cache->Insert(Key(1, i), Str("v"));
  const ResultCacheStats stats = cache->stats();
  EXPECT_EQ(stats.size, 10u);
  EXPECT_EQ(stats.capacity, 10u);
  EXPECT_EQ(stats.evictions, 390u);
  // Shards 0 and 1 (lo % 4) hold 3 entries, shards 2 and 3 hold 2: each
  // keeps its newest keys.
  for (uint64_t i : {388, 389, 392, 393, 394, 395, 396, 397, 398, 399}) {
    EXPECT_NE(cache->Lookup(Key(1, i)), nullptr) << i;
  }
  for (uint64_t i : {384, 385, 390, 391}) {
    EXPECT_EQ(cache->Lookup(Key(1, i)), nullptr) << i;
  }
}

TEST(ResultCacheTest, FewerEntriesThanShardsUsesFewerShards) {
  auto cache = MakeCache(3, 16);
  EXPECT_EQ(cache->shards(), 2);
  for (uint64_t i = 0; i < 100; ++i) cache->Insert(Key(2, i), Str("v"));
  EXPECT_EQ(cache->stats().size, 3u);
}

TEST(ResultCacheTest, ZeroCapacityDisablesCache) {
  auto cache = MakeCache(0, 16);
  EXPECT_FALSE(cache->enabled());
  EXPECT_EQ(cache->shards(), 0);
  const CacheKey key = MakeKey("ctx", "gg");
  cache->Insert(key, Str("v"));
  EXPECT_EQ(cache->Lookup(key), nullptr);
  const ResultCacheStats stats = cache->stats();
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.misses, 0u);
  EXPECT_EQ(stats.insertions, 0u);
  EXPECT_EQ(stats.evictions, 0u);
  EXPECT_EQ(stats.size, 0u);
  EXPECT_EQ(stats.capacity, 0u);
}

TEST(ResultCacheTest, ValuesOutliveEvictionWhileHeld) {
  std::atomic<int> live{0};
  auto created = ResultCache<Tracked>::Create({/*capacity=*/1, /*shards=*/1});
  ASSERT_TRUE(created.ok());
  auto cache = std::move(created).value();
  cache->Insert(Key(0, 1), std::make_shared<const Tracked>(1, &live));
  std::shared_ptr<const Tracked> held = cache->Lookup(Key(0, 1));
  ASSERT_NE(held, nullptr);
  cache->Insert(Key(0, 2), std::make_shared<const Tracked>(2, &live));
  EXPECT_EQ(cache->Lookup(Key(0, 1)), nullptr);  // Evicted...
  EXPECT_EQ(held->id, 1u);                       // ...but still valid.
  EXPECT_EQ(held.use_count(), 1);
  EXPECT_EQ(live.load(), 2);
  held.reset();
  EXPECT_EQ(live.load(), 1);
  cache.reset();
  EXPECT_EQ(live.load(), 0);
}

TEST(ResultCacheTest, StatsCountEveryOperationExactly) {
  auto cache = MakeCache(2, 1);
  cache->Lookup(Key(0, 1));             // miss
  cache->Insert(Key(0, 1), Str("a"));   // insertion
  cache->Lookup(Key(0, 1));             // hit
  cache->Lookup(Key(0, 1));             // hit
  cache->Insert(Key(0, 2), Str("b"));   // insertion
  cache->Insert(Key(0, 3), Str("c"));   // insertion, evicts a
  cache->Lookup(Key(0, 1));             // miss
  cache->Insert(Key(0, 3), Str("c2"));  // insertion (replace)
  cache->Lookup(Key(0, 2));             // hit
  const ResultCacheStats stats = cache->stats();
  EXPECT_EQ(stats.hits, 3u);
  EXPECT_EQ(stats.misses, 2u);
  EXPECT_EQ(stats.insertions, 4u);
  EXPECT_EQ(stats.evictions, 1u);
  EXPECT_EQ(stats.size, 2u);
  EXPECT_EQ(stats.capacity, 2u);
}

TEST(ResultCacheTest, HoldsEngineAnalysis) {
  auto created = ResultCache<Analysis>::Create({/*capacity=*/4, /*shards=*/2});
  ASSERT_TRUE(created.ok());
  auto cache = std::move(created).value();
  auto analysis = std::make_shared<Analysis>();
  analysis->message_id = "m-1";
  analysis->ensemble_version = "ens-7";
  const CacheKey key = MakeKey("ens-7", "good morning");
  cache->Insert(key, std::move(analysis));
  auto hit = cache->Lookup(key);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->message_id, "m-1");
  EXPECT_EQ(hit->ensemble_version, "ens-7");
}

class ResultCacheConcurrencyTest : public ::testing::TestWithParam<int> {};

TEST_P(ResultCacheConcurrencyTest, NeverExceedsCapacityAndCountsExactly) {
  constexpr size_t kCapacity = 64;
  constexpr uint64_t kKeysPerThread = 5000;
  const int threads = GetParam();
  std::atomic<int> live{0};
  auto created = ResultCache<Tracked>::Create({kCapacity, /*shards=*/4});
  ASSERT_TRUE(created.ok());
  auto cache = std::move(created).value();

  std::atomic<bool> done{false};
  std::atomic<size_t> max_size_seen{0};
  std::thread monitor([&] {
    while (!done.load()) {
      const size_t size = cache->stats().size;
      if (size > max_size_seen.load()) max_size_seen.store(size);
    }
  });
  std::atomic<int> wrong_values{0};
  std::atomic<uint64_t> cross_thread_hits{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const uint64_t next = static_cast<uint64_t>((t + 1) % threads);
      for (uint64_t i = 0; i < kKeysPerThread; ++i) {
        // Every key is distinct; lo's low bits spread them over the shards.
        const uint64_t own = (static_cast<uint64_t>(t) << 32) | i;
        cache->Insert(Key(1, own), std::make_shared<const Tracked>(own, &live));
        auto mine = cache->Lookup(Key(1, own));
        if (mine != nullptr && mine->id != own) wrong_values.fetch_add(1);
        // A recent key of the next thread: hit or miss, never a wrong value.
        const uint64_t theirs = (next << 32) | i;
        auto hit = cache->Lookup(Key(1, theirs));
        if (hit != nullptr) {
          cross_thread_hits.fetch_add(1);
          if (hit->id != theirs) wrong_values.fetch_add(1);
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  done.store(true);
  monitor.join();

  const ResultCacheStats stats = cache->stats();
  const uint64_t inserts = static_cast<uint64_t>(threads) * kKeysPerThread;
  EXPECT_EQ(wrong_values.load(), 0);
  EXPECT_LE(max_size_seen.load(), kCapacity);
  EXPECT_EQ(stats.size, kCapacity);
  EXPECT_EQ(stats.insertions, inserts);
  EXPECT_EQ(stats.evictions, inserts - kCapacity);
  EXPECT_EQ(stats.hits + stats.misses, 2 * inserts);
  EXPECT_GE(stats.hits, cross_thread_hits.load());
  EXPECT_EQ(live.load(), static_cast<int>(kCapacity));
  cache.reset();
  EXPECT_EQ(live.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Threads, ResultCacheConcurrencyTest,
                         ::testing::Values(1, 2, 4, 8));

}  // namespace
}  // namespace lantern::core
