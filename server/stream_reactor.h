// The StreamAnalyze reactor: one per open stream.
//
// Reads messages one at a time and hands each to the engine; answers are
// queued and written one at a time as they complete. At most
// `stream_window` messages may be read but unanswered, which gives the
// client backpressure instead of growing server memory.
//
// Every message read gets exactly one response: an Analysis or a
// MessageError. The call is finished exactly once, only after every engine
// callback has come back, so no callback can touch a deleted reactor:
//   client half-close  -> OK once all answers are written
//   server draining    -> UNAVAILABLE once all answers are written
//   client cancel      -> CANCELLED once in-flight work has returned
#ifndef LANTERN_SERVER_STREAM_REACTOR_H_
#define LANTERN_SERVER_STREAM_REACTOR_H_

#include <atomic>
#include <deque>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "lantern/v1/analyzer.pb.h"
#include "server/serving_state.h"

namespace lantern::server {

class StreamReactor final
    : public grpc::ServerBidiReactor<v1::StreamAnalyzeRequest,
                                     v1::StreamAnalyzeResponse>,
      public Drainable {
 public:
  // Starts reading, or finishes at once with UNAVAILABLE when draining.
  // Deletes itself in OnDone.
  StreamReactor(ServingState* state, grpc::CallbackServerContext* context);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  bool MarkDraining() override;
  void FinishDrained() override;

 private:
  // What to do next; decided under mu_, carried out after releasing it.
  struct Actions {
    bool read = false;
    const v1::StreamAnalyzeResponse* write = nullptr;
    bool finish = false;
    grpc::Status status;
  };

  void Handle(v1::StreamAnalyzeRequest request, uint64_t sequence);
  // Queues the answer to the message `response` belongs to (`status` is its
  // outcome) and records it in the counters.
  void Answer(v1::StreamAnalyzeResponse response, const absl::Status& status);
  Actions NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  grpc::Status FinalStatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run(const Actions& actions);

  ServingState* const state_;
  grpc::CallbackServerContext* const context_;
  const std::shared_ptr<std::atomic<bool>> cancelled_flag_;
  bool registered_ = false;
  // Target of the read in progress; only the read's callback touches it.
  v1::StreamAnalyzeRequest request_;

  absl::Mutex mu_;
  // Answers not yet written; the front is being written while writing_.
  std::deque<v1::StreamAnalyzeResponse> outbox_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // read, not yet answered
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status drained_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lantern::server

#endif  // LANTERN_SERVER_STREAM_REACTOR_H_
