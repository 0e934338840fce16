#include "core/model_batcher.h"

#include <atomic>
#include <memory>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fakes.h"

namespace lantern::core {
namespace {

using ::lantern::testing::FakeBackend;
using ::lantern::testing::FakeModelState;
using ::testing::ElementsAre;

// One answer slot per request.
struct Answer {
  absl::Notification done;
  absl::StatusOr<std::vector<float>> logits = absl::UnknownError("not called");
};

class ModelBatcherTest : public ::testing::Test {
 protected:
  ModelBatcherTest() : state_(std::make_shared<FakeModelState>()) {
    state_->logits = {0.0f, 0.0f};
    state_->logits_follow_length = true;
    std::vector<std::unique_ptr<ModelBackend>> handles;
    handles.push_back(std::make_unique<FakeBackend>(state_));
    pool_.AddModel("m", std::move(handles));
  }

  // A started batcher (no warm-up) for model `index` of pool_.
  std::unique_ptr<ModelBatcher> Make(BatchOptions options = {}, int index = 0) {
    auto batcher = std::make_unique<ModelBatcher>(
        "m", &pool_, index, std::vector<int64_t>{8, 16}, 0, options);
    EXPECT_TRUE(batcher->Start({}).ok());
    return batcher;
  }

  // Adds a model with `handles` fake handles to pool_; returns its index.
  int AddModel(int handles) {
    std::vector<std::unique_ptr<ModelBackend>> backends;
    for (int i = 0; i < handles; ++i) {
      backends.push_back(std::make_unique<FakeBackend>(state_));
    }
    return pool_.AddModel("n", std::move(backends));
  }

  static ModelBatcher::Request Req(int ids, Answer* answer) {
    ModelBatcher::Request r;
    r.ids.assign(static_cast<size_t>(ids), 7);
    r.done = [answer](absl::StatusOr<std::vector<float>> logits) {
      answer->logits = std::move(logits);
      answer->done.Notify();
    };
    return r;
  }

  std::shared_ptr<FakeModelState> state_;
  ModelPool pool_;
};

TEST(BatchBucketsTest, PowersOfTwoUpToMax) {
  EXPECT_THAT(BatchBuckets(8), ElementsAre(1, 2, 4, 8));
  EXPECT_THAT(BatchBuckets(6), ElementsAre(1, 2, 4, 6));
  EXPECT_THAT(BatchBuckets(1), ElementsAre(1));
}

TEST_F(ModelBatcherTest, EachRunnerWarmsUpOnItsOwnHandleBeforeServing) {
  const int model = AddModel(3);
  ModelBatcher batcher("n", &pool_, model, {8, 16}, 0, BatchOptions{});
  absl::Mutex mu;
  std::set<ModelBackend*> handles;
  std::set<std::thread::id> threads;
  ASSERT_TRUE(batcher
                  .Start([&](ModelBackend& handle) {
                    absl::MutexLock lock(&mu);
                    handles.insert(&handle);
                    threads.insert(std::this_thread::get_id());
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(handles.size(), 3u);
  EXPECT_EQ(threads.size(), 3u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  Answer a;
  ASSERT_TRUE(batcher.Enqueue(Req(1, &a)).ok());
  a.done.WaitForNotification();
  EXPECT_TRUE(a.logits.ok());
}

TEST_F(ModelBatcherTest, FailedWarmupIsReturnedAndWorkRefused) {
  const int model = AddModel(2);
  ModelBatcher batcher("n", &pool_, model, {8, 16}, 0, BatchOptions{});
  std::atomic<int> calls{0};
  const absl::Status started = batcher.Start([&](ModelBackend&) {
    return calls.fetch_add(1) == 0 ? absl::InternalError("bad weights")
                                   : absl::OkStatus();
  });
  EXPECT_EQ(started.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(started.message(), "bad weights");
  EXPECT_EQ(calls.load(), 2);
  Answer a;
  EXPECT_EQ(batcher.Enqueue(Req(1, &a)).code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(a.done.HasBeenNotified());
}

TEST_F(ModelBatcherTest, IdleModelRunsInlineOnTheCallersThread) {
  auto batcher = Make();
  Answer a;
  std::thread::id answered_on;
  ModelBatcher::Request request = Req(3, &a);
  request.done = [&](absl::StatusOr<std::vector<float>> logits) {
    answered_on = std::this_thread::get_id();
    a.logits = std::move(logits);
    a.done.Notify();
  };
  ASSERT_TRUE(batcher->TryRunInline(request));
  ASSERT_TRUE(a.done.HasBeenNotified());
  EXPECT_EQ(answered_on, std::this_thread::get_id());
  EXPECT_FLOAT_EQ(a.logits->at(0), 3.0f);
  EXPECT_THAT(state_->batch_sizes, ElementsAre(1));
  EXPECT_EQ(batcher->rows(), 1u);
}

TEST_F(ModelBatcherTest, BusyOrDelayedModelDoesNotRunInline) {
  {
    auto batcher = Make();
    auto held = std::make_unique<ModelPool::Lease>(
        *pool_.Acquire(0, absl::InfiniteFuture()));
    Answer a;
    ModelBatcher::Request request = Req(1, &a);
    EXPECT_FALSE(batcher->TryRunInline(request));
    ASSERT_TRUE(request.done);  // Untouched: the caller queues it instead.
    ASSERT_TRUE(batcher->Enqueue(std::move(request)).ok());
    held.reset();
    a.done.WaitForNotification();
    EXPECT_TRUE(a.logits.ok());
  }
  BatchOptions delayed;
  delayed.max_delay = absl::Microseconds(100);
  auto batcher = Make(delayed);
  Answer b;
  ModelBatcher::Request request = Req(1, &b);
  EXPECT_FALSE(batcher->TryRunInline(request));
  EXPECT_FALSE(b.done.HasBeenNotified());
}

TEST_F(ModelBatcherTest, QueuedRequestsRunAsOnePaddedBatchWithAnswersInPlace) {
  auto batcher = Make();
  Answer a, b, c, d;
  // The only handle is busy: the runner waits for it before taking a batch,
  // so everything queued meanwhile runs together.
  auto held = std::make_unique<ModelPool::Lease>(
      *pool_.Acquire(0, absl::InfiniteFuture()));
  ASSERT_TRUE(batcher->Enqueue(Req(9, &a)).ok());
  ASSERT_TRUE(batcher->Enqueue(Req(10, &b)).ok());
  ASSERT_TRUE(batcher->Enqueue(Req(12, &c)).ok());
  EXPECT_EQ(batcher->queue_depth(), 3u);
  held.reset();
  for (Answer* x : {&a, &b, &c}) x->done.WaitForNotification();
  // [a, b, c] padded to 4 rows at the 16 bucket.
  EXPECT_THAT(state_->batch_sizes, ElementsAre(4));
  EXPECT_THAT(state_->lengths, ElementsAre(16));
  EXPECT_FLOAT_EQ(a.logits->at(0), 9.0f);
  EXPECT_FLOAT_EQ(b.logits->at(0), 10.0f);
  EXPECT_FLOAT_EQ(c.logits->at(0), 12.0f);
  EXPECT_EQ(batcher->batches(), 1u);
  EXPECT_EQ(batcher->rows(), 3u);
  // Alone, a short request runs unpadded at the 8 bucket.
  ASSERT_TRUE(batcher->Enqueue(Req(3, &d)).ok());
  d.done.WaitForNotification();
  EXPECT_THAT(state_->batch_sizes, ElementsAre(4, 1));
  EXPECT_THAT(state_->lengths, ElementsAre(16, 8));
  EXPECT_FLOAT_EQ(d.logits->at(0), 3.0f);
}

TEST_F(ModelBatcherTest, BatchesHoldOneLengthBucketOldestFirst) {
  auto batcher = Make();
  Answer a, b, c, d;
  auto held = std::make_unique<ModelPool::Lease>(
      *pool_.Acquire(0, absl::InfiniteFuture()));
  // Queued: 12 tokens (bucket 16), 2 (8), 3 (8), 14 (16).
  ASSERT_TRUE(batcher->Enqueue(Req(12, &a)).ok());
  ASSERT_TRUE(batcher->Enqueue(Req(2, &b)).ok());
  ASSERT_TRUE(batcher->Enqueue(Req(3, &c)).ok());
  ASSERT_TRUE(batcher->Enqueue(Req(14, &d)).ok());
  held.reset();
  for (Answer* x : {&a, &b, &c, &d}) x->done.WaitForNotification();
  // The oldest (a) goes first with d, its bucket's other request; b and c
  // run next at length 8 instead of padded to 16.
  EXPECT_THAT(state_->lengths, ElementsAre(16, 8));
  EXPECT_THAT(state_->batch_sizes, ElementsAre(2, 2));
  EXPECT_FLOAT_EQ(a.logits->at(0), 12.0f);
  EXPECT_FLOAT_EQ(b.logits->at(0), 2.0f);
  EXPECT_FLOAT_EQ(c.logits->at(0), 3.0f);
  EXPECT_FLOAT_EQ(d.logits->at(0), 14.0f);
}

TEST_F(ModelBatcherTest, CountsQueueWaitPerRequestAndComputeTimePerPass) {
  state_->forward_delay_ms = 20;
  auto batcher = Make();
  Answer a, b, c;
  auto held = std::make_unique<ModelPool::Lease>(
      *pool_.Acquire(0, absl::InfiniteFuture()));
  ASSERT_TRUE(batcher->Enqueue(Req(1, &a)).ok());
  ASSERT_TRUE(batcher->Enqueue(Req(1, &b)).ok());
  absl::SleepFor(absl::Milliseconds(30));
  held.reset();
  a.done.WaitForNotification();
  b.done.WaitForNotification();
  EXPECT_EQ(batcher->batches(), 1u);
  // Both requests waited at least the 30 ms the handle was held.
  const absl::Duration queued = batcher->queue_time();
  EXPECT_GE(queued, absl::Milliseconds(60));
  EXPECT_GE(batcher->compute_time(), absl::Milliseconds(20));
  // A request run inline never waits in the queue; its pass still counts.
  ModelBatcher::Request inline_request = Req(1, &c);
  ASSERT_TRUE(batcher->TryRunInline(inline_request));
  EXPECT_EQ(batcher->queue_time(), queued);
  EXPECT_GE(batcher->compute_time(), absl::Milliseconds(40));
  EXPECT_EQ(batcher->batches(), 2u);
}

// Counts the rows of the passes it is told of.
struct RowCounter : ModelObserver {
  void OnBatch(absl::Span<const absl::Duration> queue_waits,
               absl::Duration) override {
    rows += static_cast<int>(queue_waits.size());
  }
  int rows = 0;
};

TEST_F(ModelBatcherTest, PassStartedBeforeReportToIsNotReported) {
  // The engine calls ReportTo() as soon as the warm-up message is answered,
  // which can be before the batcher is done with the warm-up's pass.
  RowCounter observer;  // Outlives the batcher, as ReportTo() asks.
  auto batcher = Make();
  Answer warmup, served;
  ModelBatcher::Request first = Req(1, &warmup);
  first.done = [&](absl::StatusOr<std::vector<float>> logits) {
    batcher->ReportTo(&observer);
    warmup.logits = std::move(logits);
  };
  ASSERT_TRUE(batcher->TryRunInline(first));
  EXPECT_EQ(observer.rows, 0);
  ModelBatcher::Request second = Req(1, &served);
  ASSERT_TRUE(batcher->TryRunInline(second));
  EXPECT_EQ(observer.rows, 1);
}

TEST_F(ModelBatcherTest, DelayWaitsForTheBatchToFill) {
  BatchOptions options;
  options.max_batch = 2;
  options.max_delay = absl::Hours(1);  // Only a full batch can end the wait.
  auto batcher = Make(options);
  Answer a, b;
  ASSERT_TRUE(batcher->Enqueue(Req(1, &a)).ok());
  ASSERT_TRUE(batcher->Enqueue(Req(1, &b)).ok());
  a.done.WaitForNotification();
  b.done.WaitForNotification();
  EXPECT_THAT(state_->batch_sizes, ElementsAre(2));
}

TEST_F(ModelBatcherTest, ExpiredAndCancelledRequestsAreDroppedNotRun) {
  auto batcher = Make();
  Answer a, late, cancelled;
  auto held = std::make_unique<ModelPool::Lease>(
      *pool_.Acquire(0, absl::InfiniteFuture()));
  ASSERT_TRUE(batcher->Enqueue(Req(1, &a)).ok());
  ModelBatcher::Request expired = Req(1, &late);
  expired.deadline = absl::Now() - absl::Seconds(1);
  ASSERT_TRUE(batcher->Enqueue(std::move(expired)).ok());
  ModelBatcher::Request gone = Req(1, &cancelled);
  gone.is_cancelled = [] { return true; };
  ASSERT_TRUE(batcher->Enqueue(std::move(gone)).ok());
  held.reset();
  late.done.WaitForNotification();
  cancelled.done.WaitForNotification();
  a.done.WaitForNotification();
  EXPECT_EQ(late.logits.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(cancelled.logits.status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(a.logits.ok());
  EXPECT_THAT(state_->batch_sizes, ElementsAre(1));  // Only [a] ran.
}

TEST_F(ModelBatcherTest, ShutdownRunsQueuedWorkThenRefuses) {
  auto batcher = Make();
  std::vector<Answer> answers(20);
  for (Answer& x : answers) ASSERT_TRUE(batcher->Enqueue(Req(3, &x)).ok());
  batcher->Shutdown();
  for (Answer& x : answers) {
    ASSERT_TRUE(x.done.HasBeenNotified());
    EXPECT_TRUE(x.logits.ok());
  }
  Answer after;
  EXPECT_EQ(batcher->Enqueue(Req(1, &after)).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_FALSE(after.done.HasBeenNotified());
}

TEST_F(ModelBatcherTest, FailedForwardFailsEveryRowOfTheBatch) {
  auto batcher = Make();
  state_->fail = true;
  Answer a;
  ASSERT_TRUE(batcher->Enqueue(Req(1, &a)).ok());
  a.done.WaitForNotification();
  EXPECT_EQ(a.logits.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace lantern::core
