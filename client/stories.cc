// Parsing, requests and scoring of `lantern stories`; the reports are in
// stories_report.cc and the command itself in stories_run.cc.
#include "client/stories.h"

#include <algorithm>
#include <cmath>
#include <istream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace lantern::client {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;
using lantern::v1::CrisisLevel;

// Larger minutes or indices are surely mistakes (and keep sent_at valid).
constexpr double kMaxWholeNumber = 1e9;

// The field `key` of `object`, or null when absent.
const Value* Field(const Struct& object, const char* key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? nullptr : &it->second;
}

// The string field `where` + `key`. Absent gives "" unless `required`;
// required strings must not be empty.
absl::StatusOr<std::string> StringField(const Struct& object,
                                        absl::string_view where,
                                        const char* key, bool required) {
  const Value* value = Field(object, key);
  if (value == nullptr && !required) return std::string();
  if (value == nullptr || !value->has_string_value() ||
      (required && value->string_value().empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, key, required ? " (a non-empty string)" : "",
                     required ? " is required" : " must be a string"));
  }
  return value->string_value();
}

// The whole-number field `where` + `key`, >= 0.
absl::StatusOr<int64_t> WholeNumberField(const Struct& object,
                                         absl::string_view where,
                                         const char* key) {
  const Value* value = Field(object, key);
  if (value == nullptr || !value->has_number_value() ||
      !(value->number_value() >= 0) ||
      value->number_value() > kMaxWholeNumber ||
      std::floor(value->number_value()) != value->number_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, key, " must be a whole number >= 0"));
  }
  return static_cast<int64_t>(value->number_value());
}

// The list field `key` (required), or an error naming it.
absl::StatusOr<const google::protobuf::ListValue*> ListField(
    const Struct& object, const char* key) {
  const Value* value = Field(object, key);
  if (value == nullptr || !value->has_list_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, " (a list) is required"));
  }
  return &value->list_value();
}

absl::StatusOr<StoryMessage> ParseMessage(const Value& value, int index,
                                          int64_t previous_minute) {
  const std::string where = absl::StrCat("messages[", index, "].");
  if (!value.has_struct_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("messages[", index, "] must be an object"));
  }
  const Struct& object = value.struct_value();
  StoryMessage message;
  absl::StatusOr<std::string> user = StringField(object, where, "user", true);
  if (!user.ok()) return user.status();
  absl::StatusOr<std::string> channel =
      StringField(object, where, "channel", false);
  if (!channel.ok()) return channel.status();
  absl::StatusOr<std::string> text = StringField(object, where, "text", true);
  if (!text.ok()) return text.status();
  absl::StatusOr<int64_t> minute = WholeNumberField(object, where, "minute");
  if (!minute.ok()) return minute.status();
  if (*minute < previous_minute) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "minute is earlier than the message before it"));
  }
  message.user = *std::move(user);
  message.channel = *std::move(channel);
  message.text = *std::move(text);
  message.minute = *minute;
  return message;
}

absl::Status ParseMessages(const Struct& object, Story* story) {
  absl::StatusOr<const google::protobuf::ListValue*> list =
      ListField(object, "messages");
  if (!list.ok()) return list.status();
  if ((*list)->values_size() == 0) {
    return absl::InvalidArgumentError("messages must not be empty");
  }
  int64_t previous_minute = 0;
  for (int i = 0; i < (*list)->values_size(); ++i) {
    absl::StatusOr<StoryMessage> message =
        ParseMessage((*list)->values(i), i, previous_minute);
    if (!message.ok()) return message.status();
    previous_minute = message->minute;
    story->messages.push_back(*std::move(message));
  }
  return absl::OkStatus();
}

// Needs story->messages parsed first.
absl::Status ParseAlerts(const Struct& object, Story* story) {
  absl::StatusOr<const google::protobuf::ListValue*> list =
      ListField(object, "alert");
  if (!list.ok()) return list.status();
  for (int i = 0; i < (*list)->values_size(); ++i) {
    const std::string where = absl::StrCat("alert[", i, "].");
    const Value& value = (*list)->values(i);
    if (!value.has_struct_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("alert[", i, "] must be an object"));
    }
    absl::StatusOr<std::string> user =
        StringField(value.struct_value(), where, "user", true);
    if (!user.ok()) return user.status();
    absl::StatusOr<int64_t> at =
        WholeNumberField(value.struct_value(), where, "at");
    if (!at.ok()) return at.status();
    if (*at >= static_cast<int64_t>(story->messages.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "at is past the last message"));
    }
    const auto last = story->messages.begin() + *at + 1;
    if (std::none_of(story->messages.begin(), last,
                     [&](const StoryMessage& m) { return m.user == *user; })) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "user has no message at or before message ", *at));
    }
    story->alerts.push_back({*std::move(user), static_cast<int>(*at)});
  }
  return absl::OkStatus();
}

bool Flagged(CrisisLevel level, CrisisLevel alert_level) {
  return level != lantern::v1::CRISIS_LEVEL_UNSPECIFIED && level >= alert_level;
}

AlertResult ScoreAlert(const Story& story, const ExpectedAlert& alert,
                       const std::vector<CrisisLevel>& levels,
                       CrisisLevel alert_level) {
  AlertResult result;
  result.alert = alert;
  for (size_t i = 0; i < story.messages.size(); ++i) {
    if (story.messages[i].user != alert.user) continue;
    result.highest = std::max(result.highest, levels[i]);
    if (result.first_flagged < 0 && Flagged(levels[i], alert_level)) {
      result.first_flagged = static_cast<int>(i);
    }
  }
  if (result.first_flagged < 0) {
    result.outcome = AlertOutcome::kMissed;
  } else if (result.first_flagged <= alert.at) {
    result.outcome = AlertOutcome::kOnTime;
  } else {
    result.outcome = AlertOutcome::kLate;
  }
  return result;
}

}  // namespace

absl::StatusOr<Story> ParseStoryLine(absl::string_view line) {
  Struct object;
  if (!google::protobuf::util::JsonStringToMessage(std::string(line), &object)
           .ok()) {
    // The parser's message may quote the input, so it is not passed on.
    return absl::InvalidArgumentError("not a JSON object");
  }
  Story story;
  for (auto [key, field] : {std::pair{"id", &story.id},
                            {"kind", &story.kind},
                            {"split", &story.split}}) {
    absl::StatusOr<std::string> value = StringField(object, "", key, true);
    if (!value.ok()) return value.status();
    *field = *std::move(value);
  }
  absl::StatusOr<std::string> language =
      StringField(object, "", "language", false);
  if (!language.ok()) return language.status();
  story.language = *std::move(language);
  if (absl::Status s = ParseMessages(object, &story); !s.ok()) return s;
  if (absl::Status s = ParseAlerts(object, &story); !s.ok()) return s;
  return story;
}

absl::StatusOr<std::vector<Story>> ParseStories(std::istream& in,
                                                absl::string_view file) {
  std::vector<Story> stories;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<Story> story = ParseStoryLine(line);
    if (!story.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", number, ": ", story.status().message()));
    }
    story->source = absl::StrCat(file, ":", number);
    stories.push_back(*std::move(story));
  }
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": read error"));
  }
  return stories;
}

lantern::v1::ChatMessage StoryChatMessage(const Story& story, int index) {
  const StoryMessage& source = story.messages[index];
  lantern::v1::ChatMessage message;
  message.set_id(absl::StrCat(story.id, "#", index));
  message.set_user_id(source.user);
  message.set_channel_id(source.channel);
  message.set_text(source.text);
  *message.mutable_sent_at() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(
          kStoryStartUnixSeconds + 60 * source.minute);
  return message;
}

MessageVerdict VerdictFromAnalysis(const lantern::v1::Analysis& analysis) {
  MessageVerdict verdict;
  verdict.level = analysis.level();
  verdict.message_level = analysis.has_context()
                              ? analysis.context().message_level()
                              : analysis.level();
  verdict.score = analysis.score();
  return verdict;
}

MessageVerdict VerdictFromError(absl::Status error) {
  MessageVerdict verdict;
  verdict.error = std::move(error);
  return verdict;
}

lantern::v1::AnalyzeRequest StoryUnaryRequest(
    const Story& story, int index, const std::vector<MessageVerdict>& earlier) {
  lantern::v1::AnalyzeRequest request;
  *request.mutable_message() = StoryChatMessage(story, index);
  const StoryMessage& current = story.messages[index];
  std::vector<int> same_person;
  for (int j = 0; j < index; ++j) {
    const StoryMessage& m = story.messages[j];
    if (m.user == current.user && m.channel == current.channel &&
        earlier[j].error.ok()) {
      same_person.push_back(j);
    }
  }
  const size_t skip = same_person.size() > kMaxUnaryHistory
                          ? same_person.size() - kMaxUnaryHistory
                          : 0;
  for (size_t k = skip; k < same_person.size(); ++k) {
    lantern::v1::PriorMessage* prior = request.add_history();
    *prior->mutable_message() = StoryChatMessage(story, same_person[k]);
    prior->mutable_message()->clear_text();  // `score` stands in for it.
    prior->set_score(earlier[same_person[k]].score);
  }
  return request;
}

const char* AlertOutcomeName(AlertOutcome outcome) {
  switch (outcome) {
    case AlertOutcome::kOnTime:
      return "on time";
    case AlertOutcome::kLate:
      return "late";
    case AlertOutcome::kMissed:
      return "missed";
  }
  return "?";
}

StoryOutcome ScoreStory(const Story& story,
                        const std::vector<CrisisLevel>& levels,
                        CrisisLevel alert_level) {
  StoryOutcome outcome;
  for (const ExpectedAlert& alert : story.alerts) {
    outcome.alerts.push_back(ScoreAlert(story, alert, levels, alert_level));
  }
  for (size_t i = 0; i < story.messages.size(); ++i) {
    const std::string& user = story.messages[i].user;
    const bool expected =
        std::any_of(story.alerts.begin(), story.alerts.end(),
                    [&](const ExpectedAlert& a) { return a.user == user; });
    if (!expected && Flagged(levels[i], alert_level)) {
      outcome.unexpected_flags.push_back(static_cast<int>(i));
    }
  }
  outcome.false_alert =
      story.alerts.empty() && !outcome.unexpected_flags.empty();
  return outcome;
}

std::vector<CrisisLevel> LevelsOf(const std::vector<MessageVerdict>& verdicts,
                                  Column column) {
  std::vector<CrisisLevel> levels;
  levels.reserve(verdicts.size());
  for (const MessageVerdict& v : verdicts) {
    levels.push_back(column == Column::kWithContext ? v.level
                                                    : v.message_level);
  }
  return levels;
}

namespace {

void AddOutcome(const StoryOutcome& outcome, ColumnTally* tally) {
  for (const AlertResult& a : outcome.alerts) {
    tally->on_time += a.outcome == AlertOutcome::kOnTime;
    tally->late += a.outcome == AlertOutcome::kLate;
    tally->missed += a.outcome == AlertOutcome::kMissed;
  }
  tally->false_alerts += outcome.false_alert;
}

}  // namespace

StoriesReport Summarize(
    const std::vector<Story>& stories,
    const std::vector<std::vector<MessageVerdict>>& verdicts,
    CrisisLevel alert_level) {
  StoriesReport report;
  for (size_t i = 0; i < stories.size(); ++i) {
    const Story& story = stories[i];
    const StoryOutcome with_context = ScoreStory(
        story, LevelsOf(verdicts[i], Column::kWithContext), alert_level);
    const StoryOutcome alone = ScoreStory(
        story, LevelsOf(verdicts[i], Column::kMessageAlone), alert_level);
    for (KindTally* tally : {&report.kinds[story.kind], &report.overall}) {
      ++tally->stories;
      tally->alerts += static_cast<int>(story.alerts.size());
      tally->benign += story.alerts.empty();
      AddOutcome(with_context, &tally->with_context);
      AddOutcome(alone, &tally->message_alone);
    }
    report.messages += static_cast<int>(story.messages.size());
    for (const MessageVerdict& v : verdicts[i]) report.errors += !v.error.ok();
  }
  return report;
}

}  // namespace lantern::client
