// The `lantern` command-line tool: argument parsing and one function per
// command, kept out of main.cc so tests can drive them with string streams.
//
// Output contract (stable; scripts rely on it):
//   stdout  results only: JSON (analyze, stream, status) or a health state.
//   stderr  `error: <CODE_NAME>: <message>` on failure, usage on bad usage,
//           the stream summary.
// Exit codes: kExitOk, kExitFailure (the call failed or the server is not
// SERVING), kExitUsage (unknown command or bad arguments).
#ifndef LANTERN_CLIENT_CLI_H_
#define LANTERN_CLIENT_CLI_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/bench.h"
#include "client/client.h"
#include "client/stories.h"
#include "google/protobuf/message.h"
#include "lantern/v1/chat.pb.h"

namespace lantern::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

enum class Command {
  kHelp,
  kAnalyze,
  kStream,
  kHealth,
  kStatus,
  kEval,
  kBench,
  kStories
};

// Everything the command line says. Fields a command does not use keep their
// defaults.
struct CliOptions {
  Command command = Command::kHelp;
  // --target, --timeout-ms.
  ClientOptions client;
  // analyze: TEXT... joined with single spaces, --id, --user, --channel.
  lantern::v1::ChatMessage message;
  // analyze: --pretty prints indented JSON instead of one line.
  bool pretty = false;
  // stream: false with --no-reconnect (see client/reliable_stream.h).
  bool reconnect = true;
  // health: --service NAME ("" = whole server).
  std::string service;
  // health: --wait SECONDS; unset = a single check.
  std::optional<absl::Duration> wait;
  // eval: FILE ("-" = stdin), --show-failures, --check.
  std::string eval_file;
  bool show_failures = false;
  bool check = false;
  // bench: its options (see client/bench.h).
  BenchOptions bench;
  // stories: its options (see client/stories.h).
  StoriesOptions stories;
};

// The help text: global options, every command and its options.
std::string UsageText();

// Parses argv (argv[0] is the program name). `default_target` is used when
// --target is absent (main passes $LANTERN_TARGET, or ClientOptions'
// default when that is unset or empty). -h/--help anywhere gives
// Command::kHelp. Returns INVALID_ARGUMENT with a one-line, user-facing
// reason on bad usage. Never throws.
absl::StatusOr<CliOptions> ParseCommandLine(int argc, const char* const* argv,
                                            absl::string_view default_target);

// Parses one input line of `lantern stream`: either a StreamAnalyzeRequest
// (`{"message": {...}}`) or a bare ChatMessage (`{"id": "m1", "text": ...}`),
// told apart by a top-level "message" key. Unknown fields are errors. A
// request without a message yields an empty ChatMessage (the server rejects
// it). Returns INVALID_ARGUMENT with the parser's reason (its first line,
// which never quotes the input) when the line is not valid JSON or not a
// valid message. The caller skips blank lines.
absl::StatusOr<lantern::v1::ChatMessage> ParseStreamLine(
    absl::string_view line);

// The stdout line `lantern stream` prints for input line `line_number`
// (1-based, blank lines counted) that ParseStreamLine() rejected with
// `status`: {"line":N,"error":{"code":C,"message":"line N is not a valid
// message: <status message>"}} (no newline).
std::string StreamLineErrorJson(int64_t line_number,
                                const absl::Status& status);

// Protobuf JSON with the CLI's options: proto field names, default-valued
// fields printed, enums as names, 64-bit integers as strings (the proto3 JSON
// mapping); one line unless `pretty`. Fails (INTERNAL) only for values JSON
// cannot express, e.g. an out-of-range Timestamp.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message,
                                   bool pretty);

// `error: <CODE_NAME>: <message>` (no newline).
std::string ErrorLine(const absl::Status& status);

// The commands. Each returns the process exit code.
int RunAnalyze(Client& client, const CliOptions& options, std::ostream& out,
               std::ostream& err);
// Reads JSON lines from `in` until EOF, one writer thread feeding a
// ReliableStream (client/reliable_stream.h) while responses are printed as
// they arrive. Unless options.reconnect is false, a server drain or restart
// is survived: unanswered messages are resent on a new stream. Every
// non-blank input line that was read gets exactly one line on `out`:
//   - a StreamAnalyzeResponse from the server (analysis or per-message
//     error), `sequence` = the message's position among those sent, from 0;
//   - {"line":N,"error":{...}} if the line is not a valid message (not sent);
//   - a StreamAnalyzeResponse with an error carrying the final code ("not
//     analysed: ...") for a message no server answered: the stream ended
//     with a status that is not retried, or retries ran out, or (with
//     reconnect off) the call ended early; resend those.
// After such an end no further input is read. Ends with `stream: N sent, N
// answered, N errors, N reconnects, N resent, N refused while full` on
// `err`, where errors counts every error line of the three kinds, resent
// counts writes of messages written on an earlier stream, and refused while
// full counts streams the server refused over --max-streams (their retries
// are among the reconnects; the other reconnects followed a drain or a lost
// connection). Returns kExitFailure only if the stream itself ended with an
// error (also printed on `err`, before the summary).
//
// If the stream ends for good while `in` is blocked (e.g. an interactive
// terminal), the function returns after 0.5 s without waiting for the next
// input line; the reader thread is then detached, so `in` must outlive the
// process (std::cin does).
int RunStream(Client& client, const CliOptions& options, std::istream& in,
              std::ostream& out, std::ostream& err);
int RunHealth(Client& client, const CliOptions& options, std::ostream& out,
              std::ostream& err);
int RunStatus(Client& client, std::ostream& out, std::ostream& err);

// The whole tool: parse, dispatch, report. `default_target` as for
// ParseCommandLine().
int RunCli(int argc, const char* const* argv, absl::string_view default_target,
           std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_CLI_H_
