#include "server/stream_reactor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/text.h"
#include "server/convert.h"

namespace lantern::server {
namespace {

// A message id is echoed only when it is valid UTF-8: a proto3 string with
// broken UTF-8 would make the client fail to parse the whole response.
std::string EchoableId(const v1::StreamAnalyzeRequest& request) {
  const std::string& id = request.message().id();
  return core::ValidateUtf8(id, "id").ok() ? id : std::string();
}

}  // namespace

StreamReactor::StreamReactor(ServingState* state,
                             grpc::CallbackServerContext* context,
                             absl::StatusOr<std::string> caller)
    : state_(state),
      context_(context),
      cancelled_flag_(std::make_shared<std::atomic<bool>>(false)),
      context_store_(state->NewStreamContext()) {
  absl::Status registered = caller.status();
  if (registered.ok()) {
    caller_ = *std::move(caller);
    registered = state_->RegisterStream(this);
  }
  registered_ = registered.ok();
  if (!registered_) {
    state_->Record(Rpc::kStreamAnalyze, registered, absl::Now());
    // Too many streams: a slot frees when another feed ends.
    AddRetryPushback(registered, *context_);
  }
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    refused_ = registered;
    actions = NextLocked();
  }
  Run(actions);
}

void StreamReactor::OnReadDone(bool ok) {
  if (!ok) {  // Client half-closed, or the call is over.
    Actions actions;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      reads_done_ = true;
      actions = NextLocked();
    }
    Run(actions);
    return;
  }
  grpc::ByteBuffer frame;
  frame.Swap(&frame_);
  uint64_t sequence;
  {
    absl::MutexLock lock(&mu_);
    // A read that lands after the call was finished (draining raced with
    // the client's write) cannot be answered; the client sees no answer
    // for it and the UNAVAILABLE status tells it to resend.
    if (finished_) {
      reading_ = false;
      return;
    }
    sequence = next_sequence_++;
    ++in_flight_;
  }
  // reading_ stays set until Handle() has decided, so an answer completing
  // meanwhile cannot start the next read past a frame that does not parse.
  Handle(frame, sequence);
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    actions = NextLocked();  // Read ahead while the engine works.
  }
  Run(actions);
}

void StreamReactor::Handle(const grpc::ByteBuffer& frame, uint64_t sequence) {
  const absl::Time read_at = absl::Now();
  v1::StreamAnalyzeRequest request;
  if (absl::Status parsed = ParseFrame(
          frame, absl::StrCat("stream message ", sequence), &request);
      !parsed.ok()) {
    RejectFrame(parsed, sequence, read_at);
    return;
  }
  if (!caller_.empty()) state_->CountCaller(caller_);
  auto item = std::make_unique<Item>();
  item->response.set_message_id(EchoableId(request));
  item->response.set_sequence(sequence);
  item->read_at = read_at;
  absl::Status status =
      CheckRequiredFields(request.has_message(), request.message());
  if (status.ok() && state_->draining()) {
    status =
        absl::UnavailableError("server is shutting down; message not analysed");
  }
  const v1::ChatMessage& message = request.message();
  if (status.ok()) {
    item->engine = state_->engine();
    item->work.message = ToCoreMessage(message);
    item->work.deadline = DeadlineFromChrono(context_->deadline());
    item->work.is_cancelled = [flag = cancelled_flag_] { return flag->load(); };
    if (!message.user_id().empty()) {
      item->has_person = true;
      item->person = core::ContextStore::PersonKey(message.channel_id(),
                                                   message.user_id());
      item->sent = message.has_sent_at() ? FromProtoTime(message.sent_at())
                                         : absl::Now();
    }
  } else {
    item->done = true;
    item->status = status;
  }
  const std::string& channel = message.channel_id();
  Item* const raw = item.get();
  bool submit = false;
  std::vector<Answered> answered;
  {
    absl::MutexLock lock(&mu_);
    Channel& ch = channels_[channel];
    ch.items.push_back(std::move(item));
    if (raw->done) {
      answered = AnswerReadyLocked(channel);
    } else if (ch.in_engine < state_->stream_options().channel_in_flight) {
      ++ch.in_engine;
      submit = true;
    } else {
      ch.waiting.push_back(raw);
    }
  }
  Record(state_, answered);
  if (submit) Submit(channel, raw);
  // The caller (OnReadDone) runs NextLocked() next, which writes whatever
  // was answered here.
}

void StreamReactor::Submit(const std::string& channel, Item* item) {
  const absl::Status status = item->engine->Submit(
      std::move(item->work),
      [this, channel, item](absl::StatusOr<core::Analysis> result) {
        Done(channel, item, std::move(result));
      });
  if (!status.ok()) Done(channel, item, status);
}

void StreamReactor::Done(const std::string& channel, Item* item,
                         absl::StatusOr<core::Analysis> result) {
  ServingState* const state = state_;
  Item* next = nullptr;
  std::vector<Answered> answered;
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    item->done = true;
    item->status = result.status();
    if (result.ok()) item->analysis = *std::move(result);
    Channel& ch = channels_.at(channel);
    --ch.in_engine;
    if (!ch.waiting.empty()) {
      next = ch.waiting.front();
      ch.waiting.pop_front();
      ++ch.in_engine;
    }
    answered = AnswerReadyLocked(channel);
    actions = NextLocked();
  }
  // From here on the call may be finished, and this reactor deleted, by
  // another thread (one writing the last answer), unless this thread holds
  // it open: with an action to carry out, or with `next` still unanswered.
  // The server's state outlives every reactor.
  Record(state, answered);
  if (actions.any()) Run(actions);
  if (next != nullptr) Submit(channel, next);
}

void StreamReactor::Record(ServingState* state,
                           const std::vector<Answered>& answered) {
  for (const Answered& a : answered) {
    state->Record(Rpc::kStreamAnalyze, a.status, a.read_at, a.level);
  }
}

std::vector<StreamReactor::Answered> StreamReactor::AnswerReadyLocked(
    const std::string& channel) {
  std::vector<Answered> answered;
  auto it = channels_.find(channel);
  std::deque<std::unique_ptr<Item>>& items = it->second.items;
  while (!items.empty() && items.front()->done) {
    Item& item = *items.front();
    v1::StreamAnalyzeResponse& response = item.response;
    std::optional<core::Level> level;
    if (item.status.ok()) {
      core::Analysis& analysis = *item.analysis;
      if (item.has_person) {
        const std::vector<core::PriorScore> history =
            context_store_->History(item.person, item.sent);
        item.engine->AddContext(history, item.sent, &analysis);
        context_store_->Record(item.person,
                               {item.sent, analysis.verdict.score});
      }
      ToProto(analysis, response.mutable_analysis());
      level = analysis.verdict.level;
    } else {
      response.mutable_error()->set_code(static_cast<int>(item.status.code()));
      response.mutable_error()->set_message(std::string(item.status.message()));
    }
    answered.push_back({item.status, item.read_at, level});
    --in_flight_;
    outbox_.push_back(SerializeFrame(response));
    items.pop_front();
  }
  if (items.empty()) channels_.erase(it);
  return answered;
}

void StreamReactor::RejectFrame(const absl::Status& status, uint64_t sequence,
                                absl::Time read_at) {
  state_->Record(Rpc::kStreamAnalyze, status, read_at);
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    bad_frame_ = absl::InvalidArgumentError(absl::StrCat(
        status.message(),
        "; every message before it was answered, nothing after it was read; "
        "resend from sequence ",
        sequence, " on a new stream"));
    actions = NextLocked();
  }
  Run(actions);
}

void StreamReactor::OnWriteDone(bool ok) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    outbox_.pop_front();
    if (!ok) write_failed_ = true;  // The client is gone.
    actions = NextLocked();
  }
  Run(actions);
}

void StreamReactor::OnCancel() {
  cancelled_flag_->store(true);
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    actions = NextLocked();
  }
  Run(actions);
}

void StreamReactor::OnDone() { delete this; }

bool StreamReactor::MarkDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  // Draining only ever stops reads, so the only possible action is finish.
  const Actions actions = NextLocked();
  if (actions.finish) drained_status_ = actions.status;
  return actions.finish;
}

void StreamReactor::FinishDrained() {
  // MarkDraining() claimed finished_, so nothing else finishes the call.
  grpc::Status status;
  {
    absl::MutexLock lock(&mu_);
    status = drained_status_;
  }
  Conclude(status);
}

StreamReactor::Actions StreamReactor::NextLocked() {
  Actions actions;
  if (finished_) return actions;
  const bool broken = cancelled_ || write_failed_;
  if (!writing_ && !outbox_.empty()) {
    if (broken) {
      outbox_.clear();  // Nobody is left to read these answers.
    } else {
      writing_ = true;
      actions.write = &outbox_.front();
    }
  }
  const bool stop_reading =
      reads_done_ || draining_ || broken || !bad_frame_.ok() || !refused_.ok();
  const size_t pending = static_cast<size_t>(in_flight_) + outbox_.size();
  if (!reading_ && !stop_reading &&
      pending < static_cast<size_t>(state_->stream_window())) {
    reading_ = true;
    actions.read = true;
  }
  if (stop_reading && !writing_ && outbox_.empty() && in_flight_ == 0) {
    finished_ = true;
    actions.finish = true;
    actions.status = FinalStatusLocked();
  }
  return actions;
}

grpc::Status StreamReactor::FinalStatusLocked() const {
  if (cancelled_) {
    return grpc::Status(grpc::StatusCode::CANCELLED,
                        "stream cancelled by the client");
  }
  if (write_failed_) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "could not write answers; the client went away");
  }
  if (!refused_.ok()) return ToGrpcStatus(refused_);
  if (!bad_frame_.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        std::string(bad_frame_.message()));
  }
  if (draining_ && !reads_done_) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "server is shutting down; every message it read was "
                        "answered; reconnect to send more");
  }
  return grpc::Status::OK;
}

void StreamReactor::Run(const Actions& actions) {
  if (actions.write != nullptr) StartWrite(actions.write);
  if (actions.read) StartRead(&frame_);
  if (actions.finish) Conclude(actions.status);
}

void StreamReactor::Conclude(const grpc::Status& status) {
  if (registered_) {
    state_->UnregisterStream(this);
    registered_ = false;
  }
  Finish(status);
}

}  // namespace lantern::server
