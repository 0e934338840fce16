#include "server/analyzer_service.h"

#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/convert.h"
#include "server/options.h"
#include "server/stream_reactor.h"

namespace lantern::server {
namespace {

// A raw unary handler also runs for a call that died before its request
// arrived (deadline passed, client cancelled), with an empty request. Its
// parse error is then the call's end, not the client's bytes.
absl::Status CallEndOr(const grpc::CallbackServerContext& context,
                       absl::Status status) {
  if (status.ok() || !context.IsCancelled()) return status;
  if (absl::FromChrono(context.deadline()) <= absl::Now()) {
    return absl::DeadlineExceededError(
        "the call's deadline passed before its request arrived");
  }
  return absl::CancelledError(
      "the call was cancelled before its request arrived");
}

// InvalidArgument when AnalyzeRequest.history breaks a rule of the proto:
// too many entries, a missing sent_at (on an entry, or on the message when
// history is given), an entry sent after the message, a score outside 0..1,
// or neither text nor score.
absl::Status CheckHistory(const v1::AnalyzeRequest& request, int max_messages) {
  const int n = request.history_size();
  if (n == 0) return absl::OkStatus();
  if (n > max_messages) {
    return absl::InvalidArgumentError(
        absl::StrCat("history has ", n, " messages; this server takes at most ",
                     max_messages, " (--context-messages)"));
  }
  if (!request.message().has_sent_at()) {
    return absl::InvalidArgumentError(
        "message.sent_at is required when history is given");
  }
  const absl::Time sent = FromProtoTime(request.message().sent_at());
  for (int i = 0; i < n; ++i) {
    const v1::PriorMessage& prior = request.history(i);
    const std::string where = absl::StrCat("history[", i, "]");
    if (!prior.message().has_sent_at()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".message.sent_at is required"));
    }
    if (FromProtoTime(prior.message().sent_at()) > sent) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " was sent after the message"));
    }
    if (prior.has_score()) {
      if (!(prior.score() >= 0.0f && prior.score() <= 1.0f)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".score must be within 0..1"));
      }
    } else if (prior.message().text().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".message.text is required unless score is set"));
    }
  }
  return absl::OkStatus();
}

// One Analyze call: its message and the history entries without a score
// go to the engine together; the last answer to arrive finishes the call.
class UnaryAnalysis : public std::enable_shared_from_this<UnaryAnalysis> {
 public:
  using Finish = std::function<void(absl::StatusOr<core::Analysis>)>;

  UnaryAnalysis(std::shared_ptr<core::Engine> engine,
                const v1::AnalyzeRequest& request, Finish finish)
      : engine_(std::move(engine)),
        has_person_(!request.message().user_id().empty()),
        sent_(request.message().has_sent_at()
                  ? FromProtoTime(request.message().sent_at())
                  : absl::Now()),
        finish_(std::move(finish)) {
    for (const v1::PriorMessage& prior : request.history()) {
      history_.push_back(
          {FromProtoTime(prior.message().sent_at()), prior.score()});
    }
  }

  // Submits the work; `finish` runs exactly once, maybe before this
  // returns.
  void Start(const v1::AnalyzeRequest& request,
             const core::AnalysisRequest& base) {
    std::vector<int> to_analyse;
    for (int i = 0; i < request.history_size(); ++i) {
      if (!request.history(i).has_score()) to_analyse.push_back(i);
    }
    {
      absl::MutexLock lock(&mu_);
      pending_ = static_cast<int>(to_analyse.size()) + 1;
    }
    for (int i : to_analyse) {
      core::AnalysisRequest work = base;
      work.message = ToCoreMessage(request.history(i).message());
      SubmitOne(std::move(work), i);
    }
    core::AnalysisRequest work = base;
    work.message = ToCoreMessage(request.message());
    SubmitOne(std::move(work), -1);
  }

 private:
  // `index` is the history entry, or -1 for the message itself.
  void SubmitOne(core::AnalysisRequest work, int index) {
    auto self = shared_from_this();
    const absl::Status submitted = engine_->Submit(
        std::move(work), [self, index](absl::StatusOr<core::Analysis> result) {
          self->Arrive(index, std::move(result));
        });
    if (!submitted.ok()) Arrive(index, submitted);
  }

  void Arrive(int index, absl::StatusOr<core::Analysis> result) {
    {
      absl::MutexLock lock(&mu_);
      if (!result.ok()) {
        if (status_.ok()) {
          status_ = index < 0
                        ? result.status()
                        : absl::Status(result.status().code(),
                                       absl::StrCat("history[", index, "]: ",
                                                    result.status().message()));
        }
      } else if (index < 0) {
        analysis_ = *std::move(result);
      } else {
        history_[index].score = result->verdict.score;
      }
      if (--pending_ > 0) return;
    }
    // The last answer: nothing else touches the members now.
    if (!status_.ok()) {
      finish_(status_);
      return;
    }
    if (has_person_) engine_->AddContext(history_, sent_, &*analysis_);
    finish_(*std::move(analysis_));
  }

  // Held until the call finishes (see ServingState::engine()).
  const std::shared_ptr<core::Engine> engine_;
  const bool has_person_;
  const absl::Time sent_;
  const Finish finish_;
  absl::Mutex mu_;
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<core::PriorScore> history_;
  std::optional<core::Analysis> analysis_;
  absl::Status status_;
};

}  // namespace

grpc::ServerUnaryReactor* AnalyzerService::Analyze(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_frame,
    grpc::ByteBuffer* response_frame) {
  const absl::Time started = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto fail = [this, reactor, started](const absl::Status& status) {
    state_->Record(Rpc::kAnalyze, status, started);
    reactor->Finish(ToGrpcStatus(status));
  };
  const absl::StatusOr<std::string> caller = Authenticate(*context);
  if (!caller.ok()) {
    fail(caller.status());
    return reactor;
  }
  if (!caller->empty()) state_->CountCaller(*caller);
  if (state_->draining()) {
    fail(absl::UnavailableError(
        "server is shutting down; retry on another replica"));
    return reactor;
  }
  const std::shared_ptr<core::Engine> engine = state_->engine();
  v1::AnalyzeRequest request;
  absl::Status parsed = ParseFrame(*request_frame, "the request", &request);
  if (parsed.ok())
    parsed = CheckRequiredFields(request.has_message(), request.message());
  if (parsed.ok()) {
    parsed = CheckHistory(request, engine->context_options().max_messages);
  }
  if (!parsed.ok()) {
    fail(CallEndOr(*context, parsed));
    return reactor;
  }
  core::AnalysisRequest work;
  work.deadline = DeadlineFromChrono(context->deadline());
  work.is_cancelled = [context] { return context->IsCancelled(); };
  auto call = std::make_shared<UnaryAnalysis>(
      engine, request,
      [this, context, reactor, response_frame,
       started](absl::StatusOr<core::Analysis> result) {
        std::optional<core::Level> level;
        if (result.ok()) {
          v1::AnalyzeResponse response;
          ToProto(*result, response.mutable_analysis());
          *response_frame = SerializeFrame(response);
          level = result->verdict.level;
        }
        state_->Record(Rpc::kAnalyze, result.status(), started, level);
        // The engine's queue is full (--max-queue): worth a retry later.
        AddRetryPushback(result.status(), *context);
        reactor->Finish(ToGrpcStatus(result.status()));
      });
  call->Start(request, work);
  return reactor;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
AnalyzerService::StreamAnalyze(grpc::CallbackServerContext* context) {
  return new StreamReactor(state_, context, Authenticate(*context));
}

grpc::ServerUnaryReactor* AnalyzerService::GetStatus(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_frame,
    grpc::ByteBuffer* response_frame) {
  const absl::Time started = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::GetStatusRequest request;
  absl::Status accepted = Authenticate(*context).status();
  if (accepted.ok()) {
    accepted = CallEndOr(*context,
                         ParseFrame(*request_frame, "the request", &request));
  }
  if (!accepted.ok()) {
    state_->Record(Rpc::kGetStatus, accepted, started);
    reactor->Finish(ToGrpcStatus(accepted));
    return reactor;
  }
  v1::GetStatusResponse response;
  FillStatus(*state_, &response);
  *response_frame = SerializeFrame(response);
  state_->Record(Rpc::kGetStatus, absl::OkStatus(), started);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

absl::StatusOr<std::string> AnalyzerService::Authenticate(
    const grpc::CallbackServerContext& context) const {
  if (auth_ == nullptr) return std::string();
  return auth_->Authenticate(context.client_metadata());
}

void FillStatus(const ServingState& state, v1::GetStatusResponse* response) {
  const core::EngineStats stats = state.engine()->Stats();
  response->set_version(ServerVersion());
  const absl::Time now = absl::Now();
  const int64_t started_us = absl::ToUnixMicros(state.started_at());
  response->mutable_started_at()->set_seconds(started_us / 1000000);
  response->mutable_started_at()->set_nanos(
      static_cast<int32_t>(started_us % 1000000) * 1000);
  response->set_uptime_seconds(absl::ToInt64Seconds(now - state.started_at()));
  response->set_ready(stats.ready);
  response->set_draining(state.draining());
  for (const core::ModelStats& m : stats.models) {
    v1::ModelStatus* model = response->add_models();
    model->set_name(m.name);
    model->set_version(m.version);
    model->set_role(m.role);
    model->set_loaded(m.loaded);
    model->set_warmed(m.warmed);
    model->set_warmup_time_us(absl::ToInt64Microseconds(m.warmup_time));
    model->set_handles(m.handles);
    model->set_handles_in_use(m.handles_in_use);
    model->set_inferences(m.inferences);
    model->set_failures(m.failures);
    model->set_batches(m.batches);
    model->set_queue_time_us(absl::ToInt64Microseconds(m.queue_time));
    model->set_compute_time_us(absl::ToInt64Microseconds(m.compute_time));
    model->set_error(m.error);
  }
  response->set_requests_served(state.served());
  for (const auto& [code, count] : state.errors()) {
    (*response->mutable_errors())[code] = count;
  }
  for (const auto& [caller, count] : state.messages_by_caller()) {
    (*response->mutable_messages_by_caller())[caller] = count;
  }
  response->set_active_streams(state.active_streams());
  response->set_queue_depth(stats.queue_depth);
  response->set_worker_threads(stats.worker_threads);
  response->set_torch_threads(stats.torch_threads);
  response->set_startup_time_us(state.startup_time_us());
  v1::CacheStatus* cache = response->mutable_cache();
  cache->set_hits(stats.cache.hits);
  cache->set_misses(stats.cache.misses);
  cache->set_evictions(stats.cache.evictions);
  cache->set_entries(stats.cache.size);
  cache->set_capacity(stats.cache.capacity);
  const core::ContextBudget::Stats context = state.context_stats();
  v1::ContextStatus* c = response->mutable_context();
  c->set_people(context.people);
  c->set_capacity(context.capacity);
  c->set_records(context.records);
  c->set_people_evicted(context.people_evicted);
  c->set_records_evicted(context.records_evicted);
  c->set_records_expired(context.records_expired);
  response->set_blas(state.blas().library);
  response->set_blas_is_reference(state.blas().is_reference);
}

}  // namespace lantern::server
