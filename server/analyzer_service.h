// lantern.v1.Analyzer: thin adapters from protos to the core engine.
// Inference never runs on a gRPC thread: handlers validate, hand work to the
// engine and finish the call from the engine's completion callback.
#ifndef LANTERN_SERVER_ANALYZER_SERVICE_H_
#define LANTERN_SERVER_ANALYZER_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "lantern/v1/analyzer.grpc.pb.h"
#include "server/serving_state.h"

namespace lantern::server {

class AnalyzerService final : public v1::Analyzer::CallbackService {
 public:
  // `state` must outlive the service.
  explicit AnalyzerService(ServingState* state) : state_(state) {}

  grpc::ServerUnaryReactor* Analyze(grpc::CallbackServerContext* context,
                                    const v1::AnalyzeRequest* request,
                                    v1::AnalyzeResponse* response) override;

  grpc::ServerBidiReactor<v1::StreamAnalyzeRequest, v1::StreamAnalyzeResponse>*
  StreamAnalyze(grpc::CallbackServerContext* context) override;

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::GetStatusResponse* response) override;

 private:
  ServingState* const state_;
};

// Fills a GetStatusResponse from the engine and the counters.
void FillStatus(const ServingState& state, v1::GetStatusResponse* response);

}  // namespace lantern::server

#endif  // LANTERN_SERVER_ANALYZER_SERVICE_H_
