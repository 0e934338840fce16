#include "client/eval.h"

#include <algorithm>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace lantern::client {
namespace {

using lantern::v1::CrisisLevel;

constexpr const char* kLevelNames[] = {"error",  "none", "low",
                                       "medium", "high", "critical"};
constexpr char kFalseAlarmTag[] = "false_alarm";

bool IsHigh(CrisisLevel level) {
  return level == lantern::v1::CRISIS_LEVEL_HIGH ||
         level == lantern::v1::CRISIS_LEVEL_CRITICAL;
}

std::string Pct(int part, int whole) {
  if (whole == 0) return "-";
  return absl::StrFormat("%.1f%%", 100.0 * part / whole);
}

double Ratio(int part, int whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / whole;
}

// "en", or the suffix of the message's lang_* tag.
std::string LanguageOf(const std::vector<std::string>& tags) {
  for (const std::string& tag : tags) {
    if (absl::StartsWith(tag, "lang_")) return tag.substr(5);
  }
  return "en";
}

}  // namespace

absl::StatusOr<CrisisLevel> LevelFromName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (int i = 1; i <= 5; ++i) {
    if (lower == kLevelNames[i]) return static_cast<CrisisLevel>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown level '", name, "'"));
}

std::vector<CrisisLevel> DefaultAccepted(CrisisLevel labelled) {
  using namespace lantern::v1;  // NOLINT: level names only.
  switch (labelled) {
    case CRISIS_LEVEL_NONE:
      return {CRISIS_LEVEL_NONE, CRISIS_LEVEL_LOW};
    case CRISIS_LEVEL_LOW:
      return {CRISIS_LEVEL_NONE, CRISIS_LEVEL_LOW, CRISIS_LEVEL_MEDIUM};
    case CRISIS_LEVEL_MEDIUM:
      return {CRISIS_LEVEL_LOW, CRISIS_LEVEL_MEDIUM, CRISIS_LEVEL_HIGH};
    case CRISIS_LEVEL_HIGH:
    case CRISIS_LEVEL_CRITICAL:
      return {CRISIS_LEVEL_HIGH, CRISIS_LEVEL_CRITICAL};
    default:
      return {};
  }
}

absl::StatusOr<EvalCase> ParseEvalLine(absl::string_view line) {
  google::protobuf::Struct json;
  if (!google::protobuf::util::JsonStringToMessage(std::string(line), &json)
           .ok()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  const auto& f = json.fields();
  EvalCase c;
  auto text = f.find("text");
  if (text == f.end() || !text->second.has_string_value()) {
    return absl::InvalidArgumentError("\"text\" (a string) is required");
  }
  c.text = text->second.string_value();
  if (auto id = f.find("id"); id != f.end()) c.id = id->second.string_value();
  if (auto level = f.find("level"); level != f.end()) {
    absl::StatusOr<CrisisLevel> parsed =
        LevelFromName(level->second.string_value());
    if (!parsed.ok()) return parsed.status();
    c.labelled = *parsed;
    c.accepted = DefaultAccepted(c.labelled);
  }
  if (auto expected = f.find("expected"); expected != f.end()) {
    c.accepted.clear();
    for (const auto& v : expected->second.list_value().values()) {
      absl::StatusOr<CrisisLevel> parsed = LevelFromName(v.string_value());
      if (!parsed.ok()) return parsed.status();
      c.accepted.push_back(*parsed);
    }
  }
  if (c.accepted.empty()) {
    return absl::InvalidArgumentError(
        "a \"level\" or a non-empty \"expected\" list is required");
  }
  if (auto tags = f.find("tags"); tags != f.end()) {
    for (const auto& v : tags->second.list_value().values())
      c.tags.push_back(v.string_value());
  }
  return c;
}

namespace {

// Sets the report's met flags from its counts.
void JudgeTargets(const EvalTargets& targets,
                  const std::map<std::string, bool>& all_false_alarm,
                  EvalReport* report) {
  EvalReport& r = *report;
  r.all_met = true;
  for (auto& [tag, t] : r.tags) {
    t.false_alarm_family = all_false_alarm.at(tag) && tag != kFalseAlarmTag;
    t.met = Ratio(t.passed, t.total) >= targets.min_tag_pass &&
            (!t.false_alarm_family || Ratio(t.low_or_none, t.total) >=
                                          targets.min_false_alarm_low_or_none);
    r.all_met = r.all_met && t.met;
  }
  r.high_recall_met =
      Ratio(r.high_caught, r.high_labelled) >= targets.min_high_recall;
  r.none_alarm_met =
      Ratio(r.none_alarmed, r.none_labelled) <= targets.max_none_to_medium;
  r.medium_met =
      r.medium_labelled == 0 ||
      Ratio(r.medium_flagged, r.medium_labelled) >= targets.min_medium_flagged;
  r.all_met = r.all_met && r.high_recall_met && r.none_alarm_met &&
              r.medium_met && r.errors == 0;
}

}  // namespace

EvalReport Summarize(const std::vector<EvalCase>& cases,
                     const std::vector<CrisisLevel>& predicted,
                     const EvalTargets& targets) {
  EvalReport r;
  RateCounts& overall = r;
  std::map<std::string, bool> all_false_alarm;
  for (size_t i = 0; i < cases.size(); ++i) {
    const EvalCase& c = cases[i];
    const CrisisLevel got = predicted[i];
    const bool error = got == lantern::v1::CRISIS_LEVEL_UNSPECIFIED;
    const bool pass = !error && std::find(c.accepted.begin(), c.accepted.end(),
                                          got) != c.accepted.end();
    r.errors += error;
    r.confusion[c.labelled][error ? 0 : got]++;
    RateCounts& language = r.languages[LanguageOf(c.tags)];
    for (RateCounts* counts : {&language, &overall}) {
      ++counts->total;
      counts->passed += pass;
      if (IsHigh(c.labelled)) {
        ++counts->high_labelled;
        counts->high_caught += IsHigh(got);
      }
      if (c.labelled == lantern::v1::CRISIS_LEVEL_NONE) {
        ++counts->none_labelled;
        counts->none_alarmed +=
            !error && got >= lantern::v1::CRISIS_LEVEL_MEDIUM;
      }
      if (c.labelled == lantern::v1::CRISIS_LEVEL_MEDIUM) {
        ++counts->medium_labelled;
        counts->medium_flagged += got == lantern::v1::CRISIS_LEVEL_MEDIUM ||
                                  got == lantern::v1::CRISIS_LEVEL_HIGH;
      }
    }
    const bool false_alarm =
        std::find(c.tags.begin(), c.tags.end(), kFalseAlarmTag) != c.tags.end();
    for (const std::string& tag : c.tags) {
      TagReport& t = r.tags[tag];
      ++t.total;
      t.passed += pass;
      t.low_or_none += !error && got <= lantern::v1::CRISIS_LEVEL_LOW;
      auto [it, inserted] = all_false_alarm.emplace(tag, false_alarm);
      if (!inserted) it->second = it->second && false_alarm;
    }
  }
  JudgeTargets(targets, all_false_alarm, &r);
  return r;
}

std::string FormatReport(const EvalReport& r, const EvalTargets& targets,
                         absl::string_view source) {
  auto met = [](bool ok) { return ok ? "met" : "MISSED"; };
  std::string out =
      absl::StrFormat("Lantern evaluation of %s: %d messages, %d errors\n\n",
                      source, r.total, r.errors);
  absl::StrAppendFormat(&out, "%-34s %8s  (%d/%d)\n", "pass rate",
                        Pct(r.passed, r.total), r.passed, r.total);
  absl::StrAppendFormat(&out, "%-34s %8s  (%d/%d)  target >= %.0f%%: %s\n",
                        "recall of high+critical",
                        Pct(r.high_caught, r.high_labelled), r.high_caught,
                        r.high_labelled, 100 * targets.min_high_recall,
                        met(r.high_recall_met));
  absl::StrAppendFormat(&out, "%-34s %8s  (%d/%d)  target <= %.0f%%: %s\n",
                        "none rated medium or above",
                        Pct(r.none_alarmed, r.none_labelled), r.none_alarmed,
                        r.none_labelled, 100 * targets.max_none_to_medium,
                        met(r.none_alarm_met));
  absl::StrAppendFormat(&out, "%-34s %8s  (%d/%d)  target >= %.0f%%: %s\n",
                        "medium rated medium or high",
                        Pct(r.medium_flagged, r.medium_labelled),
                        r.medium_flagged, r.medium_labelled,
                        100 * targets.min_medium_flagged, met(r.medium_met));
  out += "\nconfusion matrix (rows: labelled, columns: predicted)\n";
  absl::StrAppendFormat(&out, "%-10s", "");
  for (int p = 1; p <= 5; ++p)
    absl::StrAppendFormat(&out, "%9s", kLevelNames[p]);
  absl::StrAppendFormat(&out, "%9s\n", "error");
  for (int l = 1; l <= 5; ++l) {
    absl::StrAppendFormat(&out, "%-10s", kLevelNames[l]);
    for (int p = 1; p <= 5; ++p)
      absl::StrAppendFormat(&out, "%9d", r.confusion[l][p]);
    absl::StrAppendFormat(&out, "%9d\n", r.confusion[l][0]);
  }
  absl::StrAppendFormat(&out, "\n%-10s %6s %8s %14s %14s %14s\n", "language",
                        "n", "pass", "high+crit", "none->medium+",
                        "medium->m/h");
  for (const auto& [language, c] : r.languages) {
    absl::StrAppendFormat(&out, "%-10s %6d %8s %14s %14s %14s\n", language,
                          c.total, Pct(c.passed, c.total),
                          Pct(c.high_caught, c.high_labelled),
                          Pct(c.none_alarmed, c.none_labelled),
                          Pct(c.medium_flagged, c.medium_labelled));
  }
  absl::StrAppendFormat(&out, "\n%-28s %6s %8s %10s  %s\n", "tag", "n", "pass",
                        "low/none", "target");
  for (const auto& [tag, t] : r.tags) {
    absl::StrAppendFormat(
        &out, "%-28s %6d %8s %10s  %s\n", tag, t.total, Pct(t.passed, t.total),
        t.false_alarm_family ? Pct(t.low_or_none, t.total) : std::string("-"),
        absl::StrCat(t.false_alarm_family ? "pass >= 85%, low/none >= 90%: "
                                          : "pass >= 85%: ",
                     met(t.met)));
  }
  absl::StrAppendFormat(&out, "\nall targets: %s\n",
                        r.all_met ? "met" : "NOT met");
  return out;
}

namespace {

// The cases of `in`, or why not (printed to `err`).
std::optional<std::vector<EvalCase>> ReadCases(std::istream& in,
                                               absl::string_view source,
                                               std::ostream& err) {
  std::vector<EvalCase> cases;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<EvalCase> c = ParseEvalLine(line);
    if (!c.ok()) {
      err << "lantern eval: line " << number << ": " << c.status().message()
          << "\n";
      return std::nullopt;
    }
    cases.push_back(*std::move(c));
  }
  if (cases.empty()) {
    err << "lantern eval: no cases in " << source << "\n";
    return std::nullopt;
  }
  return cases;
}

// Sends every case over one stream; the level per case (UNSPECIFIED for a
// per-message error), or the stream's final error.
absl::StatusOr<std::vector<CrisisLevel>> PredictLevels(
    Client& client, const std::vector<EvalCase>& cases) {
  std::vector<CrisisLevel> predicted(cases.size(),
                                     lantern::v1::CRISIS_LEVEL_UNSPECIFIED);
  std::unique_ptr<AnalyzeStream> stream = client.OpenStream();
  std::thread writer([&] {
    for (size_t i = 0; i < cases.size(); ++i) {
      lantern::v1::ChatMessage message;
      message.set_id(cases[i].id.empty() ? std::to_string(i) : cases[i].id);
      message.set_text(cases[i].text);
      if (!stream->Write(message)) break;
    }
    stream->WritesDone();
  });
  lantern::v1::StreamAnalyzeResponse response;
  while (stream->Read(&response)) {
    if (response.sequence() < predicted.size() && response.has_analysis()) {
      predicted[response.sequence()] = response.analysis().level();
    }
  }
  writer.join();
  if (absl::Status status = stream->Finish(); !status.ok()) return status;
  return predicted;
}

void PrintFailures(const std::vector<EvalCase>& cases,
                   const std::vector<CrisisLevel>& predicted,
                   std::ostream& out) {
  out << "\nfailures (id, labelled, predicted, tags):\n";
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    if (std::find(c.accepted.begin(), c.accepted.end(), predicted[i]) !=
        c.accepted.end()) {
      continue;
    }
    out << "  " << (c.id.empty() ? std::to_string(i) : c.id) << "  "
        << kLevelNames[c.labelled] << " -> " << kLevelNames[predicted[i]]
        << "  [" << absl::StrJoin(c.tags, ",") << "]\n";
  }
}

}  // namespace

int RunEval(Client& client, std::istream& in, absl::string_view source,
            bool show_failures, bool check, std::ostream& out,
            std::ostream& err) {
  const std::optional<std::vector<EvalCase>> cases = ReadCases(in, source, err);
  if (!cases.has_value()) return 1;
  const absl::StatusOr<std::vector<CrisisLevel>> predicted =
      PredictLevels(client, *cases);
  if (!predicted.ok()) {
    err << "lantern eval: stream ended with "
        << absl::StatusCodeToString(predicted.status().code()) << ": "
        << predicted.status().message() << "\n";
    return 1;
  }
  const EvalTargets targets;
  const EvalReport report = Summarize(*cases, *predicted, targets);
  out << FormatReport(report, targets, source);
  if (show_failures) PrintFailures(*cases, *predicted, out);
  return check && !report.all_met ? 1 : 0;
}

}  // namespace lantern::client
