// The stream driver of `lantern bench`; see bench_drivers.h.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/bench_drivers.h"

namespace lantern::client {
namespace {

using lantern::v1::StreamAnalyzeRequest;
using lantern::v1::StreamAnalyzeResponse;

// How long to wait for answers once sending is over, beyond the call
// deadline, before cancelling what is left.
constexpr absl::Duration kDrainGrace = absl::Seconds(2);

// Counts StreamCalls that are done; outlives them. OnDone() signals it last
// and touches nothing of its call afterwards, so a call may be destroyed as
// soon as the count includes it.
struct StreamsDone {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;  // Guarded by mu.
};

// One StreamAnalyze call. Closed loop (window > 0): keeps up to `window`
// messages unanswered, claiming new ones from the plan as answers come.
// Open loop (window == 0): writes what Enqueue() hands it, in order.
//
// Writes are started from reactions and, through the hold, from the
// dispatcher thread; decisions are taken under mu_ and carried out after it
// is released.
class StreamCall final : public grpc::ClientBidiReactor<StreamAnalyzeRequest,
                                                        StreamAnalyzeResponse> {
 public:
  StreamCall(RunContext run, int window, StreamsDone* done)
      : run_(run), window_(window), streams_done_(done) {}

  void Start() {
    AddCallCredentials(*run_.client, context_);
    run_.stub->async()->StreamAnalyze(&context_, this);
    StartRead(&response_);
    AddHold();
    StartCall();
    Pump();
  }

  // Open loop: queues message `ticket` scheduled at `intended`.
  void Enqueue(const BenchPlan::Ticket& ticket, absl::Time intended) {
    {
      absl::MutexLock lock(&mu_);
      pending_.push_back({ticket, intended});
    }
    Pump();
  }
  // Open loop: nothing more will be queued.
  void CloseWrites() {
    {
      absl::MutexLock lock(&mu_);
      no_more_ = true;
    }
    Pump();
  }

  void Cancel() { context_.TryCancel(); }

  // Messages written whose answer never came (once the call is done).
  std::vector<bool> UnansweredMeasured() {
    absl::MutexLock lock(&mu_);
    std::vector<bool> out;
    for (size_t i = 0; i < sent_.size(); ++i) {
      if (!answered_[i]) out.push_back(sent_[i].measured);
    }
    return out;
  }
  grpc::Status status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) broken_ = true;
    }
    Pump();
  }

  void OnWritesDoneDone(bool /*ok*/) override {
    {
      absl::MutexLock lock(&mu_);
      half_close_ = kHalfClosed;
    }
    Pump();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      {
        absl::MutexLock lock(&mu_);
        reads_over_ = true;
      }
      Pump();
      return;
    }
    const absl::Time now = absl::Now();
    const uint64_t seq = response_.sequence();
    int code = 0;
    if (response_.has_error()) {
      code = response_.error().code();
    } else if (!response_.has_analysis()) {
      code = static_cast<int>(absl::StatusCode::kInternal);
    }
    {
      absl::MutexLock lock(&mu_);
      if (seq < sent_.size() && !answered_[seq]) {
        answered_[seq] = true;
        ++answered_count_;
        run_.recorder->Record(sent_[seq].measured, sent_[seq].start, now, code);
      }
    }
    StartRead(&response_);
    Pump();
  }

  void OnDone(const grpc::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      status_ = status;
    }
    std::lock_guard<std::mutex> lock(streams_done_->mu);
    ++streams_done_->done;
    streams_done_->cv.notify_all();
  }

 private:
  enum HalfClose { kOpen, kHalfClosing, kHalfClosed };
  struct Pending {
    BenchPlan::Ticket ticket;
    absl::Time intended;
  };
  struct Sent {
    absl::Time start;
    bool measured;
  };
  enum class Action { kNone, kWrite, kWritesDone, kRemoveHold };

  // Decides the next step under mu_ and takes it outside.
  void Pump() {
    Action action = Action::kNone;
    {
      absl::MutexLock lock(&mu_);
      action = NextLocked();
    }
    switch (action) {
      case Action::kWrite:
        StartWrite(&request_);
        break;
      case Action::kWritesDone:
        StartWritesDone();
        break;
      case Action::kRemoveHold:
        RemoveHold();
        break;
      case Action::kNone:
        break;
    }
  }

  Action NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (hold_removed_ || writing_ || half_close_ == kHalfClosing) {
      return Action::kNone;
    }
    if (reads_over_) broken_ = true;  // The call ended: nothing more to do.
    if (broken_ || half_close_ == kHalfClosed) {
      hold_removed_ = true;
      return Action::kRemoveHold;
    }
    BenchPlan::Ticket ticket;
    absl::Time start;
    if (window_ == 0) {
      if (pending_.empty()) {
        if (!no_more_) return Action::kNone;
        half_close_ = kHalfClosing;
        return Action::kWritesDone;
      }
      ticket = pending_.front().ticket;
      start = pending_.front().intended;
      pending_.pop_front();
    } else {
      if (static_cast<int64_t>(sent_.size()) - answered_count_ >= window_) {
        return Action::kNone;
      }
      start = absl::Now();
      if (!run_.plan->Claim(start, &ticket)) {
        half_close_ = kHalfClosing;
        return Action::kWritesDone;
      }
      if (ticket.measured) run_.recorder->Sent();
    }
    request_.Clear();
    lantern::v1::ChatMessage* message = request_.mutable_message();
    message->set_id(absl::StrCat("s", ticket.index));
    message->set_text(run_.sequence->At(ticket.index));
    SetAuthor(run_.people, ticket.index, message);
    sent_.push_back({start, ticket.measured});
    answered_.push_back(false);
    writing_ = true;
    return Action::kWrite;
  }

  const RunContext run_;
  const int window_;
  StreamsDone* const streams_done_;
  grpc::ClientContext context_;
  StreamAnalyzeRequest request_;    // owned by the write in flight
  StreamAnalyzeResponse response_;  // owned by the read in flight

  absl::Mutex mu_;
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<Sent> sent_ ABSL_GUARDED_BY(mu_);  // by stream sequence
  std::vector<bool> answered_ ABSL_GUARDED_BY(mu_);
  int64_t answered_count_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool no_more_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_over_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_removed_ ABSL_GUARDED_BY(mu_) = false;
  HalfClose half_close_ ABSL_GUARDED_BY(mu_) = kOpen;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

using Streams = std::vector<std::unique_ptr<StreamCall>>;

// Open loop: deals the plan's messages to the streams in turn, each at its
// scheduled time, then closes their writes.
SendLag DispatchOpenLoop(const RunContext& run, const BenchOptions& options,
                         const Streams& calls) {
  const int n = options.concurrency;
  SendLag lag;
  ArrivalGaps gaps(*options.rate, options.arrivals, options.seed);
  absl::Time next = run.plan->start();
  BenchPlan::Ticket ticket;
  for (int64_t k = 0; run.plan->Claim(next, &ticket); ++k) {
    SleepUntil(next);
    if (ticket.measured) {
      lag.Add(absl::Now() - next);
      run.recorder->Sent();
    }
    calls[static_cast<size_t>(k % n)]->Enqueue(ticket, next);
    next += gaps.Next();
  }
  for (auto& call : calls) call->CloseWrites();
  return lag;
}

// Waits for every call; cancels stragglers well after sending stopped.
void AwaitStreams(const RunContext& run, const Streams& calls,
                  StreamsDone& streams_done, std::vector<std::string>* notes) {
  const int n = static_cast<int>(calls.size());
  std::optional<absl::Time> over_at;
  bool cancelled = false;
  std::unique_lock<std::mutex> lock(streams_done.mu);
  while (streams_done.done < n) {
    streams_done.cv.wait_for(lock, std::chrono::milliseconds(20));
    const absl::Time now = absl::Now();
    if (!over_at.has_value() && run.plan->Over(now)) over_at = now;
    if (!cancelled && over_at.has_value() &&
        now > *over_at + kDrainGrace + run.timeout) {
      for (auto& call : calls) call->Cancel();
      cancelled = true;
      notes->push_back(
          "streams cancelled: answers still missing long after sending "
          "stopped");
    }
  }
}

// Records the messages of finished calls that were never answered, with
// their stream's final code (Internal if it ended OK), and notes each
// stream that ended with an error.
void RecordUnanswered(const RunContext& run, const Streams& calls,
                      std::vector<std::string>* notes) {
  const absl::Time now = absl::Now();
  for (auto& call : calls) {
    const grpc::Status status = call->status();
    int code = static_cast<int>(status.error_code());
    if (status.ok()) code = static_cast<int>(absl::StatusCode::kInternal);
    for (bool measured : call->UnansweredMeasured()) {
      run.recorder->Record(measured, now, now, code);
    }
    if (!status.ok()) {
      notes->push_back(
          absl::StrCat("a stream ended with ",
                       absl::StatusCodeToString(
                           static_cast<absl::StatusCode>(status.error_code())),
                       ": ", status.error_message()));
    }
  }
}

}  // namespace

SendLag RunStreams(const RunContext& run, const BenchOptions& options,
                   std::vector<std::string>* notes) {
  StreamsDone streams_done;  // Declared first: outlives the calls.
  Streams calls;
  for (int i = 0; i < options.concurrency; ++i) {
    calls.push_back(std::make_unique<StreamCall>(
        run, options.rate.has_value() ? 0 : options.stream_window,
        &streams_done));
  }
  for (auto& call : calls) call->Start();
  SendLag lag;
  if (options.rate.has_value()) lag = DispatchOpenLoop(run, options, calls);
  AwaitStreams(run, calls, streams_done, notes);
  RecordUnanswered(run, calls, notes);
  return lag;
}

}  // namespace lantern::client
