#include "server/analyzer_service.h"

#include <utility>

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

}  // namespace

grpc::ServerUnaryReactor* AnalyzerService::Analyze(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_frame,
    grpc::ByteBuffer* response_frame) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto fail = [this, reactor](const absl::Status& status) {
    state_->Record(status);
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
  v1::AnalyzeRequest request;
  absl::Status parsed = ParseFrame(*request_frame, "the request", &request);
  if (parsed.ok())
    parsed = CheckRequiredFields(request.has_message(), request.message());
  if (!parsed.ok()) {
    fail(CallEndOr(*context, parsed));
    return reactor;
  }
  core::AnalysisRequest work;
  work.message = ToCoreMessage(request.message());
  work.deadline = DeadlineFromChrono(context->deadline());
  work.is_cancelled = [context] { return context->IsCancelled(); };
  const absl::Status submitted = state_->engine().Submit(
      std::move(work),
      [this, reactor, response_frame](absl::StatusOr<core::Analysis> result) {
        if (result.ok()) {
          v1::AnalyzeResponse response;
          ToProto(*result, response.mutable_analysis());
          *response_frame = SerializeFrame(response);
        }
        state_->Record(result.status());
        reactor->Finish(ToGrpcStatus(result.status()));
      });
  if (!submitted.ok()) fail(submitted);
  return reactor;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
AnalyzerService::StreamAnalyze(grpc::CallbackServerContext* context) {
  return new StreamReactor(state_, context, Authenticate(*context));
}

grpc::ServerUnaryReactor* AnalyzerService::GetStatus(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_frame,
    grpc::ByteBuffer* response_frame) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::GetStatusRequest request;
  absl::Status accepted = Authenticate(*context).status();
  if (accepted.ok()) {
    accepted = CallEndOr(*context,
                         ParseFrame(*request_frame, "the request", &request));
  }
  if (!accepted.ok()) {
    state_->Record(accepted);
    reactor->Finish(ToGrpcStatus(accepted));
    return reactor;
  }
  v1::GetStatusResponse response;
  FillStatus(*state_, &response);
  *response_frame = SerializeFrame(response);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

absl::StatusOr<std::string> AnalyzerService::Authenticate(
    const grpc::CallbackServerContext& context) const {
  if (auth_ == nullptr) return std::string();
  return auth_->Authenticate(context.client_metadata());
}

void FillStatus(const ServingState& state, v1::GetStatusResponse* response) {
  const core::EngineStats stats = state.engine().Stats();
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
  response->set_blas(state.blas().library);
  response->set_blas_is_reference(state.blas().is_reference);
}

}  // namespace lantern::server
