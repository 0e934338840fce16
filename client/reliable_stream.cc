#include "client/reliable_stream.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace lantern::client {
namespace {

// The backoff polls health in slices this long, so Cancel() is noticed
// within about one slice.
constexpr absl::Duration kHealthSlice = absl::Milliseconds(250);

// Whether the server refused the stream because it was full: a
// RESOURCE_EXHAUSTED with a retry pushback (gRPC's own, for a frame over the
// size limit, has none).
bool RefusedWhileFull(const absl::Status& status,
                      const std::optional<absl::Duration>& pushback) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         pushback.has_value();
}

// Whether a stream's end is worth another stream (see "What is retried"):
// UNAVAILABLE, and a refusal while full; neither when the server asked for
// no retry (an infinite pushback).
bool IsRetryable(const absl::Status& status,
                 const std::optional<absl::Duration>& pushback) {
  if (pushback == absl::InfiniteDuration()) return false;
  return status.code() == absl::StatusCode::kUnavailable ||
         RefusedWhileFull(status, pushback);
}

}  // namespace

lantern::v1::StreamAnalyzeResponse NotAnalysedResponse(
    uint64_t index, const std::string& message_id, const absl::Status& status) {
  lantern::v1::StreamAnalyzeResponse response;
  response.set_message_id(message_id);
  response.set_sequence(index);
  response.mutable_error()->set_code(static_cast<int>(status.code()));
  response.mutable_error()->set_message(
      absl::StrCat("not analysed: ", absl::StatusCodeToString(status.code()),
                   ": ", status.message()));
  return response;
}

absl::Status ValidateOptions(const ReliableStreamOptions& options) {
  if (options.max_unanswered < 1) {
    return absl::InvalidArgumentError("max_unanswered must be at least 1");
  }
  if (options.max_attempts < 0) {
    return absl::InvalidArgumentError("max_attempts must not be negative");
  }
  if (options.max_retry_time < absl::ZeroDuration() ||
      options.initial_backoff < absl::ZeroDuration() ||
      options.max_backoff < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "max_retry_time, initial_backoff and max_backoff must not be "
        "negative");
  }
  if (options.initial_backoff > options.max_backoff) {
    return absl::InvalidArgumentError(
        "initial_backoff must not exceed max_backoff");
  }
  if (!(options.jitter >= 0 && options.jitter < 1)) {  // Also rejects NaN.
    return absl::InvalidArgumentError("jitter must be in [0, 1)");
  }
  return absl::OkStatus();
}

absl::Duration ReconnectDelay(const ReliableStreamOptions& options, int attempt,
                              double uniform) {
  // Doubling past the cap is pointless, and 2^attempt must not overflow.
  absl::Duration delay = options.initial_backoff;
  for (int i = 0; i < attempt && delay < options.max_backoff; ++i) delay *= 2;
  delay = std::min(delay, options.max_backoff);
  const double factor = 1.0 + options.jitter * (2.0 * uniform - 1.0);
  return std::clamp(delay * factor, absl::ZeroDuration(), options.max_backoff);
}

absl::StatusOr<std::unique_ptr<ReliableStream>> ReliableStream::Create(
    Client& client, ReliableStreamOptions options, AnswerCallback on_answer) {
  if (absl::Status valid = ValidateOptions(options); !valid.ok()) return valid;
  if (!on_answer) return absl::InvalidArgumentError("on_answer is empty");
  // Not make_unique: the constructor is private.
  std::unique_ptr<ReliableStream> stream(
      new ReliableStream(client, options, std::move(on_answer)));
  stream->thread_ = std::thread([raw = stream.get()] { raw->Run(); });
  return stream;
}

ReliableStream::ReliableStream(Client& client, ReliableStreamOptions options,
                               AnswerCallback on_answer)
    : client_(client),
      options_(options),
      on_answer_(std::move(on_answer)),
      random_(std::random_device()()) {}

ReliableStream::~ReliableStream() {
  {
    absl::MutexLock lock(&mu_);
    if (!done_) {
      cancelled_ = true;
      if (current_ != nullptr) current_->Cancel();
    }
  }
  thread_.join();
}

absl::Status ReliableStream::Send(lantern::v1::ChatMessage message) {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &ReliableStream::SendUnblocked));
  if (!failed_.ok()) return failed_;
  if (cancelled_) return absl::CancelledError("the stream was cancelled");
  if (closed_) {
    return absl::FailedPreconditionError("Send() after CloseSend()");
  }
  queue_.Add(std::move(message));
  ++stats_.accepted;
  return absl::OkStatus();
}

void ReliableStream::CloseSend() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

absl::Status ReliableStream::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &ReliableStream::Done));
  return failed_;
}

absl::Status ReliableStream::Finish() {
  CloseSend();
  return Wait();
}

void ReliableStream::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  // TryCancel only flags the call; nothing re-enters this object from it.
  if (current_ != nullptr) current_->Cancel();
}

ReliableStreamStats ReliableStream::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

bool ReliableStream::SendUnblocked() const {
  return !failed_.ok() || cancelled_ || closed_ ||
         queue_.size() < static_cast<size_t>(options_.max_unanswered);
}

bool ReliableStream::WorkOrEnd() const {
  return !failed_.ok() || cancelled_ || closed_ || !queue_.empty();
}

bool ReliableStream::WriterHasWork() const {
  return stream_over_ || cancelled_ || half_close_ || closed_ ||
         queue_.HasUnwritten();
}

void ReliableStream::Run() {
  Outage outage;
  while (WaitForWork()) {
    if (outage.active && !PrepareReconnect(outage)) continue;
    if (!AfterStream(RunOneStream(), outage)) break;
  }
  absl::MutexLock lock(&mu_);
  done_ = true;
}

bool ReliableStream::WaitForWork() {
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &ReliableStream::WorkOrEnd));
    if (!failed_.ok()) return false;
    cancelled = cancelled_;
    if (!cancelled && queue_.empty()) return false;  // Closed, all answered.
  }
  if (cancelled) {
    FailAll(absl::CancelledError("the stream was cancelled"));
    return false;
  }
  return true;
}

bool ReliableStream::PrepareReconnect(Outage& outage) {
  const absl::Duration elapsed = absl::Now() - outage.began;
  const absl::Duration left = options_.max_retry_time - elapsed;
  // A stream opened before the pushback is over would be refused again, so
  // an outage that cannot wait it out ends now.
  const absl::Duration pushback =
      outage.pushback.value_or(absl::ZeroDuration());
  if (outage.attempts >= options_.max_attempts ||
      left <= absl::ZeroDuration() || pushback > left) {
    std::string why;
    if (pushback > left && left > absl::ZeroDuration()) {
      why = absl::StrCat(
          "; the server asked to wait ", absl::FormatDuration(pushback),
          ", longer than ",
          absl::FormatDuration(absl::Trunc(left, absl::Milliseconds(1))),
          " left of max_retry_time");
    }
    FailAll(absl::UnavailableError(absl::StrCat(
        "gave up after ", outage.attempts, " reconnect attempts in ",
        absl::FormatDuration(absl::Trunc(elapsed, absl::Milliseconds(1))),
        "; last error: ", absl::StatusCodeToString(outage.last.code()), ": ",
        outage.last.message(), why)));
    return false;
  }
  const double uniform = std::uniform_real_distribution<double>()(random_);
  const absl::Duration delay = std::min(
      std::max(ReconnectDelay(options_, outage.attempts, uniform), pushback),
      left);
  const bool first_wait = outage.attempts == 0;
  ++outage.attempts;
  // A cancel during the wait is handled by WaitForWork(). Health may end
  // only the first wait of an outage early. After that a stream has failed
  // with health SERVING, so health says nothing about where the next stream
  // goes: behind a round-robin proxy the check reaches a healthy replica
  // while the stream reaches a draining one still in rotation. And a server
  // that sent a pushback reports SERVING while it refuses.
  if (!first_wait || outage.pushback.has_value()) {
    return SleepUntil(absl::Now() + delay);
  }
  return Backoff(delay);
}

bool ReliableStream::AfterStream(const StreamOutcome& outcome, Outage& outage) {
  bool cancelled;
  bool unanswered;
  {
    absl::MutexLock lock(&mu_);
    cancelled = cancelled_;
    unanswered = !queue_.empty();
  }
  if (cancelled) {
    FailAll(absl::CancelledError("the stream was cancelled"));
    return false;
  }
  // A requeue is retried after an end that is OK (the helper half-closed)
  // or retryable; any other end status is final.
  const bool retry = options_.max_attempts > 0 &&
                     (IsRetryable(outcome.status, outcome.pushback) ||
                      (outcome.requeued && outcome.status.ok()));
  if (retry) {
    if (outcome.answered > 0) outage = Outage();  // Progress: a new outage.
    if (!unanswered) {  // Nothing lost; the next Send() opens a stream.
      outage = Outage();
      return true;
    }
    if (!outage.active) {
      outage.active = true;
      outage.began = absl::Now();
    }
    outage.last = outcome.status.ok() ? outcome.requeue_status : outcome.status;
    outage.pushback = outcome.pushback;
    return true;
  }
  if (outcome.status.ok()) {
    if (!unanswered) return true;
    // The server ended OK without answering everything: its bug.
    FailAll(absl::InternalError(
        "the stream ended OK without answering every message"));
    return false;
  }
  FailAll(outcome.status);
  return false;
}

ReliableStream::StreamOutcome ReliableStream::RunOneStream() {
  std::unique_ptr<AnalyzeStream> stream = client_.OpenStream();
  {
    absl::MutexLock lock(&mu_);
    queue_.StartStream();
    stream_over_ = false;
    half_close_ = false;
    current_ = stream.get();
    if (stats_.streams++ > 0) ++stats_.reconnects;
    if (cancelled_) stream->Cancel();
  }
  std::thread writer([this, raw = stream.get()] { WriteLoop(*raw); });
  StreamOutcome outcome;
  lantern::v1::StreamAnalyzeResponse response;
  while (stream->Read(&response)) HandleResponse(std::move(response), outcome);
  {
    absl::MutexLock lock(&mu_);
    stream_over_ = true;
  }
  // The writer returns at once: its wait ends on stream_over_, and a write
  // blocked on flow control fails now that the call is over.
  writer.join();
  outcome.status = stream->Finish();
  outcome.pushback = stream->retry_pushback();
  absl::MutexLock lock(&mu_);
  current_ = nullptr;
  if (RefusedWhileFull(outcome.status, outcome.pushback)) ++stats_.refused_full;
  return outcome;
}

void ReliableStream::WriteLoop(AnalyzeStream& stream) {
  while (true) {
    std::optional<ResendQueue::Write> next;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &ReliableStream::WriterHasWork));
      if (stream_over_ || cancelled_) return;
      // With nothing left to write, the wait ended on closed_ or half_close_.
      if (!half_close_) next = queue_.NextWrite();
      if (next.has_value()) {
        ++stats_.written;
        if (next->resend) ++stats_.resent;
      }
    }
    // Registered above, before the write: the answer may arrive before
    // Write() returns.
    if (!next.has_value()) {
      stream.WritesDone();  // Closed and all written, or resends pending.
      return;
    }
    if (!stream.Write(next->message)) return;  // The reader sees the end.
  }
}

void ReliableStream::HandleResponse(lantern::v1::StreamAnalyzeResponse response,
                                    StreamOutcome& outcome) {
  StreamAnswer answer;
  {
    absl::MutexLock lock(&mu_);
    const bool not_analysed =
        options_.max_attempts > 0 && response.has_error() &&
        response.error().code() ==
            static_cast<int>(absl::StatusCode::kUnavailable);
    if (not_analysed) {
      if (!queue_.Requeue(response.sequence()).has_value()) return;
      // Stop writing here: this server is not analysing. The stream ends
      // once what it read is answered, and the message goes on the next.
      outcome.requeued = true;
      outcome.requeue_status =
          absl::UnavailableError(response.error().message());
      half_close_ = true;
      return;
    }
    // A sequence this stream never wrote (a server bug) is ignored.
    const std::optional<uint64_t> index = queue_.Answer(response.sequence());
    if (!index.has_value()) return;
    ++stats_.answered;
    ++outcome.answered;
    answer.index = *index;
    answer.stream = stats_.streams - 1;
  }
  response.set_sequence(answer.index);
  answer.response = std::move(response);
  on_answer_(std::move(answer));
}

bool ReliableStream::Backoff(absl::Duration delay) {
  const absl::Time until = absl::Now() + delay;
  bool poll_health = true;
  while (true) {
    const absl::Duration remaining = until - absl::Now();
    if (remaining <= absl::ZeroDuration()) return true;
    // No health service to ask: sleep out the delay, unless cancelled.
    if (!poll_health) return SleepUntil(until);
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return false;
    }
    // Polls the channel too, so a stream opened next finds it connected
    // (see Client::WaitUntilServing()).
    const absl::Status serving =
        client_.WaitUntilServing(std::min(remaining, kHealthSlice));
    if (serving.ok()) return true;
    poll_health = serving.code() != absl::StatusCode::kUnimplemented;
  }
}

bool ReliableStream::SleepUntil(absl::Time until) {
  absl::MutexLock lock(&mu_);
  return !mu_.AwaitWithDeadline(
      absl::Condition(this, &ReliableStream::Cancelled), until);
}

void ReliableStream::FailAll(const absl::Status& status) {
  std::vector<std::pair<uint64_t, std::string>> lost;
  int64_t stream;
  {
    absl::MutexLock lock(&mu_);
    failed_ = status;
    lost = queue_.TakeAll();
    stats_.failed += static_cast<int64_t>(lost.size());
    stream = std::max<int64_t>(stats_.streams - 1, 0);
  }
  for (const auto& [index, message_id] : lost) {
    StreamAnswer answer;
    answer.index = index;
    answer.status = status;
    answer.response = NotAnalysedResponse(index, message_id, status);
    answer.stream = stream;
    on_answer_(std::move(answer));
  }
}

}  // namespace lantern::client
