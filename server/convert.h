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
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "lantern/v1/analyzer.pb.h"

namespace lantern::server {

// Same code, same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// gRPC's retry pushback (gRFC A6, "gRPC Retry Design"): trailing metadata
// in which a server tells a client how many milliseconds to wait before it
// retries (a negative value: do not retry). gRPC's own retries honour it
// for calls whose retry policy names the code; ReliableStream does too.
inline constexpr char kRetryPushbackKey[] = "grpc-retry-pushback-ms";

// The wait a caller refused over capacity is asked for. A queue of
// --max-queue (1,024) messages takes about a second to work off at the
// measured throughput (docs/benchmarks.md), and a stream slot frees when a
// feed ends, which no short wait predicts; a second costs a refused feed
// little and keeps a crowd of reconnecting clients from hammering.
inline constexpr absl::Duration kOverCapacityPushback = absl::Seconds(1);

// Adds kRetryPushbackKey = kOverCapacityPushback to `context`'s trailing
// metadata when `status` is ResourceExhausted; call it before the call is
// finished. Every ResourceExhausted Lantern's own code returns means over
// capacity (--max-queue, --max-streams), which a retry may get past; gRPC's
// own (a request over the size limit) never reaches Lantern's code, so it
// carries no hint, and a retry of it would fail again.
void AddRetryPushback(const absl::Status& status,
                      grpc::ServerContextBase& context);

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
