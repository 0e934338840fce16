// Conversions between lantern.v1 protos and core types, and the one place
// absl::Status becomes grpc::Status.
#ifndef LANTERN_SERVER_CONVERT_H_
#define LANTERN_SERVER_CONVERT_H_

#include <chrono>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/engine.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "lantern/v1/analyzer.pb.h"

namespace lantern::server {

// Same code, same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Parses one request frame received by a raw method (see
// server/analyzer_service.h). InvalidArgument naming `what` when the bytes
// are not a valid message of `out`'s type (bad wire format, truncated,
// nested deeper than protobuf's recursion limit). The bytes are never
// echoed.
absl::Status ParseFrame(const grpc::ByteBuffer& frame, absl::string_view what,
                        google::protobuf::Message* out);

// Serializes a response for a raw method.
grpc::ByteBuffer SerializeFrame(const google::protobuf::Message& message);

// InvalidArgument when a request has no message, or its message no text.
absl::Status CheckRequiredFields(bool has_message,
                                 const v1::ChatMessage& message);

core::Message ToCoreMessage(const v1::ChatMessage& message);

v1::CrisisLevel ToProtoLevel(core::Level level);

void ToProto(const core::Analysis& analysis, v1::Analysis* out);
void ToProto(const core::ConversationContext& context,
             v1::ConversationContext* out);

absl::Time FromProtoTime(const google::protobuf::Timestamp& t);

// gRPC reports "no deadline" as a far-future time point; that becomes
// absl::InfiniteFuture().
absl::Time DeadlineFromChrono(std::chrono::system_clock::time_point deadline);

}  // namespace lantern::server

#endif  // LANTERN_SERVER_CONVERT_H_
