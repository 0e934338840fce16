// ReliableStream: a feed of ChatMessages through Analyzer/StreamAnalyze that
// survives server drains and restarts.
//
// The server ends a stream with UNAVAILABLE when it drains (SIGTERM) after
// answering every message it read; the messages it did not answer were not
// analysed (see StreamAnalyze in proto/lantern/v1/analyzer.proto).
// ReliableStream keeps every message sent but not answered; when a stream
// ends with UNAVAILABLE, or cannot be opened (UNAVAILABLE), it opens a new
// one after a backoff, writes the unanswered messages again first, in their
// original order, then goes on with the feed. Each message accepted by
// Send() is reported exactly once: its answer from a server, or an error
// when the helper gives up on it.
//
// Indices: the n-th message Send() accepts has index n (from 0). Every
// answer carries it, and the server's `sequence` (which restarts at 0 on
// every stream) is replaced by it.
//
// What is retried (ReliableStreamOptions::max_attempts > 0):
//   - a stream that ends with UNAVAILABLE (drain, server gone, server not
//     reachable) while messages are unanswered;
//   - a stream that ends with RESOURCE_EXHAUSTED and the server's retry
//     pushback: trailing metadata grpc-retry-pushback-ms >= 0 (gRFC A6; see
//     AnalyzeStream::retry_pushback()). Lantern sends it when it refuses a
//     stream over its --max-streams limit. Without it RESOURCE_EXHAUSTED is
//     final: gRPC itself ends a stream so when a frame exceeds the size
//     limit, and a resend would fail again;
//   - a message the server answers with a per-message error UNAVAILABLE
//     ("server is shutting down; message not analysed", "models are still
//     loading"): it is not reported; the helper stops writing on that
//     stream, half-closes it, lets it end, and resends the message on the
//     next one.
// Every other end status is final and is reported with each unanswered
// message: INVALID_ARGUMENT (a frame the server could not parse),
// UNAUTHENTICATED, RESOURCE_EXHAUSTED without a pushback, CANCELLED, ...;
// so is any end whose pushback is negative or does not parse (the server
// asks not to retry). Every other per-message error (e.g. INVALID_ARGUMENT
// for empty text, RESOURCE_EXHAUSTED for a full queue) is the message's
// answer.
//
// Reconnecting: an outage begins when a stream ends with messages to
// resend. Before each new stream the helper waits out the backoff delay.
// Before the outage's first new stream it polls the server's health
// meanwhile and opens the stream as soon as it reports SERVING (at once
// when another replica behind the same target already serves; the server's
// port may also come back under a new process). Later waits run in full:
// once a stream has failed while health said SERVING, health tells nothing
// about where the next stream lands (behind a round-robin proxy, the check
// may reach a healthy replica and the stream a draining one that the proxy
// has not yet taken out). When the last stream ended with a retry
// pushback, the helper waits the longer of the pushback and the backoff
// delay in full too: a server that is full still reports SERVING. An
// outage ends with the
// first answer on a new stream; it fails after max_attempts streams
// without one, or max_retry_time after it began, or at once when a
// pushback would outlast max_retry_time. While nothing is unanswered no
// stream is open: the next Send() opens one without delay.
//
// Order: messages are written in index order on each stream, so answers
// within a channel come in index order, except that a resent message is
// analysed after messages of its stream that were already written after
// it. The server keeps conversation context per stream (unless it runs
// with --shared-context): a new stream, and certainly a new server, starts
// without the earlier messages' context.
//
// Flow control: at most max_unanswered messages are accepted and not yet
// reported; Send() blocks at that many. Memory stays bounded by it.
//
// Thread-safety: every method may be called from any thread, concurrently.
// The callback runs on the helper's own thread, one call at a time; it must
// not call Send(), Wait() or Finish() (they may wait for the callback's own
// thread), and may call Cancel() and stats().
//
// Lifetime: `client` and everything the callback touches must outlive the
// ReliableStream. Destroying it before Wait() or Finish() has returned
// cancels it (remaining messages are reported CANCELLED, from the
// destructor's call) and blocks until its thread has stopped.
#ifndef LANTERN_CLIENT_RELIABLE_STREAM_H_
#define LANTERN_CLIENT_RELIABLE_STREAM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "client/resend_queue.h"
#include "lantern/v1/analyzer.pb.h"

namespace lantern::client {

struct ReliableStreamOptions {
  // Most messages accepted and not yet reported; Send() blocks at this
  // many. Each is kept (one copy) until it is answered. At least 1.
  int max_unanswered = 32;
  // Streams an outage may open before the helper gives up; 0 = never
  // reconnect: the first stream's end is final, and per-message UNAVAILABLE
  // errors are answers, as with a plain AnalyzeStream.
  int max_attempts = 10;
  // How long an outage may last before the helper gives up (checked before
  // each new stream); absl::InfiniteDuration() = no limit.
  absl::Duration max_retry_time = absl::Minutes(2);
  // Backoff before the n-th stream of an outage (n from 0): initial_backoff
  // * 2^n, times a random factor in [1 - jitter, 1 + jitter], capped at
  // max_backoff. It ends early once the server reports SERVING.
  absl::Duration initial_backoff = absl::Milliseconds(250);
  absl::Duration max_backoff = absl::Seconds(10);
  double jitter = 0.2;  // 0 <= jitter < 1
};

// INVALID_ARGUMENT naming the first option out of range (max_unanswered <
// 1, max_attempts < 0, negative durations, initial_backoff > max_backoff,
// jitter outside [0, 1)).
absl::Status ValidateOptions(const ReliableStreamOptions& options);

// The backoff before the stream numbered `attempt` (from 0) of an outage,
// given `uniform`, a random number in [0, 1): see ReliableStreamOptions.
absl::Duration ReconnectDelay(const ReliableStreamOptions& options, int attempt,
                              double uniform);

// The response reported for message `index` when no server analysed it:
// message_id, sequence = index, error {code of `status`, "not analysed:
// <CODE>: <message of status>"}.
lantern::v1::StreamAnalyzeResponse NotAnalysedResponse(
    uint64_t index, const std::string& message_id, const absl::Status& status);

// What the helper reports once per accepted message.
struct StreamAnswer {
  // Position of the message among those Send() accepted, from 0.
  uint64_t index = 0;
  // OK: `response` is a server's answer, an Analysis or a per-message
  // MessageError. Otherwise the message was not analysed and the helper
  // gave up on it; this is why (the final status of Wait()).
  absl::Status status;
  // The server's response with `sequence` set to `index`; when `status` is
  // not OK, NotAnalysedResponse(index, message id, status).
  lantern::v1::StreamAnalyzeResponse response;
  // The stream that answered (for errors, the last one), from 0: how many
  // times the helper had reconnected.
  int64_t stream = 0;
};

// Counters since construction.
struct ReliableStreamStats {
  int64_t accepted = 0;    // messages Send() accepted
  int64_t answered = 0;    // reported with a server's answer
  int64_t failed = 0;      // reported with the helper's own error
  int64_t written = 0;     // stream writes, resends included
  int64_t resent = 0;      // writes of a message written on an earlier stream
  int64_t streams = 0;     // streams opened
  int64_t reconnects = 0;  // streams opened after the first
  // Streams the server refused because it was full (RESOURCE_EXHAUSTED with
  // a retry pushback); each retried one is also a reconnect, and the rest
  // (after a drain or a lost connection) are not.
  int64_t refused_full = 0;
};

class ReliableStream {
 public:
  using AnswerCallback = std::function<void(StreamAnswer)>;

  // Starts the helper's thread; opens no stream yet. INVALID_ARGUMENT for
  // bad options (see ValidateOptions).
  static absl::StatusOr<std::unique_ptr<ReliableStream>> Create(
      Client& client, ReliableStreamOptions options, AnswerCallback on_answer);
  ~ReliableStream();

  ReliableStream(const ReliableStream&) = delete;
  ReliableStream& operator=(const ReliableStream&) = delete;

  // Accepts `message` for analysis; it will be reported exactly once.
  // Blocks while max_unanswered messages are unreported. Returns OK when
  // accepted; otherwise the message was not accepted and will not be
  // reported: the helper's final error once it has given up (e.g.
  // UNAVAILABLE after its retries, INVALID_ARGUMENT, UNAUTHENTICATED),
  // CANCELLED after Cancel(), FAILED_PRECONDITION after CloseSend().
  absl::Status Send(lantern::v1::ChatMessage message);

  // No more messages: once every accepted message is answered the stream
  // is half-closed and ends. Does not block. Idempotent.
  void CloseSend();

  // Blocks until every accepted message has been reported (and the last
  // callback has returned) after CloseSend(), or until the helper gave up.
  // Returns OK when every accepted message got a server's answer
  // (per-message errors included); otherwise the error every unanswered
  // message was reported with: UNAVAILABLE when retries ran out (the
  // message says after how many attempts and how long), the final status
  // of a stream that is not retried, CANCELLED after Cancel(). Calling it
  // again returns the same status.
  absl::Status Wait();

  // CloseSend(), then Wait().
  absl::Status Finish();

  // Stops at once: the open stream is cancelled, unreported messages are
  // reported CANCELLED, Send() is refused. Any thread, any time.
  void Cancel();

  ReliableStreamStats stats() const;

 private:
  // How one stream went.
  struct StreamOutcome {
    absl::Status status;  // its final status
    int64_t answered = 0;
    // A per-message UNAVAILABLE: messages wait to be resent if the stream
    // ends OK or UNAVAILABLE; `requeue_status` says why.
    bool requeued = false;
    absl::Status requeue_status;
    // The server's retry pushback (AnalyzeStream::retry_pushback()).
    std::optional<absl::Duration> pushback;
  };
  // The current outage (see file comment).
  struct Outage {
    bool active = false;
    int attempts = 0;
    absl::Time began;
    absl::Status last;  // why the last stream failed
    // The last stream's retry pushback: the least wait before the next.
    std::optional<absl::Duration> pushback;
  };

  ReliableStream(Client& client, ReliableStreamOptions options,
                 AnswerCallback on_answer);

  void Run();  // The helper's thread.
  // Waits until a stream is needed. False when the helper is done: closed
  // with nothing unanswered (OK), or cancelled.
  bool WaitForWork();
  // Before an outage's next stream: false when the helper gave up (and
  // reported every message) or was cancelled during the backoff.
  bool PrepareReconnect(Outage& outage);
  // Decides after a stream's end: true to go on, false when the helper is
  // done (the messages it gave up on are reported).
  bool AfterStream(const StreamOutcome& outcome, Outage& outage);
  StreamOutcome RunOneStream();
  void WriteLoop(AnalyzeStream& stream);
  void HandleResponse(lantern::v1::StreamAnalyzeResponse response,
                      StreamOutcome& outcome);
  // Waits up to `delay` for the server to report SERVING; false if
  // cancelled meanwhile.
  bool Backoff(absl::Duration delay);
  // Waits until `until`; false if cancelled meanwhile.
  bool SleepUntil(absl::Time until);
  // Gives up: reports every unanswered message with `status`, which
  // becomes the final status.
  void FailAll(const absl::Status& status);

  bool Cancelled() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return cancelled_;
  }
  bool SendUnblocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool WorkOrEnd() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool WriterHasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Done() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_; }

  Client& client_;
  const ReliableStreamOptions options_;
  const AnswerCallback on_answer_;
  std::minstd_rand random_;  // Only the helper's thread uses it.

  mutable absl::Mutex mu_;
  ResendQueue queue_ ABSL_GUARDED_BY(mu_);
  ReliableStreamStats stats_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failed_ ABSL_GUARDED_BY(mu_);  // set when the helper gives up
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  // The open stream (null between streams), for Cancel().
  AnalyzeStream* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Per stream: the reader has seen its end; the writer must half-close.
  bool stream_over_ ABSL_GUARDED_BY(mu_) = false;
  bool half_close_ ABSL_GUARDED_BY(mu_) = false;

  std::thread thread_;
};

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_RELIABLE_STREAM_H_
