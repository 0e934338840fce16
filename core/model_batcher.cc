#include "core/model_batcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace lantern::core {

std::vector<int> BatchBuckets(int max_batch) {
  std::vector<int> buckets;
  for (int b = 1; b < max_batch; b *= 2) buckets.push_back(b);
  buckets.push_back(max_batch);
  return buckets;
}

ModelBatcher::ModelBatcher(std::string name, ModelPool* pool, int pool_index,
                           std::vector<int64_t> length_buckets, int64_t pad_id,
                           BatchOptions options)
    : name_(std::move(name)),
      pool_(pool),
      pool_index_(pool_index),
      length_buckets_(std::move(length_buckets)),
      pad_id_(pad_id),
      options_(options),
      batch_buckets_(BatchBuckets(options.max_batch)) {}

absl::Status ModelBatcher::Start(const Warmup& warmup) {
  const int runners = pool_->handles(pool_index_);
  {
    // Shutdown() sets stopping_ before it takes runners_mu_, so runners are
    // either launched here first and joined there, or never launched.
    absl::MutexLock runners_lock(&runners_mu_);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::UnavailableError("shut down before warm-up");
      starting_ = runners;
    }
    for (int i = 0; i < runners; ++i) {
      runners_.emplace_back([this, &warmup] { WarmThenRun(warmup); });
    }
  }
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &ModelBatcher::AllServing));
  if (!warm_status_.ok()) stopping_ = true;
  return warm_status_;
}

bool ModelBatcher::AllWarmed() const { return warmed_ == starting_; }
bool ModelBatcher::AllServing() const { return serving_ == starting_; }

void ModelBatcher::WarmThenRun(const Warmup& warmup) {
  {
    absl::StatusOr<ModelPool::Lease> lease =
        pool_->Acquire(pool_index_, absl::InfiniteFuture());
    const absl::Status status = !lease.ok() ? lease.status()
                                : warmup    ? warmup(lease->backend())
                                            : absl::OkStatus();
    absl::MutexLock lock(&mu_);
    warm_status_.Update(status);
    ++warmed_;
    // Keep the handle until every runner holds one: each warms its own.
    mu_.Await(absl::Condition(this, &ModelBatcher::AllWarmed));
  }
  {
    absl::MutexLock lock(&mu_);
    ++serving_;  // The handle is back in the pool.
  }
  Run();
}

ModelBatcher::~ModelBatcher() { Shutdown(); }

absl::Status ModelBatcher::Enqueue(Request request) {
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    return absl::UnavailableError(
        "server is shutting down; message not analysed");
  }
  queue_.push_back({std::move(request), absl::Now()});
  return absl::OkStatus();
}

bool ModelBatcher::TryRunInline(Request& request) {
  if (options_.max_delay > absl::ZeroDuration()) return false;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || !queue_.empty() || serving_ < starting_ ||
        starting_ == 0) {
      return false;
    }
  }
  absl::StatusOr<ModelPool::Lease> lease =
      pool_->Acquire(pool_index_, absl::InfinitePast());
  if (!lease.ok()) return false;  // Every handle is busy.
  std::vector<Request> batch;
  batch.push_back(std::move(request));
  RunBatch(std::move(batch), {absl::ZeroDuration()}, *std::move(lease));
  return true;
}

void ModelBatcher::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  std::vector<std::thread> runners;
  {
    absl::MutexLock lock(&runners_mu_);
    runners.swap(runners_);
  }
  for (std::thread& runner : runners) runner.join();
}

void ModelBatcher::ResetCounters() {
  batches_.store(0);
  rows_.store(0);
  queue_ns_.store(0);
  compute_ns_.store(0);
}

size_t ModelBatcher::queue_depth() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void ModelBatcher::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ModelBatcher* b) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return b->stopping_ || !b->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // Stopping and drained.
    }
    // A handle first, then the batch: requests that arrive while every
    // handle is busy join the batch instead of waiting behind it.
    absl::StatusOr<ModelPool::Lease> lease =
        pool_->Acquire(pool_index_, absl::InfiniteFuture());
    std::vector<absl::Duration> waits;
    std::vector<Request> batch = TakeBatch(&waits);
    if (batch.empty()) continue;  // Another runner or a caller took it.
    if (!lease.ok()) {
      for (Request& r : batch) r.done(lease.status());
      continue;
    }
    RunBatch(std::move(batch), std::move(waits), *std::move(lease));
  }
}

std::vector<ModelBatcher::Request> ModelBatcher::TakeBatch(
    std::vector<absl::Duration>* waits) {
  absl::MutexLock lock(&mu_);
  if (options_.max_delay > absl::ZeroDuration() && !stopping_ &&
      !queue_.empty()) {
    // Give the batch until the oldest request's delay runs out to fill up.
    mu_.AwaitWithDeadline(
        absl::Condition(
            +[](ModelBatcher* b) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return b->stopping_ || static_cast<int>(b->queue_.size()) >=
                                         b->options_.max_batch;
            },
            this),
        queue_.front().enqueued + options_.max_delay);
  }
  std::vector<Request> batch;
  if (queue_.empty()) return batch;
  const absl::Time now = absl::Now();
  absl::Duration waited;
  // A batch is padded to its longest row, so only requests of the oldest
  // one's length bucket join it: a long message would make every short one
  // in its batch cost its length (an encoder pass grows with length; 8 rows
  // at 128 tokens cost about 8 times 8 rows at 16). The others keep their
  // place for a pass of their own length. The oldest request is always
  // taken, so none waits behind newer ones for ever.
  const int64_t bucket = LengthBucket(queue_.front().request.ids.size());
  for (auto it = queue_.begin();
       it != queue_.end() &&
       static_cast<int>(batch.size()) < options_.max_batch;) {
    if (LengthBucket(it->request.ids.size()) != bucket) {
      ++it;
      continue;
    }
    waits->push_back(now - it->enqueued);
    waited += waits->back();
    batch.push_back(std::move(it->request));
    it = queue_.erase(it);
  }
  queue_ns_.fetch_add(absl::ToInt64Nanoseconds(waited));
  return batch;
}

int64_t ModelBatcher::LengthBucket(size_t length) const {
  // Requests are truncated to the model's length, the last bucket.
  auto it = std::lower_bound(length_buckets_.begin(), length_buckets_.end(),
                             static_cast<int64_t>(length));
  return it == length_buckets_.end() ? length_buckets_.back() : *it;
}

void ModelBatcher::RunBatch(std::vector<Request> batch,
                            std::vector<absl::Duration> waits,
                            std::optional<ModelPool::Lease> lease) {
  // `lease` is always set; optional only so it can be given back early.
  // Read before the pass: the warm-up's batch starts before ReportTo() and
  // stays unreported even when its last lines run after ReportTo().
  ModelObserver* const observer = observer_.load();
  // Drop work nobody is waiting for any more.
  const absl::Time now = absl::Now();
  std::vector<Request> live;
  std::vector<absl::Duration> live_waits;
  for (size_t i = 0; i < batch.size(); ++i) {
    Request& r = batch[i];
    if (now >= r.deadline) {
      r.done(absl::DeadlineExceededError(
          "deadline passed before the message reached the model; it was not "
          "analysed"));
    } else if (r.is_cancelled && r.is_cancelled()) {
      r.done(absl::CancelledError(
          "the call was cancelled before analysis finished"));
    } else {
      live.push_back(std::move(r));
      live_waits.push_back(waits[i]);
    }
  }
  if (live.empty()) return;

  size_t longest = 0;
  for (const Request& r : live) longest = std::max(longest, r.ids.size());
  const int64_t length = LengthBucket(longest);
  const int rows =
      *std::lower_bound(batch_buckets_.begin(), batch_buckets_.end(),
                        static_cast<int>(live.size()));
  std::vector<std::vector<int64_t>> input;
  input.reserve(static_cast<size_t>(rows));
  for (const Request& r : live) input.push_back(r.ids);
  while (static_cast<int>(input.size()) < rows)
    input.push_back(live.front().ids);

  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<std::vector<float>>> logits =
      lease->backend().Forward(input, length, pad_id_);
  const absl::Duration forward_time = absl::Now() - start;
  compute_ns_.fetch_add(absl::ToInt64Nanoseconds(forward_time));
  lease.reset();  // The handle is free before the answers go out.
  if (logits.ok() && logits->size() != input.size()) {
    logits = absl::InternalError(
        absl::StrCat("model '", name_, "' returned ", logits->size(),
                     " rows for a batch of ", input.size()));
  }
  batches_.fetch_add(1);
  rows_.fetch_add(live.size());
  for (size_t i = 0; i < live.size(); ++i) {
    if (!logits.ok()) {
      live[i].done(logits.status());
    } else {
      live[i].done(std::move((*logits)[i]));
    }
  }
  // After the answers, so that metrics add no latency.
  if (observer != nullptr) observer->OnBatch(live_waits, forward_time);
}

}  // namespace lantern::core
