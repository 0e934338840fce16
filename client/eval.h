// `lantern eval`: runs labelled messages through a running server and
// reports detection quality the way issue 3 defines it.
//
// Input: JSON lines, each {"id": "...", "text": "...", "level": "high",
// "tags": ["plans", ...]} and optionally "expected": ["high", "critical"]
// to override the default pass rule for that line.
//
// Default pass rule (each level accepts the levels next to it, except that
// high and critical never accept anything below high; no label accepts
// every level):
//   none     -> none, low              medium   -> low, medium, high
//   low      -> none, low, medium      high     -> high, critical
//   critical -> high, critical
//
// A tag is a false-alarm family when every message carrying it also carries
// the tag "false_alarm"; for those the report adds the share rated low or
// none.
#ifndef LANTERN_CLIENT_EVAL_H_
#define LANTERN_CLIENT_EVAL_H_

#include <istream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/client.h"
#include "lantern/v1/analyzer.pb.h"

namespace lantern::client {

struct EvalCase {
  std::string id;
  std::string text;
  lantern::v1::CrisisLevel labelled = lantern::v1::CRISIS_LEVEL_UNSPECIFIED;
  std::vector<lantern::v1::CrisisLevel> accepted;
  std::vector<std::string> tags;
};

// Parses one input line. INVALID_ARGUMENT (never quoting the text) for bad
// JSON, a missing text, an unknown level name, or no level and no expected.
absl::StatusOr<EvalCase> ParseEvalLine(absl::string_view line);

// "none", "low", ... -> level; INVALID_ARGUMENT otherwise.
absl::StatusOr<lantern::v1::CrisisLevel> LevelFromName(absl::string_view name);

// The default pass rule above.
std::vector<lantern::v1::CrisisLevel> DefaultAccepted(
    lantern::v1::CrisisLevel labelled);

// Issues 3 and 9's targets.
struct EvalTargets {
  double min_high_recall = 0.97;
  double max_none_to_medium = 0.03;
  double min_medium_flagged = 0.80;  // medium rated medium or high
  double min_false_alarm_low_or_none = 0.90;
  double min_tag_pass = 0.85;
};

struct TagReport {
  int total = 0;
  int passed = 0;
  bool false_alarm_family = false;
  int low_or_none = 0;
  bool met = false;
};

// The headline rates, for all messages or one language.
struct RateCounts {
  int total = 0;
  int passed = 0;
  int high_labelled = 0, high_caught = 0;   // labelled high/critical
  int none_labelled = 0, none_alarmed = 0;  // labelled none, rated medium+
  int medium_labelled = 0,
      medium_flagged = 0;  // labelled medium, rated medium/high
};

// The rates over all messages, plus the breakdowns.
struct EvalReport : RateCounts {
  int errors = 0;  // Messages the server answered with an error.
  // confusion[labelled][predicted], levels 1..5 (index 0 = errors).
  int confusion[6][6] = {};
  std::map<std::string, TagReport> tags;
  // By language: "en" for messages without a lang_* tag, else the tag's
  // suffix ("es", "fr", ...).
  std::map<std::string, RateCounts> languages;
  bool high_recall_met = false, none_alarm_met = false, medium_met = false,
       all_met = false;
};

// `predicted[i]` is the level the server gave cases[i], or
// CRISIS_LEVEL_UNSPECIFIED when it answered with an error (counted as a
// failure).
EvalReport Summarize(const std::vector<EvalCase>& cases,
                     const std::vector<lantern::v1::CrisisLevel>& predicted,
                     const EvalTargets& targets = {});

// Human-readable tables.
std::string FormatReport(const EvalReport& report, const EvalTargets& targets,
                         absl::string_view source);

// Reads cases from `in`, sends them over one StreamAnalyze call, prints the
// report to `out`; with `show_failures`, one line per failed case (id,
// labelled, predicted, tags; never the text). Exit code: 0, or 1 for I/O or
// RPC errors, or when `check` is set and a target is missed.
int RunEval(Client& client, std::istream& in, absl::string_view source,
            bool show_failures, bool check, std::ostream& out,
            std::ostream& err);

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_EVAL_H_
