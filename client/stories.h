// `lantern stories`: runs scripted conversations ("stories") through a server
// and scores whether the crisis team would have been alerted in time, with
// conversation context (Analysis.level) and without it (the message alone:
// Analysis.context.message_level), side by side.
//
// Input: JSON lines, one story each:
//   {"id": "en-esc-01", "language": "en", "kind": "escalation",
//    "split": "dev", "messages": [{"user": "u1", "channel": "c1",
//    "minute": 0, "text": "..."}, ...], "alert": [{"user": "u1", "at": 5}]}
// Other keys ("voice", "note", ...) are ignored. `at` is a 0-based index
// into `messages`; `"alert": []` means no alert is wanted.
//
// Scoring, per story and per column, with A the alert level (HIGH unless
// --alert-level says otherwise) and "flagged" meaning level >= A:
//   expected alert {user, at}: on time when a message of `user` with index
//     <= at is flagged; late when only a later message of `user` is; missed
//     otherwise.
//   story with no expected alert ("benign"): a false alert when any of its
//     messages is flagged (the first one is named).
// A message the server answered with an error is never flagged; errors are
// counted separately and make the command exit 1.
//
// Privacy: nothing here prints or returns message text. Parse errors name
// the file, line and field; reports name story ids, users, indices and
// levels.
#ifndef LANTERN_CLIENT_STORIES_H_
#define LANTERN_CLIENT_STORIES_H_

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "lantern/v1/analyzer.pb.h"

namespace boost::program_options {
class options_description;
class positional_options_description;
class variables_map;
}  // namespace boost::program_options

namespace lantern::client {

struct StoryMessage {
  std::string user;
  std::string channel;  // "" when the story gives none
  int64_t minute = 0;   // minutes after the story's start
  std::string text;
};

struct ExpectedAlert {
  std::string user;
  int at = 0;  // index into Story::messages
};

struct Story {
  std::string id;
  std::string language;
  std::string kind;
  std::string split;
  // At least one; minutes never decrease.
  std::vector<StoryMessage> messages;
  // Empty for a benign story. Each `at` is a valid index, and `user` has a
  // message at or before it.
  std::vector<ExpectedAlert> alerts;
  // "FILE:LINE" the story came from (ids may repeat across files).
  std::string source;
};

// Parses one story line. INVALID_ARGUMENT naming the field (e.g.
// "messages[2].minute must be a whole number >= 0"); never quotes a value.
absl::StatusOr<Story> ParseStoryLine(absl::string_view line);

// Parses every non-blank line of `in`; `file` names it in errors and in
// Story::source. INVALID_ARGUMENT "FILE:LINE: <reason>" at the first bad
// line.
absl::StatusOr<std::vector<Story>> ParseStories(std::istream& in,
                                                absl::string_view file);

// Every story starts at 2026-01-01T12:00:00Z; a message is sent `minute`
// minutes later.
inline constexpr int64_t kStoryStartUnixSeconds = 1767268800;

// The ChatMessage for story.messages[index]: id "<story id>#<index>", user,
// channel, sent_at and text.
lantern::v1::ChatMessage StoryChatMessage(const Story& story, int index);

// What the server said about one message.
struct MessageVerdict {
  // Analysis.level, or UNSPECIFIED when `error` is set.
  lantern::v1::CrisisLevel level = lantern::v1::CRISIS_LEVEL_UNSPECIFIED;
  // Analysis.context.message_level (Analysis.level when the answer has no
  // context), or UNSPECIFIED when `error` is set.
  lantern::v1::CrisisLevel message_level =
      lantern::v1::CRISIS_LEVEL_UNSPECIFIED;
  float score = 0.0f;  // Analysis.score
  absl::Status error;  // the per-message error, if any
};

MessageVerdict VerdictFromAnalysis(const lantern::v1::Analysis& analysis);
MessageVerdict VerdictFromError(absl::Status error);

// Most earlier messages one unary Analyze sends as history: the server's
// default --context-messages (a larger history is INVALID_ARGUMENT).
inline constexpr int kMaxUnaryHistory = 16;

// The unary request for story.messages[index]: the message, and as history
// the latest kMaxUnaryHistory earlier messages of the same (channel, user),
// oldest first, each with sent_at and `score` from `earlier[j]` (no text).
// Earlier messages that got an error are left out, as a stream does not
// remember them. `earlier` holds at least `index` verdicts.
lantern::v1::AnalyzeRequest StoryUnaryRequest(
    const Story& story, int index, const std::vector<MessageVerdict>& earlier);

enum class AlertOutcome { kOnTime, kLate, kMissed };
const char* AlertOutcomeName(AlertOutcome outcome);  // "on time", ...

struct AlertResult {
  ExpectedAlert alert;
  AlertOutcome outcome = AlertOutcome::kMissed;
  int first_flagged = -1;  // first flagged message of the user, or -1
  // The highest level any message of the user got (UNSPECIFIED if all
  // failed).
  lantern::v1::CrisisLevel highest = lantern::v1::CRISIS_LEVEL_UNSPECIFIED;
};

// One column's score of one story.
struct StoryOutcome {
  std::vector<AlertResult> alerts;  // one per Story::alerts, same order
  // Flagged messages of users without an expected alert, by index. For a
  // benign story, non-empty means a false alert.
  std::vector<int> unexpected_flags;
  bool false_alert = false;
};

// Scores `story` given one level per message (levels.size() ==
// story.messages.size()).
StoryOutcome ScoreStory(const Story& story,
                        const std::vector<lantern::v1::CrisisLevel>& levels,
                        lantern::v1::CrisisLevel alert_level);

// The two columns: Analysis.level and the message-alone level.
enum class Column { kWithContext, kMessageAlone };
std::vector<lantern::v1::CrisisLevel> LevelsOf(
    const std::vector<MessageVerdict>& verdicts, Column column);

struct ColumnTally {
  int on_time = 0;
  int late = 0;
  int missed = 0;
  int false_alerts = 0;
};

struct KindTally {
  int stories = 0;
  int alerts = 0;  // expected alerts
  int benign = 0;  // stories without an expected alert
  ColumnTally with_context;
  ColumnTally message_alone;
};

// The numbers of one path (stream or unary) over a set of stories.
struct StoriesReport {
  std::map<std::string, KindTally> kinds;
  KindTally overall;
  int messages = 0;
  int errors = 0;  // messages answered with an error
};

// `verdicts[i]` holds one verdict per message of stories[i].
StoriesReport Summarize(
    const std::vector<Story>& stories,
    const std::vector<std::vector<MessageVerdict>>& verdicts,
    lantern::v1::CrisisLevel alert_level);

// The table: one row per kind and "all", the shared counts once, then on
// time / late / missed / false alerts with context and for the message
// alone. `title` is the first line.
std::string FormatStoriesTable(const StoriesReport& report,
                               absl::string_view title);

// One line per story that was not perfect in either column (an alert not on
// time, a flagged message of a user without an expected alert) and per
// message error: ids, users, indices, levels and error codes; never text.
// `via` ("stream", "unary") starts each line.
std::vector<std::string> StoryFailureLines(
    const std::vector<Story>& stories,
    const std::vector<std::vector<MessageVerdict>>& verdicts,
    lantern::v1::CrisisLevel alert_level, absl::string_view via);

// Stream and unary answers compared message by message (messages that got
// an error on either path are skipped).
struct PathComparison {
  int compared = 0;
  int level_differences = 0;          // Analysis.level differs
  int message_level_differences = 0;  // the message-alone level differs
  // "<story>#<index> (<user>): stream high, unary medium" per difference.
  std::vector<std::string> lines;
};
PathComparison ComparePaths(const std::vector<Story>& stories,
                            const std::vector<std::vector<MessageVerdict>>& a,
                            const std::vector<std::vector<MessageVerdict>>& b);

// Everything one JSON report holds.
struct StoriesJsonInput {
  std::string alert_level;  // "high"
  std::string split;        // "all", "dev", "test"
  int stories = 0;
  std::map<std::string, StoriesReport> paths;  // by "stream" / "unary"
  const PathComparison* comparison = nullptr;  // with both paths
  std::vector<std::string> failures;           // with --show-failures
};
// One line of JSON, keys in this order: {"alert_level", "split", "stories",
// "paths": {"stream": {"messages", "errors", "overall": {...}, "kinds":
// {"<kind>": {"stories", "alerts", "benign", "with_context": {"on_time",
// "late", "missed", "false_alerts"}, "message_alone": {...}}}}, "unary":
// ...}, "comparison": {"compared", "level_differences",
// "message_level_differences"} (with a comparison), "failures": [...]
// (when there are some)}.
std::string StoriesJson(const StoriesJsonInput& input);

// Which RPC the stories go through.
enum class StoriesVia { kStream, kUnary, kBoth };

// What `lantern stories` is asked to do.
struct StoriesOptions {
  std::vector<std::string> files;  // "-" = stdin
  std::string split = "all";       // "dev", "test" or "all"
  lantern::v1::CrisisLevel alert_level = lantern::v1::CRISIS_LEVEL_HIGH;
  StoriesVia via = StoriesVia::kStream;
  bool show_failures = false;
  bool json = false;
};

// For cli.cc: the usage lines, the options, and copying parsed values into
// `options` (INVALID_ARGUMENT with a one-line reason on bad usage).
std::string StoriesUsageText();
void AddStoriesOptions(
    boost::program_options::options_description& options,
    boost::program_options::positional_options_description& positional);
absl::Status ApplyStoriesOptions(
    const boost::program_options::variables_map& vm, StoriesOptions* options);

// Reads the stories, runs each through `client` (one StreamAnalyze call per
// story with the client's timeout as its deadline, and/or one Analyze per
// message with the story's earlier scores as history), prints the report to
// `out` and notes (duplicate ids) to `err`. Returns kExitOk when the run
// completed (the numbers are a report, not a verdict); kExitFailure when a
// file cannot be read or parsed, a call failed (the run stops, no report),
// or some message got an error (after the report).
int RunStories(Client& client, const StoriesOptions& options, std::istream& in,
               std::ostream& out, std::ostream& err);

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_STORIES_H_
