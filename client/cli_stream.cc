// `lantern stream`: JSON lines in, one JSON line out per input line.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <istream>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/cli.h"
#include "client/reliable_stream.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "lantern/v1/analyzer.pb.h"

namespace lantern::client {
namespace {

// How long RunStream() waits for its writer thread after the stream gave
// up. A thread still blocked on input after this is detached (see cli.h).
constexpr std::chrono::milliseconds kWriterGrace(500);

// Parses `line` into `message`; on failure returns the parser's reason. Only
// the first line of protobuf's message is kept: the rest is a snippet of the
// input, which may hold message text.
absl::Status ParseJson(absl::string_view line,
                       google::protobuf::Message* message) {
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(line.data(), line.size()), message,
      google::protobuf::util::JsonParseOptions());
  if (status.ok()) return absl::OkStatus();
  absl::string_view reason(status.message().data(), status.message().size());
  reason = reason.substr(0, reason.find('\n'));
  // Errors at the root come with an empty field path: ": Root element...".
  absl::ConsumePrefix(&reason, ": ");
  return absl::InvalidArgumentError(reason);
}

// State shared by RunStream(), its writer thread and the answer callback.
// Shared-owned so that a detached writer never outlives what it touches.
struct StreamState {
  // Serialises lines on the output stream.
  std::mutex out_mu;

  // Held by the writer around every use of `stream` and the output, and by
  // RunStream() when it sets `abandoned`.
  std::mutex write_mu;
  // Guarded by write_mu: RunStream() stopped waiting; the writer must touch
  // nothing any more.
  bool abandoned = false;

  std::mutex done_mu;
  std::condition_variable done_cv;
  bool writer_done = false;  // Guarded by done_mu.

  std::atomic<int64_t> errors{0};  // Every output line that is an error.

  // Set before the writer starts; its callback prints through this state.
  std::unique_ptr<ReliableStream> stream;
};

void PrintLine(StreamState& state, std::ostream& out, const std::string& line) {
  std::lock_guard<std::mutex> lock(state.out_mu);
  out << line << '\n';
  out.flush();
}

// One stdout line for a response; if it cannot be printed as JSON, an error
// response for the same message instead, so the line count holds.
std::string ResponseLine(const lantern::v1::StreamAnalyzeResponse& response) {
  absl::StatusOr<std::string> json = ToJson(response, /*pretty=*/false);
  if (json.ok()) return *std::move(json);
  lantern::v1::StreamAnalyzeResponse replacement;
  replacement.set_message_id(response.message_id());
  replacement.set_sequence(response.sequence());
  replacement.mutable_error()->set_code(static_cast<int>(json.status().code()));
  replacement.mutable_error()->set_message(
      std::string(json.status().message()));
  return ToJson(replacement, /*pretty=*/false).value_or("{}");
}

// Hands `message` to the stream. A message it refuses (it has given up) gets
// its "not analysed" line here, since the stream never reports it. Returns
// false when refused. Called with write_mu.
bool SendMessage(StreamState& state, std::ostream& out,
                 lantern::v1::ChatMessage message) {
  // Only this thread sends, so this is the index the message would get.
  const uint64_t index = static_cast<uint64_t>(state.stream->stats().accepted);
  const std::string id = message.id();
  const absl::Status sent = state.stream->Send(std::move(message));
  if (sent.ok()) return true;
  ++state.errors;
  PrintLine(state, out, ResponseLine(NotAnalysedResponse(index, id, sent)));
  return false;
}

// The writer thread: reads `in` to EOF and sends each message (blocking
// while the stream has its fill of unanswered messages); answers unparsable
// lines itself. Closes the stream at EOF. Once a message is refused (the
// stream has given up), reads no further.
void WriteLines(const std::shared_ptr<StreamState>& state, std::istream& in,
                std::ostream& out) {
  int64_t line_number = 0;
  bool sending = true;
  std::string line;
  while (sending && std::getline(in, line)) {
    ++line_number;
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty()) continue;
    absl::StatusOr<lantern::v1::ChatMessage> message = ParseStreamLine(text);
    std::lock_guard<std::mutex> lock(state->write_mu);
    if (state->abandoned) return;
    if (message.ok()) {
      sending = SendMessage(*state, out, *std::move(message));
    } else {
      ++state->errors;
      PrintLine(*state, out,
                StreamLineErrorJson(line_number, message.status()));
    }
  }
  {
    std::lock_guard<std::mutex> lock(state->write_mu);
    if (state->abandoned) return;
    if (sending) state->stream->CloseSend();
  }
  std::lock_guard<std::mutex> lock(state->done_mu);
  state->writer_done = true;
  state->done_cv.notify_all();
}

// Called once the stream is over. After a normal end the writer has
// already closed it; after the stream gave up, the writer may be blocked on
// input that will never come, so wait only briefly.
void StopWriter(StreamState& state, std::thread& writer) {
  bool writer_done;
  {
    std::unique_lock<std::mutex> lock(state.done_mu);
    writer_done = state.done_cv.wait_for(
        lock, kWriterGrace, [&state] { return state.writer_done; });
  }
  if (writer_done) {
    writer.join();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(state.write_mu);
    state.abandoned = true;
  }
  writer.detach();
}

}  // namespace

absl::StatusOr<lantern::v1::ChatMessage> ParseStreamLine(
    absl::string_view line) {
  // Parse as a generic object first: it tells invalid JSON apart from a
  // valid object of the wrong shape, and shows which shape was meant.
  google::protobuf::Struct object;
  if (absl::Status s = ParseJson(line, &object); !s.ok()) return s;
  if (object.fields().count("message") > 0) {
    lantern::v1::StreamAnalyzeRequest request;
    if (absl::Status s = ParseJson(line, &request); !s.ok()) return s;
    return std::move(*request.mutable_message());
  }
  lantern::v1::ChatMessage message;
  if (absl::Status s = ParseJson(line, &message); !s.ok()) return s;
  return message;
}

std::string StreamLineErrorJson(int64_t line_number,
                                const absl::Status& status) {
  // MessageError has exactly the {code, message} shape and gives correct
  // JSON string escaping for free.
  lantern::v1::MessageError error;
  error.set_code(static_cast<int>(status.code()));
  error.set_message(absl::StrCat(
      "line ", line_number, " is not a valid message: ", status.message()));
  return absl::StrCat("{\"line\":", line_number, ",\"error\":",
                      ToJson(error, /*pretty=*/false).value_or("{}"), "}");
}

int RunStream(Client& client, const CliOptions& options, std::istream& in,
              std::ostream& out, std::ostream& err) {
  auto state = std::make_shared<StreamState>();
  ReliableStreamOptions stream_options;
  if (!options.reconnect) stream_options.max_attempts = 0;
  // A raw pointer: the state owns the stream, which owns the callback.
  absl::StatusOr<std::unique_ptr<ReliableStream>> stream =
      ReliableStream::Create(client, stream_options,
                             [raw = state.get(), &out](StreamAnswer answer) {
                               if (answer.response.has_error()) ++raw->errors;
                               PrintLine(*raw, out,
                                         ResponseLine(answer.response));
                             });
  if (!stream.ok()) {
    err << ErrorLine(stream.status()) << '\n';
    return kExitFailure;
  }
  state->stream = *std::move(stream);
  std::thread writer([state, &in, &out] { WriteLines(state, in, out); });
  const absl::Status status = state->stream->Wait();
  StopWriter(*state, writer);
  const ReliableStreamStats stats = state->stream->stats();
  if (!status.ok()) err << ErrorLine(status) << '\n';
  err << "stream: " << stats.accepted << " sent, " << stats.answered
      << " answered, " << state->errors << " errors, " << stats.reconnects
      << " reconnects, " << stats.resent << " resent, " << stats.refused_full
      << " refused while full" << std::endl;
  return status.ok() ? kExitOk : kExitFailure;
}

}  // namespace lantern::client
