#include "core/model_pool.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/fakes.h"

namespace lantern::core {
namespace {

using ::lantern::testing::FakeBackend;
using ::lantern::testing::FakeModelState;

std::vector<std::unique_ptr<ModelBackend>> Handles(
    int n, const std::shared_ptr<FakeModelState>& state) {
  std::vector<std::unique_ptr<ModelBackend>> handles;
  for (int i = 0; i < n; ++i)
    handles.push_back(std::make_unique<FakeBackend>(state));
  return handles;
}

TEST(ModelPoolTest, LeaseTakesAHandleAndGivesItBack) {
  auto state = std::make_shared<FakeModelState>();
  ModelPool pool;
  EXPECT_EQ(pool.AddModel("a", Handles(2, state)), 0);
  EXPECT_EQ(pool.AddModel("b", Handles(1, state)), 1);
  EXPECT_EQ(pool.num_models(), 2);
  EXPECT_EQ(pool.handles(0), 2);
  {
    auto lease = pool.Acquire(0, absl::InfiniteFuture());
    ASSERT_TRUE(lease.ok());
    EXPECT_EQ(pool.in_use(0), 1);
    EXPECT_EQ(pool.in_use(1), 0);
  }
  EXPECT_EQ(pool.in_use(0), 0);
}

TEST(ModelPoolTest, AcquireUnknownModelReturnsNotFound) {
  ModelPool pool;
  EXPECT_EQ(pool.Acquire(0, absl::InfiniteFuture()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ModelPoolTest, AcquireWhenAllBusyTimesOutWithDeadlineExceeded) {
  auto state = std::make_shared<FakeModelState>();
  ModelPool pool;
  pool.AddModel("a", Handles(1, state));
  auto held = pool.Acquire(0, absl::InfiniteFuture());
  ASSERT_TRUE(held.ok());
  auto second = pool.Acquire(0, absl::Now() + absl::Milliseconds(20));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(ModelPoolTest, WaiterGetsTheHandleWhenItIsReleased) {
  auto state = std::make_shared<FakeModelState>();
  ModelPool pool;
  pool.AddModel("a", Handles(1, state));
  auto held = std::make_unique<ModelPool::Lease>(
      *pool.Acquire(0, absl::InfiniteFuture()));
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    auto lease = pool.Acquire(0, absl::InfiniteFuture());
    acquired = lease.ok();
  });
  held.reset();  // Release; the waiter must wake up.
  waiter.join();
  EXPECT_TRUE(acquired);
}

// Many threads hammer a pool with fewer handles than threads; a handle must
// never be used by two leases at once.
class ModelPoolConcurrencyTest : public ::testing::TestWithParam<int> {};

TEST_P(ModelPoolConcurrencyTest, LeasesAreExclusive) {
  const int threads = GetParam();
  auto state = std::make_shared<FakeModelState>();
  auto handles = Handles(2, state);
  const ModelBackend* first = handles[0].get();
  ModelPool pool;
  pool.AddModel("a", std::move(handles));
  std::atomic<int> users[2] = {0, 0};
  std::atomic<int> violations{0}, done{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto lease = pool.Acquire(0, absl::InfiniteFuture());
        ASSERT_TRUE(lease.ok());
        std::atomic<int>& slot = users[&lease->backend() == first ? 0 : 1];
        if (slot.fetch_add(1) != 0) violations.fetch_add(1);
        std::this_thread::yield();
        slot.fetch_sub(1);
        done.fetch_add(1);
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(done.load(), threads * 200);
  EXPECT_EQ(pool.in_use(0), 0);
}

INSTANTIATE_TEST_SUITE_P(Threads, ModelPoolConcurrencyTest,
                         ::testing::Values(1, 2, 4, 8));

}  // namespace
}  // namespace lantern::core
