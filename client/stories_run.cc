// `lantern stories`: options, the calls, and printing the reports.
#include <boost/program_options.hpp>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli.h"
#include "client/eval.h"
#include "client/stories.h"

namespace lantern::client {
namespace {

namespace po = boost::program_options;
using lantern::v1::CrisisLevel;

using Verdicts = std::vector<MessageVerdict>;

// The answer to message `sequence` of `story`, from one stream response.
MessageVerdict VerdictFromResponse(
    const Story& story, const lantern::v1::StreamAnalyzeResponse& response) {
  if (response.message_id() != absl::StrCat(story.id, "#", response.sequence()))
    return VerdictFromError(
        absl::InternalError("the answer names another message"));
  if (response.has_analysis()) return VerdictFromAnalysis(response.analysis());
  return VerdictFromError(
      absl::Status(static_cast<absl::StatusCode>(response.error().code()),
                   response.error().message()));
}

// One StreamAnalyze call for the story: every message in order, one answer
// each (matched by sequence). The call's own failure is returned as is.
absl::StatusOr<Verdicts> RunStoryStream(Client& client, const Story& story) {
  std::unique_ptr<AnalyzeStream> stream =
      client.OpenStream(client.options().timeout);
  const int n = static_cast<int>(story.messages.size());
  // A writer thread, so a story longer than the server's read-ahead cannot
  // stall both sides.
  std::thread writer([&] {
    for (int i = 0; i < n; ++i) {
      if (!stream->Write(StoryChatMessage(story, i))) return;
    }
    stream->WritesDone();
  });
  std::vector<std::optional<MessageVerdict>> answers(n);
  lantern::v1::StreamAnalyzeResponse response;
  while (stream->Read(&response)) {
    const uint64_t sequence = response.sequence();
    if (sequence >= answers.size() || answers[sequence].has_value()) continue;
    answers[sequence] = VerdictFromResponse(story, response);
  }
  writer.join();
  if (absl::Status status = stream->Finish(); !status.ok()) return status;
  Verdicts verdicts;
  for (std::optional<MessageVerdict>& answer : answers) {
    verdicts.push_back(answer.has_value()
                           ? *std::move(answer)
                           : VerdictFromError(absl::InternalError(
                                 "the stream ended without an answer")));
  }
  return verdicts;
}

// One Analyze call per message, each with the earlier scores of the same
// person as history. INVALID_ARGUMENT is that message's error; any other
// failure is the call's and is returned.
absl::StatusOr<Verdicts> RunStoryUnary(Client& client, const Story& story) {
  Verdicts verdicts;
  for (int i = 0; i < static_cast<int>(story.messages.size()); ++i) {
    absl::StatusOr<lantern::v1::Analysis> analysis = client.Analyze(
        StoryUnaryRequest(story, i, verdicts), client.options().timeout);
    if (analysis.ok()) {
      verdicts.push_back(VerdictFromAnalysis(*analysis));
    } else if (analysis.status().code() == absl::StatusCode::kInvalidArgument) {
      verdicts.push_back(VerdictFromError(analysis.status()));
    } else {
      return analysis.status();
    }
  }
  return verdicts;
}

// Every story of every file, in order, keeping those of `split`.
absl::StatusOr<std::vector<Story>> LoadStories(const StoriesOptions& options,
                                               std::istream& in) {
  std::vector<Story> stories;
  for (const std::string& file : options.files) {
    std::ifstream stream;
    if (file != "-") {
      stream.open(file);
      if (!stream) {
        return absl::InvalidArgumentError(absl::StrCat("cannot read ", file));
      }
    }
    absl::StatusOr<std::vector<Story>> parsed =
        ParseStories(file == "-" ? in : stream, file == "-" ? "stdin" : file);
    if (!parsed.ok()) return parsed.status();
    for (Story& story : *parsed) {
      if (options.split == "all" || story.split == options.split) {
        stories.push_back(std::move(story));
      }
    }
  }
  return stories;
}

// Ids may repeat across files; reports then tell them apart by source.
void NoteDuplicateIds(const std::vector<Story>& stories, std::ostream& err) {
  std::map<std::string, const Story*> first;
  for (const Story& story : stories) {
    auto [it, inserted] = first.emplace(story.id, &story);
    if (inserted) continue;
    err << "lantern stories: note: story id " << story.id << " is in "
        << it->second->source << " and " << story.source << "\n";
  }
}

using StoryRunner = absl::StatusOr<Verdicts> (*)(Client&, const Story&);

// Runs every story through `runner`; the first call failure ends the run.
absl::StatusOr<std::vector<Verdicts>> RunAll(Client& client,
                                             const std::vector<Story>& stories,
                                             StoryRunner runner) {
  std::vector<Verdicts> all;
  for (const Story& story : stories) {
    absl::StatusOr<Verdicts> verdicts = runner(client, story);
    if (!verdicts.ok()) {
      return absl::Status(verdicts.status().code(),
                          absl::StrCat("story ", story.id, " (", story.source,
                                       "): ", verdicts.status().message()));
    }
    all.push_back(*std::move(verdicts));
  }
  return all;
}

const char* LevelOptionName(CrisisLevel level) {
  return level == lantern::v1::CRISIS_LEVEL_MEDIUM ? "medium"
         : level == lantern::v1::CRISIS_LEVEL_HIGH ? "high"
                                                   : "critical";
}

const char* SplitName(const std::string& split) {
  return split == "all" ? "all splits" : split.c_str();
}

std::string TableTitle(const StoriesOptions& options, absl::string_view via,
                       size_t stories, const StoriesReport& report) {
  return absl::StrCat("Lantern stories via ", via, ": ", stories, " stories (",
                      SplitName(options.split), "), ", report.messages,
                      " messages, ", report.errors,
                      " errors; alert = ", LevelOptionName(options.alert_level),
                      " or above");
}

std::string ComparisonLine(const PathComparison& c) {
  return absl::StrCat("stream vs unary: ", c.compared, " messages compared, ",
                      c.level_differences, " with a different level, ",
                      c.message_level_differences,
                      " with a different message-alone level\n");
}

// Prints the report(s); `paths` holds the verdicts by "stream" / "unary".
void PrintReports(const StoriesOptions& options,
                  const std::vector<Story>& stories,
                  const std::map<std::string, std::vector<Verdicts>>& paths,
                  std::ostream& out) {
  StoriesJsonInput json;
  json.alert_level = LevelOptionName(options.alert_level);
  json.split = options.split;
  json.stories = static_cast<int>(stories.size());
  std::string text;
  for (const auto& [via, verdicts] : paths) {
    const StoriesReport report =
        Summarize(stories, verdicts, options.alert_level);
    json.paths[via] = report;
    absl::StrAppend(
        &text, text.empty() ? "" : "\n",
        FormatStoriesTable(report,
                           TableTitle(options, via, stories.size(), report)));
    if (!options.show_failures) continue;
    for (std::string& line :
         StoryFailureLines(stories, verdicts, options.alert_level, via)) {
      json.failures.push_back(std::move(line));
    }
  }
  std::optional<PathComparison> comparison;
  if (paths.size() == 2) {
    comparison = ComparePaths(stories, paths.at("stream"), paths.at("unary"));
    json.comparison = &*comparison;
    absl::StrAppend(&text, "\n", ComparisonLine(*comparison));
    for (const std::string& line : comparison->lines) {
      if (options.show_failures) json.failures.push_back("differs: " + line);
    }
  }
  if (options.json) {
    out << StoriesJson(json) << std::endl;
    return;
  }
  out << text;
  if (options.show_failures) {
    out << "\nfailures (" << json.failures.size() << "):\n";
    for (const std::string& line : json.failures) out << "  " << line << "\n";
  }
  out << std::flush;
}

}  // namespace

std::string StoriesUsageText() {
  return "  stories FILE...     Run conversation stories (JSON lines; - for\n"
         "                      stdin) through the server and count expected\n"
         "                      crisis-team alerts on time, late or missed,\n"
         "                      and false alerts in benign stories, with\n"
         "                      conversation context and for each message\n"
         "                      alone, per kind.\n"
         "    --split S         dev, test or all (default all)\n"
         "    --alert-level L   medium, high (default) or critical\n"
         "    --via V           stream (default: one StreamAnalyze per "
         "story),\n"
         "                      unary (Analyze with history) or both (and\n"
         "                      count messages whose level differs)\n"
         "    --show-failures   list stories not on time (ids, levels; no "
         "text)\n"
         "    --json            one JSON object instead of the table\n";
}

void AddStoriesOptions(po::options_description& options,
                       po::positional_options_description& positional) {
  options.add_options()                                     //
      ("files", po::value<std::vector<std::string>>(), "")  //
      ("split", po::value<std::string>(), "")               //
      ("alert-level", po::value<std::string>(), "")         //
      ("via", po::value<std::string>(), "")                 //
      ("show-failures", po::bool_switch(), "")              //
      ("json", po::bool_switch(), "");
  positional.add("files", -1);
}

absl::Status ApplyStoriesOptions(const po::variables_map& vm,
                                 StoriesOptions* o) {
  if (!vm.count("files")) {
    return absl::InvalidArgumentError(
        "stories needs one or more FILEs of JSON lines (or - for stdin)");
  }
  o->files = vm["files"].as<std::vector<std::string>>();
  if (vm.count("split")) {
    o->split = vm["split"].as<std::string>();
    if (o->split != "dev" && o->split != "test" && o->split != "all") {
      return absl::InvalidArgumentError("--split must be dev, test or all");
    }
  }
  if (vm.count("alert-level")) {
    absl::StatusOr<CrisisLevel> level =
        LevelFromName(vm["alert-level"].as<std::string>());
    if (!level.ok() || *level < lantern::v1::CRISIS_LEVEL_MEDIUM) {
      return absl::InvalidArgumentError(
          "--alert-level must be medium, high or critical");
    }
    o->alert_level = *level;
  }
  if (vm.count("via")) {
    const std::string via = vm["via"].as<std::string>();
    if (via == "stream") {
      o->via = StoriesVia::kStream;
    } else if (via == "unary") {
      o->via = StoriesVia::kUnary;
    } else if (via == "both") {
      o->via = StoriesVia::kBoth;
    } else {
      return absl::InvalidArgumentError("--via must be stream, unary or both");
    }
  }
  o->show_failures = vm["show-failures"].as<bool>();
  o->json = vm["json"].as<bool>();
  return absl::OkStatus();
}

int RunStories(Client& client, const StoriesOptions& options, std::istream& in,
               std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::vector<Story>> stories = LoadStories(options, in);
  if (!stories.ok()) {
    err << "lantern stories: " << stories.status().message() << "\n";
    return kExitFailure;
  }
  if (stories->empty()) {
    err << "lantern stories: no stories (split " << options.split << ")\n";
    return kExitFailure;
  }
  NoteDuplicateIds(*stories, err);
  std::map<std::string, std::vector<Verdicts>> paths;
  for (auto [via, runner, wanted] :
       {std::tuple{"stream", &RunStoryStream, StoriesVia::kStream},
        {"unary", &RunStoryUnary, StoriesVia::kUnary}}) {
    if (options.via != wanted && options.via != StoriesVia::kBoth) continue;
    absl::StatusOr<std::vector<Verdicts>> verdicts =
        RunAll(client, *stories, runner);
    if (!verdicts.ok()) {
      err << ErrorLine(verdicts.status()) << "\n";
      return kExitFailure;
    }
    paths[via] = *std::move(verdicts);
  }
  PrintReports(options, *stories, paths, out);
  for (const auto& [via, verdicts] : paths) {
    for (const Verdicts& story : verdicts) {
      for (const MessageVerdict& v : story) {
        if (!v.error.ok()) return kExitFailure;
      }
    }
  }
  return kExitOk;
}

}  // namespace lantern::client
