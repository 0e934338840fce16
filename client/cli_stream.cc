// `lantern stream`: JSON lines in, one JSON line out per input line.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <istream>
#include <map>
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
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "lantern/v1/analyzer.pb.h"

namespace lantern::client {
namespace {

// How long RunStream() waits for its reader thread after the call ended
// early. A thread still blocked on input after this is detached (see cli.h).
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

// State shared by RunStream() and its reader/writer thread. Shared-owned so
// that a detached writer never outlives what it touches.
struct StreamState {
  explicit StreamState(std::unique_ptr<AnalyzeStream> s)
      : stream(std::move(s)) {}

  const std::unique_ptr<AnalyzeStream> stream;

  // Serialises lines on the output stream.
  std::mutex out_mu;

  // Held around every Write()/WritesDone(), and by RunStream() when it sets
  // `stop` or `abandoned`, so Finish() never overlaps a write.
  std::mutex write_mu;
  // Guarded by write_mu. `stop`: the call is over; the writer must not
  // write, but still gives the line in hand its output line. `abandoned`:
  // RunStream() stopped waiting; the writer must touch nothing any more.
  bool stop = false;
  bool abandoned = false;

  std::mutex done_mu;
  std::condition_variable done_cv;
  bool writer_done = false;  // Guarded by done_mu.

  // Messages written (or whose write failed) and not answered yet, by
  // sequence: the server numbers requests 0, 1, 2... in the order it reads
  // them, which is the order of Write() calls.
  std::mutex unanswered_mu;
  std::map<uint64_t, std::string> unanswered;  // sequence -> message id

  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> errors{0};  // Every output line that is an error.
};

void PrintLine(StreamState& state, std::ostream& out, const std::string& line) {
  std::lock_guard<std::mutex> lock(state.out_mu);
  out << line << '\n';
  out.flush();
}

// Registers `message` as waiting for an answer, then writes it unless the
// call is over. Returns false if it was not written. Called with write_mu.
bool SendMessage(StreamState& state, const lantern::v1::ChatMessage& message) {
  const uint64_t sequence = static_cast<uint64_t>(state.sent.load());
  {
    // Registered before the write: the answer may come back before Write()
    // returns. A message that is not written stays registered, so its line
    // still gets an (error) output line.
    std::lock_guard<std::mutex> lock(state.unanswered_mu);
    state.unanswered.emplace(sequence, message.id());
  }
  if (state.stop || !state.stream->Write(message)) return false;
  ++state.sent;
  return true;
}

// The writer thread: reads `in` to EOF and writes each message; answers
// unparsable lines itself. Half-closes at EOF. Once a message cannot be
// written (the call is over), reads no further.
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
      sending = SendMessage(*state, *message);
    } else {
      ++state->errors;
      PrintLine(*state, out,
                StreamLineErrorJson(line_number, message.status()));
    }
  }
  {
    std::lock_guard<std::mutex> lock(state->write_mu);
    if (state->abandoned) return;
    if (sending && !state->stop) state->stream->WritesDone();
  }
  std::lock_guard<std::mutex> lock(state->done_mu);
  state->writer_done = true;
  state->done_cv.notify_all();
}

// One stdout line for a server response; if it cannot be printed as JSON,
// an error response for the same message instead, so the line count holds.
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

// Prints every response until the end of the stream. Returns their number.
int64_t PrintResponses(StreamState& state, std::ostream& out) {
  int64_t answered = 0;
  lantern::v1::StreamAnalyzeResponse response;
  while (state.stream->Read(&response)) {
    ++answered;
    if (response.has_error()) ++state.errors;
    {
      std::lock_guard<std::mutex> lock(state.unanswered_mu);
      state.unanswered.erase(response.sequence());
    }
    PrintLine(state, out, ResponseLine(response));
  }
  return answered;
}

// Called once the call is over. After a normal end the writer has already
// half-closed; after an early end (server drained, unreachable) it may be
// blocked on input that will never come, so stop it and wait only briefly.
void StopWriter(StreamState& state, std::thread& writer) {
  {
    std::lock_guard<std::mutex> lock(state.write_mu);
    state.stop = true;
  }
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

// Gives each message the server never answered its error line, so every
// input line that was read gets one output line. Only an early end leaves
// such messages (the proto says to resend them); after OK it would be a
// server bug.
void PrintUnanswered(StreamState& state, const absl::Status& final_status,
                     std::ostream& out) {
  const absl::Status status =
      final_status.ok()
          ? absl::InternalError("the stream ended without an answer")
          : final_status;
  std::lock_guard<std::mutex> lock(state.unanswered_mu);
  for (const auto& [sequence, message_id] : state.unanswered) {
    lantern::v1::StreamAnalyzeResponse response;
    response.set_message_id(message_id);
    response.set_sequence(sequence);
    response.mutable_error()->set_code(static_cast<int>(status.code()));
    response.mutable_error()->set_message(
        absl::StrCat("not analysed: ", absl::StatusCodeToString(status.code()),
                     ": ", status.message()));
    ++state.errors;
    PrintLine(state, out, ResponseLine(response));
  }
  state.unanswered.clear();
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

int RunStream(Client& client, std::istream& in, std::ostream& out,
              std::ostream& err) {
  auto state = std::make_shared<StreamState>(client.OpenStream());
  std::thread writer([state, &in, &out] { WriteLines(state, in, out); });
  const int64_t answered = PrintResponses(*state, out);
  StopWriter(*state, writer);
  const absl::Status status = state->stream->Finish();
  PrintUnanswered(*state, status, out);
  if (!status.ok()) err << ErrorLine(status) << '\n';
  err << "stream: " << state->sent << " sent, " << answered << " answered, "
      << state->errors << " errors" << std::endl;
  return status.ok() ? kExitOk : kExitFailure;
}

}  // namespace lantern::client
