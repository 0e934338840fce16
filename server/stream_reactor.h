// The StreamAnalyze reactor: one per open stream.
//
// Reads messages one at a time and hands each to the engine; answers are
// queued and written one at a time. At most ServingState::stream_window()
// messages may be read but unanswered, which gives the client backpressure
// instead of growing server memory.
//
// Channels: messages are grouped by ChatMessage.channel_id. Within a
// channel, answers are queued in read order (a finished message waits for
// the ones read before it); across channels, as they finish. At most
// StreamOptions::channel_in_flight messages of a channel are in the engine
// at once; the rest wait here, so one busy channel cannot fill the models
// ahead of a quiet one.
//
// Conversation context: when a channel's message is answered (in read
// order), the reactor reads the author's earlier scores from its
// ContextStore (Engine::AddContext), then records this message's score. So
// a person's context is updated in the order their messages were sent.
//
// Every message read gets exactly one response: an Analysis or a
// MessageError. The call is finished exactly once, only after every engine
// callback has come back, so no callback can touch a deleted reactor:
//   too many streams   -> RESOURCE_EXHAUSTED at once, nothing read, with
//                         trailing metadata grpc-retry-pushback-ms (see
//                         AddRetryPushback in server/convert.h)
//   client half-close  -> OK once all answers are written
//   server draining    -> UNAVAILABLE once all answers are written
//   unparseable frame  -> INVALID_ARGUMENT naming its sequence number, once
//                         the messages before it are answered; nothing
//                         after it is read
//   client cancel      -> CANCELLED once in-flight work has returned
//
// Frames are raw (see server/analyzer_service.h): StreamAnalyzeRequest in,
// StreamAnalyzeResponse out.
#ifndef LANTERN_SERVER_STREAM_REACTOR_H_
#define LANTERN_SERVER_STREAM_REACTOR_H_

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/conversation.h"
#include "core/engine.h"
#include "grpcpp/grpcpp.h"
#include "lantern/v1/analyzer.pb.h"
#include "server/serving_state.h"

namespace lantern::server {

class StreamReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
      public Drainable {
 public:
  // Starts reading, or finishes at once: with `caller`'s error
  // (UNAUTHENTICATED), UNAVAILABLE when draining, RESOURCE_EXHAUSTED with
  // a retry pushback when too many streams are open. `caller` is "" without
  // auth. Deletes itself in OnDone.
  StreamReactor(ServingState* state, grpc::CallbackServerContext* context,
                absl::StatusOr<std::string> caller);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  bool MarkDraining() override;
  void FinishDrained() override;

 private:
  // What to do next; decided under mu_, carried out after releasing it.
  // Each action keeps the call open until this thread carries it out; with
  // none, another thread may finish the call meanwhile.
  struct Actions {
    bool read = false;
    const grpc::ByteBuffer* write = nullptr;
    bool finish = false;
    grpc::Status status;

    bool any() const { return read || write != nullptr || finish; }
  };

  // One message read, from its read to its answer.
  struct Item {
    v1::StreamAnalyzeResponse response;    // message_id and sequence set
    core::AnalysisRequest work;            // until handed to the engine
    std::shared_ptr<core::Engine> engine;  // the one it is handed to
    bool done = false;
    absl::Status status;                     // once done
    std::optional<core::Analysis> analysis;  // once done, when OK
    // Conversation context, for messages with a user_id.
    bool has_person = false;
    core::CacheKey person;
    absl::Time sent;
    absl::Time read_at;  // for the latency in metrics
  };
  // One answer, for the counters (ServingState::Record).
  struct Answered {
    absl::Status status;
    absl::Time read_at;
    std::optional<core::Level> level;
  };
  // A channel's messages read but not answered, in read order.
  struct Channel {
    std::deque<std::unique_ptr<Item>> items;
    std::deque<Item*> waiting;  // read, not yet handed to the engine
    int in_engine = 0;
  };

  void Handle(const grpc::ByteBuffer& frame, uint64_t sequence);
  // Hands `item` of `channel` to the engine.
  void Submit(const std::string& channel, Item* item);
  // `item` of `channel` has its outcome: starts the channel's next waiting
  // message and answers what is now answerable.
  void Done(const std::string& channel, Item* item,
            absl::StatusOr<core::Analysis> result);
  // Answers the done messages at the front of `channel`, in order, into
  // the outbox; forgets the channel once it is empty. Returns the outcomes
  // for the counters (recorded after mu_ is released: the registry calls
  // into streams with its own lock held).
  std::vector<Answered> AnswerReadyLocked(const std::string& channel)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Static: Done() records after releasing mu_, when another thread may
  // already have finished the call and gRPC deleted this reactor.
  static void Record(ServingState* state,
                     const std::vector<Answered>& answered);
  // Ends reading at a frame that does not parse: the call finishes with
  // INVALID_ARGUMENT once everything before it is answered.
  void RejectFrame(const absl::Status& status, uint64_t sequence,
                   absl::Time read_at);
  Actions NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  grpc::Status FinalStatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run(const Actions& actions);
  // Frees the stream's slot (--max-streams), then finishes the call, so a
  // client that sees the end and opens a new stream at once finds the slot
  // free. Called once: whoever set finished_ calls it.
  void Conclude(const grpc::Status& status);

  ServingState* const state_;
  grpc::CallbackServerContext* const context_;
  const std::shared_ptr<std::atomic<bool>> cancelled_flag_;
  std::string caller_;
  // Holds a slot in the registry; cleared by Conclude().
  bool registered_ = false;
  // Target of the read in progress; only the read's callback touches it.
  grpc::ByteBuffer frame_;
  // This stream's conversation context (or the server's shared one).
  const std::shared_ptr<core::ContextStore> context_store_;

  absl::Mutex mu_;
  // Answers not yet written; the front is being written while writing_.
  std::deque<grpc::ByteBuffer> outbox_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // read, not yet answered
  absl::flat_hash_map<std::string, Channel> channels_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  // Why the stream was refused (no token, draining, too many streams).
  absl::Status refused_ ABSL_GUARDED_BY(mu_);
  // Set by the first frame that does not parse; reading stops there.
  absl::Status bad_frame_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status drained_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lantern::server

#endif  // LANTERN_SERVER_STREAM_REACTOR_H_
