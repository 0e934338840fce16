#include "core/worker_pool.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

class WorkerPoolTest : public ::testing::TestWithParam<int> {};

TEST_P(WorkerPoolTest, RunsEveryTaskOnce) {
  std::atomic<int> runs{0};
  {
    WorkerPool pool(GetParam(), 1000);
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(pool.Schedule([&] { runs.fetch_add(1); }).ok());
    }
  }  // Destructor drains.
  EXPECT_EQ(runs.load(), 500);
}

TEST_P(WorkerPoolTest, FullQueueIsResourceExhausted) {
  WorkerPool pool(GetParam(), 2);
  absl::Notification release;
  std::atomic<int> started{0};
  // Occupy every thread (one task at a time, so the small queue never
  // fills while the threads pick them up), then fill the queue.
  for (int i = 0; i < GetParam(); ++i) {
    ASSERT_TRUE(pool.Schedule([&] {
      started.fetch_add(1);
      release.WaitForNotification();
    }).ok());
    while (started.load() < i + 1) absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_TRUE(pool.Schedule([] {}).ok());
  EXPECT_TRUE(pool.Schedule([] {}).ok());
  const absl::Status full = pool.Schedule([] {});
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pool.queue_depth(), 2u);
  release.Notify();
}

TEST_P(WorkerPoolTest, ShutdownRunsQueuedWorkThenRefusesNewWork) {
  std::atomic<int> runs{0};
  WorkerPool pool(GetParam(), 100);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(pool.Schedule([&] { runs.fetch_add(1); }).ok());
  pool.Shutdown();
  EXPECT_EQ(runs.load(), 50);
  EXPECT_EQ(pool.Schedule([] {}).code(), absl::StatusCode::kUnavailable);
  pool.Shutdown();  // Idempotent.
}

INSTANTIATE_TEST_SUITE_P(Threads, WorkerPoolTest, ::testing::Values(1, 2, 4));

}  // namespace
}  // namespace lantern::core
