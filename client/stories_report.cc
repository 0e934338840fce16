// The reports of `lantern stories`: the table, the failure lines, the
// stream/unary comparison and the JSON object. Never message text.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/stories.h"

namespace lantern::client {
namespace {

using lantern::v1::CrisisLevel;

// "none" ... "critical"; "error" for UNSPECIFIED (no answer).
const char* LevelName(CrisisLevel level) {
  switch (level) {
    case lantern::v1::CRISIS_LEVEL_NONE:
      return "none";
    case lantern::v1::CRISIS_LEVEL_LOW:
      return "low";
    case lantern::v1::CRISIS_LEVEL_MEDIUM:
      return "medium";
    case lantern::v1::CRISIS_LEVEL_HIGH:
      return "high";
    case lantern::v1::CRISIS_LEVEL_CRITICAL:
      return "critical";
    default:
      return "error";
  }
}

constexpr char kRowFormat[] =
    "%-14s %7s %6s %6s   %7s %4s %6s %5s   %7s %4s %6s %5s\n";

void AppendRow(std::string* out, absl::string_view kind, const KindTally& t) {
  const ColumnTally& c = t.with_context;
  const ColumnTally& a = t.message_alone;
  absl::StrAppendFormat(out, kRowFormat, kind, absl::StrCat(t.stories),
                        absl::StrCat(t.alerts), absl::StrCat(t.benign),
                        absl::StrCat(c.on_time), absl::StrCat(c.late),
                        absl::StrCat(c.missed), absl::StrCat(c.false_alerts),
                        absl::StrCat(a.on_time), absl::StrCat(a.late),
                        absl::StrCat(a.missed), absl::StrCat(a.false_alerts));
}

// "on time (#3 high)", "late (#7 high)" or "missed (highest medium)".
std::string DescribeAlert(const AlertResult& r,
                          const std::vector<CrisisLevel>& levels) {
  if (r.outcome == AlertOutcome::kMissed) {
    return absl::StrCat("missed (highest ", LevelName(r.highest), ")");
  }
  return absl::StrCat(AlertOutcomeName(r.outcome), " (#", r.first_flagged, " ",
                      LevelName(levels[r.first_flagged]), ")");
}

// "#3 u2 high, #5 u2 critical", or "none".
std::string DescribeFlags(const Story& story, const std::vector<int>& flags,
                          const std::vector<CrisisLevel>& levels) {
  if (flags.empty()) return "none";
  std::vector<std::string> parts;
  for (int i : flags) {
    parts.push_back(absl::StrCat("#", i, " ", story.messages[i].user, " ",
                                 LevelName(levels[i])));
  }
  return absl::StrJoin(parts, ", ");
}

// The parts of one story's failure line; empty when both columns are
// perfect.
std::vector<std::string> StoryProblems(const Story& story,
                                       const std::vector<MessageVerdict>& v,
                                       CrisisLevel alert_level) {
  const std::vector<CrisisLevel> ctx = LevelsOf(v, Column::kWithContext);
  const std::vector<CrisisLevel> alone = LevelsOf(v, Column::kMessageAlone);
  const StoryOutcome with_context = ScoreStory(story, ctx, alert_level);
  const StoryOutcome message_alone = ScoreStory(story, alone, alert_level);
  std::vector<std::string> problems;
  for (size_t k = 0; k < story.alerts.size(); ++k) {
    const AlertResult& c = with_context.alerts[k];
    const AlertResult& a = message_alone.alerts[k];
    if (c.outcome == AlertOutcome::kOnTime &&
        a.outcome == AlertOutcome::kOnTime) {
      continue;
    }
    problems.push_back(absl::StrCat(
        "alert ", c.alert.user, " by #", c.alert.at, ": with context ",
        DescribeAlert(c, ctx), ", message alone ", DescribeAlert(a, alone)));
  }
  if (!with_context.unexpected_flags.empty() ||
      !message_alone.unexpected_flags.empty()) {
    problems.push_back(absl::StrCat(
        story.alerts.empty() ? "false alert" : "flagged, no alert expected",
        ": with context ",
        DescribeFlags(story, with_context.unexpected_flags, ctx),
        "; message alone ",
        DescribeFlags(story, message_alone.unexpected_flags, alone)));
  }
  return problems;
}

// `text` as a JSON string (quotes included; non-ASCII bytes pass through).
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, c));
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string ColumnJson(const ColumnTally& c) {
  return absl::StrFormat(
      R"({"on_time":%d,"late":%d,"missed":%d,"false_alerts":%d})", c.on_time,
      c.late, c.missed, c.false_alerts);
}

std::string KindJson(const KindTally& t) {
  return absl::StrFormat(
      R"({"stories":%d,"alerts":%d,"benign":%d,"with_context":%s,)"
      R"("message_alone":%s})",
      t.stories, t.alerts, t.benign, ColumnJson(t.with_context),
      ColumnJson(t.message_alone));
}

std::string ReportJson(const StoriesReport& r) {
  std::vector<std::string> kinds;
  for (const auto& [kind, tally] : r.kinds) {
    kinds.push_back(absl::StrCat(JsonString(kind), ":", KindJson(tally)));
  }
  return absl::StrFormat(
      R"({"messages":%d,"errors":%d,"overall":%s,"kinds":{%s}})", r.messages,
      r.errors, KindJson(r.overall), absl::StrJoin(kinds, ","));
}

}  // namespace

std::string FormatStoriesTable(const StoriesReport& report,
                               absl::string_view title) {
  std::string out = absl::StrCat(title, "\n\n");
  absl::StrAppendFormat(&out, "%-14s %7s %6s %6s   %-25s   %-25s\n", "", "", "",
                        "", "------ with context -----",
                        "----- message alone -----");
  absl::StrAppendFormat(&out, kRowFormat, "kind", "stories", "alerts", "benign",
                        "on time", "late", "missed", "false", "on time", "late",
                        "missed", "false");
  for (const auto& [kind, tally] : report.kinds) AppendRow(&out, kind, tally);
  AppendRow(&out, "all", report.overall);
  const KindTally& t = report.overall;
  absl::StrAppendFormat(
      &out,
      "\nalerts on time: %d/%d with context, %d/%d message alone\n"
      "false alerts:   %d/%d benign stories with context, %d/%d message "
      "alone\n",
      t.with_context.on_time, t.alerts, t.message_alone.on_time, t.alerts,
      t.with_context.false_alerts, t.benign, t.message_alone.false_alerts,
      t.benign);
  return out;
}

std::vector<std::string> StoryFailureLines(
    const std::vector<Story>& stories,
    const std::vector<std::vector<MessageVerdict>>& verdicts,
    CrisisLevel alert_level, absl::string_view via) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < stories.size(); ++i) {
    const Story& story = stories[i];
    for (size_t m = 0; m < verdicts[i].size(); ++m) {
      const absl::Status& error = verdicts[i][m].error;
      if (error.ok()) continue;
      lines.push_back(absl::StrCat(
          via, " ", story.id, "#", m, " (", story.source, "): error ",
          absl::StatusCodeToString(error.code()), ": ", error.message()));
    }
    const std::vector<std::string> problems =
        StoryProblems(story, verdicts[i], alert_level);
    if (problems.empty()) continue;
    lines.push_back(absl::StrCat(via, " ", story.id, " (", story.source, ", ",
                                 story.kind,
                                 "): ", absl::StrJoin(problems, "; ")));
  }
  return lines;
}

PathComparison ComparePaths(
    const std::vector<Story>& stories,
    const std::vector<std::vector<MessageVerdict>>& stream,
    const std::vector<std::vector<MessageVerdict>>& unary) {
  PathComparison result;
  for (size_t i = 0; i < stories.size(); ++i) {
    for (size_t m = 0; m < stories[i].messages.size(); ++m) {
      const MessageVerdict& s = stream[i][m];
      const MessageVerdict& u = unary[i][m];
      if (!s.error.ok() || !u.error.ok()) continue;
      ++result.compared;
      const bool level = s.level != u.level;
      const bool alone = s.message_level != u.message_level;
      result.level_differences += level;
      result.message_level_differences += alone;
      if (!level && !alone) continue;
      result.lines.push_back(absl::StrCat(
          stories[i].id, "#", m, " (", stories[i].messages[m].user,
          "): stream ", LevelName(s.level), ", unary ", LevelName(u.level),
          " (message alone: stream ", LevelName(s.message_level), ", unary ",
          LevelName(u.message_level), ")"));
    }
  }
  return result;
}

std::string StoriesJson(const StoriesJsonInput& input) {
  std::string json = absl::StrFormat(
      R"({"alert_level":%s,"split":%s,"stories":%d,"paths":{)",
      JsonString(input.alert_level), JsonString(input.split), input.stories);
  std::vector<std::string> paths;
  for (const auto& [via, report] : input.paths) {
    paths.push_back(absl::StrCat(JsonString(via), ":", ReportJson(report)));
  }
  absl::StrAppend(&json, absl::StrJoin(paths, ","), "}");
  if (const PathComparison* c = input.comparison; c != nullptr) {
    absl::StrAppendFormat(
        &json,
        R"(,"comparison":{"compared":%d,"level_differences":%d,)"
        R"("message_level_differences":%d})",
        c->compared, c->level_differences, c->message_level_differences);
  }
  if (!input.failures.empty()) {
    std::vector<std::string> lines;
    for (const std::string& line : input.failures) {
      lines.push_back(JsonString(line));
    }
    absl::StrAppend(&json, R"(,"failures":[)", absl::StrJoin(lines, ","), "]");
  }
  return json + "}";
}

}  // namespace lantern::client
