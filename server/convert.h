// Conversions between lantern.v1 protos and core types, and the one place
// absl::Status becomes grpc::Status.
#ifndef LANTERN_SERVER_CONVERT_H_
#define LANTERN_SERVER_CONVERT_H_

#include <chrono>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/engine.h"
#include "grpcpp/support/status.h"
#include "lantern/v1/analyzer.pb.h"

namespace lantern::server {

// Same code, same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// InvalidArgument when a request has no message, or its message no text.
absl::Status CheckRequiredFields(bool has_message, const v1::ChatMessage& message);

core::Message ToCoreMessage(const v1::ChatMessage& message);

v1::CrisisLevel ToProtoLevel(core::Level level);

void ToProto(const core::Analysis& analysis, v1::Analysis* out);

// gRPC reports "no deadline" as a far-future time point; that becomes
// absl::InfiniteFuture().
absl::Time DeadlineFromChrono(std::chrono::system_clock::time_point deadline);

}  // namespace lantern::server

#endif  // LANTERN_SERVER_CONVERT_H_
