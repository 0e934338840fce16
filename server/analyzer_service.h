// lantern.v1.Analyzer: thin adapters from protos to the core engine.
// Inference never runs on a gRPC thread: handlers validate, hand work to the
// engine and finish the call from the engine's completion callback.
//
// Every method is registered raw (ByteBuffer in and out) and parses its own
// requests. gRPC 1.51's typed callback handlers answer a request that does
// not parse with UNIMPLEMENTED and an empty message, and a bad frame inside a
// stream silently ends it with OK; parsing here turns both into
// INVALID_ARGUMENT that says what was wrong, and counts them.
#ifndef LANTERN_SERVER_ANALYZER_SERVICE_H_
#define LANTERN_SERVER_ANALYZER_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "lantern/v1/analyzer.grpc.pb.h"
#include "server/auth.h"
#include "server/serving_state.h"

namespace lantern::server {

class AnalyzerService final
    : public v1::Analyzer::WithRawCallbackMethod_Analyze<
          v1::Analyzer::WithRawCallbackMethod_StreamAnalyze<
              v1::Analyzer::WithRawCallbackMethod_GetStatus<
                  v1::Analyzer::Service>>> {
 public:
  // `state` and `auth` must outlive the service; without `auth` (null) no
  // call needs a token.
  AnalyzerService(ServingState* state, const TokenAuth* auth)
      : state_(state), auth_(auth) {}

  // Request: AnalyzeRequest; response: AnalyzeResponse.
  grpc::ServerUnaryReactor* Analyze(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;

  // Frames: StreamAnalyzeRequest in, StreamAnalyzeResponse out.
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StreamAnalyze(
      grpc::CallbackServerContext* context) override;

  // Request: GetStatusRequest; response: GetStatusResponse.
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;

 private:
  // The caller's name ("" without auth), or UNAUTHENTICATED.
  absl::StatusOr<std::string> Authenticate(
      const grpc::CallbackServerContext& context) const;

  ServingState* const state_;
  const TokenAuth* const auth_;
};

// Fills a GetStatusResponse from the engine and the counters.
void FillStatus(const ServingState& state, v1::GetStatusResponse* response);

}  // namespace lantern::server

#endif  // LANTERN_SERVER_ANALYZER_SERVICE_H_
