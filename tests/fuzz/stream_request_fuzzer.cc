// The stream request path of the server, up to the engine: a frame's bytes
// -> lantern.v1.StreamAnalyzeRequest (server::ParseFrame) -> required
// fields (server::CheckRequiredFields) -> core::Message
// (server::ToCoreMessage) -> core::ValidateMessage.
//
// Input: one frame, as a client sends it on StreamAnalyze. It is parsed
// from one slice and from two (split at a point the input picks), which
// must agree. Errors must never quote the message text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/engine.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "lantern/v1/analyzer.pb.h"
#include "server/convert.h"
#include "tests/fuzz/fuzz_util.h"

namespace lantern::fuzz {
namespace {

// An error that quoted the text would change when the text's letters do
// (the same letters at the same offsets keep every other property: UTF-8
// validity, length, visibility). Comparing two errors, rather than looking
// for the text in one, ignores text that happens to match the error's own
// words.
void CheckNotQuoted(const core::Message& message, const absl::Status& error) {
  core::Message masked = message;
  for (char& c : masked.text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
      c = c == 'q' ? 'z' : 'q';
  }
  if (masked.text == message.text) return;
  const absl::StatusOr<std::string> again = core::ValidateMessage(masked, 4096);
  LANTERN_FUZZ_CHECK(!again.ok() &&
                     again.status().message() == error.message());
}

absl::Status Parse(const grpc::ByteBuffer& frame,
                   v1::StreamAnalyzeRequest* request) {
  return server::ParseFrame(frame, "stream message 1", request);
}

}  // namespace
}  // namespace lantern::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lantern;
  grpc::Slice whole(data, size);
  const grpc::ByteBuffer frame(&whole, 1);
  v1::StreamAnalyzeRequest request;
  const absl::Status parsed = fuzz::Parse(frame, &request);

  const size_t split = size == 0 ? 0 : data[0] % (size + 1);
  grpc::Slice halves[2] = {grpc::Slice(data, split),
                           grpc::Slice(data + split, size - split)};
  const grpc::ByteBuffer two_slices(halves, 2);
  v1::StreamAnalyzeRequest request2;
  const absl::Status parsed2 = fuzz::Parse(two_slices, &request2);
  LANTERN_FUZZ_CHECK(parsed.ok() == parsed2.ok());

  if (!parsed.ok()) {
    LANTERN_FUZZ_CHECK(parsed.code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  LANTERN_FUZZ_CHECK(request.SerializeAsString() ==
                     request2.SerializeAsString());

  // What the server sends back parses to the same request.
  v1::StreamAnalyzeRequest round_trip;
  LANTERN_FUZZ_CHECK(
      fuzz::Parse(server::SerializeFrame(request), &round_trip).ok());
  LANTERN_FUZZ_CHECK(round_trip.SerializeAsString() ==
                     request.SerializeAsString());

  const absl::Status required =
      server::CheckRequiredFields(request.has_message(), request.message());
  if (!required.ok()) {
    LANTERN_FUZZ_CHECK(required.code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  const core::Message message = server::ToCoreMessage(request.message());
  LANTERN_FUZZ_CHECK(message.text == request.message().text());
  const absl::StatusOr<std::string> normalized =
      core::ValidateMessage(message, 4096);
  if (!normalized.ok()) {
    LANTERN_FUZZ_CHECK(normalized.status().code() ==
                       absl::StatusCode::kInvalidArgument);
    fuzz::CheckNotQuoted(message, normalized.status());
    return 0;
  }
  LANTERN_FUZZ_CHECK(!normalized->empty());
  return 0;
}
