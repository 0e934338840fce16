// `lantern bench` and the shared load-generation pieces; see bench.h.
#include "client/bench.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <limits>
#include <mutex>
#include <ostream>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/cli.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "lantern/v1/analyzer.grpc.pb.h"

namespace lantern::client {
namespace {

namespace po = boost::program_options;

constexpr size_t kSequenceLength = 65536;
// How long to wait for answers once sending is over, beyond the call
// deadline, before cancelling what is left.
constexpr absl::Duration kDrainGrace = absl::Seconds(2);

// ---------------------------------------------------------------------------
// The built-in mix. Short repeated lines first (the hot set), then ordinary
// chat of growing length, then distress and crisis lines, which are a small
// share as in real traffic.
const char* const kBuiltinMessages[] = {
    // Hot set: kHotSetSize lines chat repeats all day.
    "gg",
    "good morning",
    "lol",
    "gm everyone",
    "thanks!",
    "brb",
    "ok",
    "haha yes",
    "good night all",
    "nice one",
    "same",
    "what's up",
    "ty",
    "gn",
    "lmao",
    "hi",
    // Everyday chat.
    "anyone up for a match later?",
    "what time is the raid tonight?",
    "i'll be 10 min late, start without me",
    "did you see the patch notes",
    "that boss took us like 40 tries",
    "can someone send me the link to the doc",
    "my cat just knocked my coffee onto the keyboard",
    "pizza or tacos for the stream tonight",
    "this song has been stuck in my head all week",
    "ok who moved my headphones",
    "is the server down or is it just me",
    "happy birthday!! hope it's a great one",
    "ugh monday again",
    "finally finished the quest line, that ending though",
    "we need one more healer for the dungeon",
    "the new map is so much better than the old one",
    "wait what happened in the last episode, no spoilers pls",
    "my internet keeps dropping every ten minutes",
    "anyone know a good recipe for banana bread",
    "I just got promoted at work!",
    "going for a run before it gets too hot",
    "the meeting got moved to 3pm",
    "does anyone have notes from today's lecture",
    "just adopted a puppy, her name is Biscuit",
    "I can't believe it's already november",
    "who's watching the game tonight",
    "that was the worst ref call I've ever seen",
    "rate my setup, just got a new monitor",
    "we lost again but that last round was close",
    "studying for finals is killing me lol",
    "can you stream the next part of the playthrough?",
    "I'm so tired, didn't sleep at all because of the storm",
    "the train is delayed again, classic",
    "bro this lag is unreal",
    "welcome to the server! read the pinned rules pls",
    "does the event start at 8 or 9 your time",
    "I'd die for this pasta honestly",
    "this level is killing me, the jump is impossible",
    "ngl that plot twist destroyed me",
    "my landlord finally fixed the heating",
    "anyone tried the new ramen place downtown",
    "I'm dead 💀 that clip is hilarious",
    "lets gooo we won the tournament 🎉🎉",
    "morning coffee ☕ and then straight to work",
    "that sunset tho 🌅",
    "can't wait for the weekend 🙌",
    "stop spamming the chat please",
    "mods can we get a slow mode in here",
    "the build failed again, someone broke main",
    "pushed a fix, can you review when you get a sec",
    "I'll take the morning shift tomorrow",
    "my sister is visiting this weekend so I'll be offline",
    "thinking about switching my main to the support class",
    "the drop rate on that item is a joke",
    "does this shirt look ok for an interview",
    "grandma sent me cookies in the mail, best day",
    "it's snowing here!! first snow of the year",
    "who wants to co-op the new campaign on friday",
    "lost my keys for the third time this week",
    "we should do a movie night on the server",
    "I think my plant is dying, any tips",
    "just finished a 10k, legs are jelly",
    "what's everyone's favourite comfort game",
    "okay I'm logging off, see you all tomorrow",
    // Other languages.
    "buenos días a todos, ¿quién juega hoy?",
    "jemand Lust auf eine Runde heute Abend?",
    "bonne nuit tout le monde, à demain",
    "alguém quer jogar mais tarde?",
    "grazie a tutti per la partita di ieri",
    // Longer messages.
    "ok so long story short, the delivery guy left my package at the wrong "
    "house and the neighbour opened it, so now I have to wait another week",
    "honestly the best part of the trip was the little bakery next to the "
    "hotel, we went there every morning and the owner started saving us "
    "croissants",
    "if anyone is free on saturday we're cleaning up the park near the "
    "library, bring gloves and we'll provide bags and snacks",
    "I've been learning to play guitar for three months and I can finally "
    "get through a whole song without stopping, feels really good",
    "quick reminder that the tournament sign-ups close tonight at midnight, "
    "teams of four, and please double check your usernames",
    "so my manager asked me to present the quarterly numbers tomorrow and I "
    "have never done a presentation in front of the whole department before",
    "the recipe said thirty minutes but it took almost two hours and the "
    "kitchen is a disaster, still tasted great though",
    "new player here, I've read the guide but I still don't understand how "
    "the crafting system works, can someone explain it like I'm five",
    // Distress, low to medium concern.
    "I've been feeling really down lately",
    "everything is just so exhausting right now",
    "I don't really have anyone to talk to",
    "I can't stop crying and I don't know why",
    "nobody at school talks to me anymore",
    "I feel like such a burden to my family",
    "I haven't eaten properly in days, just no appetite",
    "my anxiety is through the roof today",
    "I keep messing everything up, I'm useless",
    "I'm so lonely it physically hurts",
    "some days I don't see the point of getting out of bed",
    "my parents keep fighting and I just hide in my room",
    "I failed the exam again and I feel like a total failure",
    "I've been having panic attacks every night this week",
    "I feel empty all the time, like nothing matters",
    "my friends stopped inviting me to things and I don't blame them",
    // High concern and crisis.
    "I don't want to be here anymore",
    "nobody would notice if I was gone",
    "I've been thinking about ending it all",
    "I wrote goodbye letters to my friends tonight",
    "I have the pills and I'm doing it tonight",
    "I just want everything to stop for good",
    "I'm standing on the bridge right now",
    "I've been hurting myself again and it's getting worse",
    "there's no way out of this, I've decided",
    "this is my last message, thank you all for everything",
};

// Escapes `s` as a JSON string body (our own labels and notes only).
std::string JsonEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// utime + stime of process `pid`, or nullopt if /proc cannot be read.
std::optional<absl::Duration> ProcessCpuTime(int pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat;
  if (!std::getline(file, stat)) return std::nullopt;
  // The command name (field 2) may hold spaces; fields after its closing
  // parenthesis start at field 3 (state). utime and stime are 14 and 15.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(stat).substr(paren + 1), ' ', absl::SkipEmpty());
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return std::nullopt;
  }
  const long ticks = sysconf(_SC_CLK_TCK);
  return absl::Seconds(static_cast<double>(utime + stime) /
                       static_cast<double>(ticks));
}

// Busy (non-idle, non-iowait) CPU time of the whole machine since boot.
std::optional<absl::Duration> MachineBusyTime() {
  std::ifstream file("/proc/stat");
  std::string line;
  if (!std::getline(file, line) || line.rfind("cpu ", 0) != 0)
    return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(line).substr(4), ' ', absl::SkipEmpty());
  // user nice system idle iowait irq softirq steal (guest time is already
  // part of user).
  int64_t busy = 0;
  for (size_t i = 0; i < fields.size() && i < 8; ++i) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(fields[i], &v)) return std::nullopt;
    if (i != 3 && i != 4) busy += v;
  }
  return absl::Seconds(static_cast<double>(busy) /
                       static_cast<double>(sysconf(_SC_CLK_TCK)));
}

absl::Duration SelfCpuTime() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) +
         absl::DurationFromTimeval(usage.ru_stime);
}

// Gaps between open-loop sends.
class Arrival {
 public:
  Arrival(double rate, Arrivals kind, uint64_t seed)
      : mean_s_(1.0 / rate), kind_(kind), rng_(seed ^ 0x9e3779b97f4a7c15ULL) {}
  absl::Duration Next() {
    if (kind_ == Arrivals::kFixed) return absl::Seconds(mean_s_);
    return absl::Seconds(
        std::exponential_distribution<double>(1.0 / mean_s_)(rng_));
  }

 private:
  double mean_s_;
  Arrivals kind_;
  std::mt19937_64 rng_;
};

// How late an open-loop dispatcher sent, compared with its schedule.
struct SendLag {
  int64_t count = 0;
  absl::Duration total;
  absl::Duration max;
  void Add(absl::Duration lag) {
    ++count;
    total += lag;
    max = std::max(max, lag);
  }
  std::string Note() const {
    if (count == 0) return "";
    return absl::StrFormat(
        "open loop: sends left on average %d µs after their scheduled time "
        "(max %d µs); latency counts from the schedule",
        absl::ToInt64Microseconds(total / count),
        absl::ToInt64Microseconds(max));
  }
};

// Sleeps until `t` (no-op when it has passed).
void SleepUntil(absl::Time t) {
  const absl::Duration d = t - absl::Now();
  if (d > absl::ZeroDuration()) absl::SleepFor(d);
}

}  // namespace

// ---------------------------------------------------------------------------
// Messages and order.

const std::vector<std::string>& BuiltinBenchMessages() {
  static const auto* const messages = new std::vector<std::string>(
      std::begin(kBuiltinMessages), std::end(kBuiltinMessages));
  return *messages;
}

absl::StatusOr<std::vector<std::string>> LoadBenchMessages(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<std::string> messages;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    google::protobuf::Struct object;
    const auto status =
        google::protobuf::util::JsonStringToMessage(line, &object);
    auto it = object.fields().find("text");
    if (!status.ok() || it == object.fields().end() ||
        !it->second.has_string_value() || it->second.string_value().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " line ", number,
          " is not a JSON object with a non-empty string \"text\""));
    }
    messages.push_back(it->second.string_value());
  }
  if (messages.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " has no messages"));
  }
  return messages;
}

BenchSequence::BenchSequence(std::vector<std::string> messages,
                             double repeat_fraction, uint64_t seed,
                             bool verbatim)
    : messages_(std::move(messages)),
      verbatim_(verbatim),
      offset_(std::random_device()()) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  const uint32_t n = static_cast<uint32_t>(messages_.size());
  const uint32_t hot = std::min<uint32_t>(kHotSetSize, n);
  std::uniform_int_distribution<uint32_t> any(0, n - 1);
  std::uniform_int_distribution<uint32_t> any_hot(0, hot - 1);
  order_.reserve(kSequenceLength);
  hot_.reserve(kSequenceLength);
  for (size_t i = 0; i < kSequenceLength; ++i) {
    const bool hot = coin(rng) < repeat_fraction;
    order_.push_back(hot ? any_hot(rng) : any(rng));
    hot_.push_back(hot);
  }
}

std::string BenchSequence::At(int64_t i) const {
  const size_t k = static_cast<size_t>(i) % order_.size();
  const std::string& text = messages_[order_[k]];
  if (verbatim_ || hot_[k]) return text;
  // Four syllables of 15 consonants x 5 vowels: 31.6 million handles. Two
  // runs that happen to share handles still pair them with other texts.
  static constexpr char kConsonants[] = "bdfghklmnprstvz";
  static constexpr char kVowels[] = "aeiou";
  uint64_t n = offset_ + static_cast<uint64_t>(i);
  std::string handle = "@";
  for (int s = 0; s < 4; ++s) {
    handle.push_back(kConsonants[n % 15]);
    n /= 15;
    handle.push_back(kVowels[n % 5]);
    n /= 5;
  }
  return absl::StrCat(handle, " ", text);
}

// ---------------------------------------------------------------------------
// Plan, recorder, CPU.

BenchPlan::BenchPlan(absl::Duration warmup, absl::Duration duration,
                     int64_t count)
    : start_(absl::Now()),
      warm_end_(start_ + warmup),
      end_(count > 0 ? absl::InfiniteFuture() : warm_end_ + duration),
      count_(count) {}

bool BenchPlan::Claim(absl::Time now, Ticket* ticket) {
  if (stopped_.load() || now >= end_) return false;
  ticket->measured = now >= warm_end_;
  if (ticket->measured && count_ > 0 && measured_.fetch_add(1) >= count_) {
    stopped_.store(true);
    return false;
  }
  ticket->index = next_.fetch_add(1);
  return true;
}

bool BenchPlan::Over(absl::Time now) const {
  return stopped_.load() || now >= end_ ||
         (count_ > 0 && measured_.load() >= count_);
}

LatencySummary Summarize(std::vector<int64_t>* latencies_us) {
  LatencySummary s;
  std::vector<int64_t>& v = *latencies_us;
  s.samples = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&v](double p) {
    // Nearest rank: the smallest value with at least p of the samples at or
    // below it.
    size_t k =
        static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::min(v.size(), std::max<size_t>(k, 1)) - 1];
  };
  double sum = 0;
  for (int64_t x : v) sum += static_cast<double>(x);
  s.mean_us = sum / static_cast<double>(v.size());
  s.p50_us = rank(0.50);
  s.p90_us = rank(0.90);
  s.p99_us = rank(0.99);
  s.max_us = v.back();
  return s;
}

void BenchRecorder::Record(bool measured, absl::Time start, absl::Time done,
                           int code) {
  if (!measured) return;
  absl::MutexLock lock(&mu_);
  if (code == 0) {
    latencies_us_.push_back(absl::ToInt64Microseconds(done - start));
  } else {
    ++errors_[code];
  }
  last_done_ = std::max(last_done_, done);
}

void BenchRecorder::Fill(absl::Time window_start, BenchResult* result) {
  absl::MutexLock lock(&mu_);
  result->sent = sent_.load();
  result->ok = static_cast<int64_t>(latencies_us_.size());
  int64_t errors = 0;
  for (const auto& [code, n] : errors_) {
    result->errors[CodeName(code)] += n;
    errors += n;
  }
  result->unanswered = std::max<int64_t>(0, result->sent - result->ok - errors);
  result->window_s = last_done_ > window_start
                         ? absl::ToDoubleSeconds(last_done_ - window_start)
                         : 0.0;
  if (result->window_s > 0) {
    result->throughput = static_cast<double>(result->ok) / result->window_s;
    result->achieved_rate =
        static_cast<double>(result->sent) / result->window_s;
  }
  result->latency = Summarize(&latencies_us_);
}

void CpuMeter::Start() {
  wall_start_ = absl::Now();
  self_start_ = SelfCpuTime();
  if (other_pid_ > 0) other_start_ = ProcessCpuTime(other_pid_);
  machine_start_ = MachineBusyTime();
}

void CpuMeter::Stop() {
  wall_end_ = absl::Now();
  self_end_ = SelfCpuTime();
  if (other_pid_ > 0) other_end_ = ProcessCpuTime(other_pid_);
  machine_end_ = MachineBusyTime();
}

std::optional<absl::Duration> CpuMeter::machine() const {
  if (!machine_start_.has_value() || !machine_end_.has_value())
    return std::nullopt;
  return *machine_end_ - *machine_start_;
}

std::optional<absl::Duration> CpuMeter::other() const {
  if (!other_start_.has_value() || !other_end_.has_value()) return std::nullopt;
  return *other_end_ - *other_start_;
}

void FillCpu(const CpuMeter& meter, BenchResult* result) {
  const double wall_s = absl::ToDoubleSeconds(meter.wall());
  const double n = static_cast<double>(std::max<int64_t>(result->sent, 1));
  result->cpu_us_per_message = absl::ToDoubleMicroseconds(meter.self()) / n;
  if (wall_s > 0)
    result->cpu_cores = absl::ToDoubleSeconds(meter.self()) / wall_s;
  absl::Duration ours = meter.self();
  if (std::optional<absl::Duration> other = meter.other()) {
    result->server_cpu_us_per_message = absl::ToDoubleMicroseconds(*other) / n;
    if (wall_s > 0)
      result->server_cpu_cores = absl::ToDoubleSeconds(*other) / wall_s;
    ours += *other;
  }
  if (std::optional<absl::Duration> machine = meter.machine();
      machine && wall_s > 0) {
    result->other_cores =
        std::max(0.0, absl::ToDoubleSeconds(*machine - ours) / wall_s);
  }
}

// ---------------------------------------------------------------------------
// Output.

std::string FormatBenchTable(const BenchResult& r) {
  std::string out = absl::StrCat("bench: ", r.label, "\n");
  int64_t errors = 0;
  for (const auto& [code, n] : r.errors) errors += n;
  absl::StrAppendFormat(
      &out, "  messages    %d sent, %d ok, %d errors, %d unanswered\n", r.sent,
      r.ok, errors, r.unanswered);
  if (!r.errors.empty()) {
    std::vector<std::string> parts;
    for (const auto& [code, n] : r.errors)
      parts.push_back(absl::StrCat(code, " ", n));
    absl::StrAppend(&out, "  errors      ", absl::StrJoin(parts, ", "), "\n");
  }
  absl::StrAppendFormat(&out, "  throughput  %.1f msg/s over %.2f s",
                        r.throughput, r.window_s);
  if (r.target_rate.has_value()) {
    absl::StrAppendFormat(&out, " (target %.1f/s, achieved %.1f/s)",
                          *r.target_rate, r.achieved_rate);
  }
  absl::StrAppend(&out, "\n");
  absl::StrAppendFormat(
      &out,
      "  latency µs  p50 %d  p90 %d  p99 %d  max %d  mean %.0f  (from %s)\n",
      r.latency.p50_us, r.latency.p90_us, r.latency.p99_us, r.latency.max_us,
      r.latency.mean_us, r.from_intended ? "intended send time" : "send");
  if (r.first_us.has_value()) {
    absl::StrAppendFormat(&out, "  first       %d µs", *r.first_us);
    if (r.connect_us.has_value()) {
      absl::StrAppendFormat(&out, " (after a %d µs connect)", *r.connect_us);
    }
    absl::StrAppend(&out, "\n");
  }
  if (r.after_pause_us.has_value()) {
    absl::StrAppendFormat(
        &out,
        "  after pause %d µs (median of %d calls, each after %d ms idle)\n",
        *r.after_pause_us, r.pause_probes, r.pause_ms);
  }
  absl::StrAppendFormat(&out,
                        "  cpu         this process %.1f µs/msg (%.2f cores)",
                        r.cpu_us_per_message, r.cpu_cores);
  if (r.server_cpu_us_per_message.has_value()) {
    absl::StrAppendFormat(&out, "; server %.1f µs/msg (%.2f cores)",
                          *r.server_cpu_us_per_message,
                          r.server_cpu_cores.value_or(0));
  }
  if (r.other_cores.has_value()) {
    absl::StrAppendFormat(&out, "; other load %.2f cores", *r.other_cores);
  }
  absl::StrAppend(&out, "\n");
  for (const std::string& note : r.notes)
    absl::StrAppend(&out, "  note        ", note, "\n");
  return out;
}

std::string FormatBenchJson(const BenchResult& r) {
  auto opt_int = [](const std::optional<int64_t>& v) {
    return v.has_value() ? absl::StrCat(*v) : std::string("null");
  };
  auto opt_double = [](const std::optional<double>& v) {
    return v.has_value() ? absl::StrFormat("%.3f", *v) : std::string("null");
  };
  std::vector<std::string> errors;
  for (const auto& [code, n] : r.errors) {
    errors.push_back(absl::StrCat("\"", JsonEscape(code), "\":", n));
  }
  std::vector<std::string> notes;
  for (const std::string& note : r.notes) {
    notes.push_back(absl::StrCat("\"", JsonEscape(note), "\""));
  }
  return absl::StrCat(
      "{\"label\":\"", JsonEscape(r.label), "\",\"sent\":", r.sent,
      ",\"ok\":", r.ok, ",\"errors\":{", absl::StrJoin(errors, ","),
      "},\"unanswered\":", r.unanswered,
      ",\"window_s\":", absl::StrFormat("%.3f", r.window_s),
      ",\"throughput\":", absl::StrFormat("%.3f", r.throughput),
      ",\"target_rate\":", opt_double(r.target_rate),
      ",\"achieved_rate\":", absl::StrFormat("%.3f", r.achieved_rate),
      ",\"latency_from\":\"", r.from_intended ? "intended" : "send", "\"",
      ",\"latency_us\":{\"samples\":", r.latency.samples,
      ",\"mean\":", absl::StrFormat("%.1f", r.latency.mean_us),
      ",\"p50\":", r.latency.p50_us, ",\"p90\":", r.latency.p90_us,
      ",\"p99\":", r.latency.p99_us, ",\"max\":", r.latency.max_us, "}",
      ",\"first_us\":", opt_int(r.first_us),
      ",\"connect_us\":", opt_int(r.connect_us),
      ",\"after_pause_us\":", opt_int(r.after_pause_us),
      ",\"pause_probes\":", r.pause_probes, ",\"pause_ms\":", r.pause_ms,
      ",\"cpu_us_per_message\":", absl::StrFormat("%.3f", r.cpu_us_per_message),
      ",\"cpu_cores\":", absl::StrFormat("%.3f", r.cpu_cores),
      ",\"server_cpu_us_per_message\":",
      opt_double(r.server_cpu_us_per_message),
      ",\"server_cpu_cores\":", opt_double(r.server_cpu_cores),
      ",\"other_cores\":", opt_double(r.other_cores), ",\"notes\":[",
      absl::StrJoin(notes, ","), "]}");
}

// ---------------------------------------------------------------------------
// Command-line options.

std::string BenchUsageText() {
  return absl::StrCat(
      "  bench               Load-test the server; print throughput, latency\n"
      "                      percentiles, errors, the first request's latency\n"
      "                      and CPU time per message.\n"
      "    --mode M          unary (default), stream, or health (unary\n"
      "                      Health/Check calls: gRPC's own round trip)\n"
      "    --concurrency N   closed loop: calls outstanding (unary) or open\n"
      "                      streams (stream); default 1\n"
      "    --rate R          open loop instead: R messages/s in total;\n"
      "                      latency counts from the intended send time\n"
      "    --arrivals A      open loop spacing: poisson (default) or fixed\n"
      "    --duration S      recorded seconds (default 10)\n"
      "    --count N         stop after N recorded messages instead\n"
      "    --warmup S        unrecorded seconds first (default 2)\n"
      "    --messages FILE   JSON lines with \"text\" (default: built-in mix)\n"
      "    --repeat-fraction F  share of messages from a hot set of ",
      kHotSetSize,
      "\n"
      "                      (default 0); every other message is made\n"
      "                      distinct with an @handle prefix\n"
      "    --verbatim        send the texts exactly as listed instead\n"
      "    --stream-window W stream mode, closed loop: unanswered messages\n"
      "                      per stream (default 32)\n"
      "    --server-pid PID  local server process: report its CPU time\n"
      "    --seed N          message order seed (default 1)\n"
      "    --people N        messages from N authors in 8 channels, so the\n"
      "                      server keeps conversation context (default 0:\n"
      "                      no user_id, no context)\n"
      "    --pause-probes N  before the run, N single calls each after a\n"
      "                      pause with no traffic; their median is printed\n"
      "                      as \"after pause\" (default 5; 0 = none)\n"
      "    --pause-ms MS     that pause (default 100)\n"
      "    --json            one JSON object instead of the table\n");
}

void AddBenchOptions(po::options_description& options) {
  options.add_options()                             //
      ("mode", po::value<std::string>(), "")        //
      ("concurrency", po::value<int>(), "")         //
      ("rate", po::value<double>(), "")             //
      ("arrivals", po::value<std::string>(), "")    //
      ("duration", po::value<double>(), "")         //
      ("count", po::value<int64_t>(), "")           //
      ("warmup", po::value<double>(), "")           //
      ("messages", po::value<std::string>(), "")    //
      ("repeat-fraction", po::value<double>(), "")  //
      ("stream-window", po::value<int>(), "")       //
      ("server-pid", po::value<int>(), "")          //
      ("seed", po::value<uint64_t>(), "")           //
      ("people", po::value<int>(), "")              //
      ("pause-probes", po::value<int>(), "")        //
      ("pause-ms", po::value<int>(), "")            //
      ("verbatim", po::bool_switch(), "")           //
      ("json", po::bool_switch(), "");
}

absl::Status ApplyBenchOptions(const po::variables_map& vm, BenchOptions* o) {
  if (vm.count("mode")) {
    const std::string mode = vm["mode"].as<std::string>();
    if (mode == "unary") {
      o->mode = BenchMode::kUnary;
    } else if (mode == "stream") {
      o->mode = BenchMode::kStream;
    } else if (mode == "health") {
      o->mode = BenchMode::kHealth;
    } else {
      return absl::InvalidArgumentError(
          "--mode must be unary, stream or health");
    }
  }
  if (vm.count("concurrency")) {
    o->concurrency = vm["concurrency"].as<int>();
    if (o->concurrency < 1 || o->concurrency > 10000) {
      return absl::InvalidArgumentError("--concurrency must be 1..10000");
    }
  }
  if (vm.count("rate")) {
    const double rate = vm["rate"].as<double>();
    if (!(rate > 0) || !std::isfinite(rate)) {
      return absl::InvalidArgumentError("--rate must be a positive number");
    }
    o->rate = rate;
  }
  if (vm.count("arrivals")) {
    const std::string a = vm["arrivals"].as<std::string>();
    if (a == "poisson") {
      o->arrivals = Arrivals::kPoisson;
    } else if (a == "fixed") {
      o->arrivals = Arrivals::kFixed;
    } else {
      return absl::InvalidArgumentError("--arrivals must be poisson or fixed");
    }
  }
  if (vm.count("duration")) {
    const double s = vm["duration"].as<double>();
    if (!(s > 0) || !std::isfinite(s)) {
      return absl::InvalidArgumentError("--duration must be > 0 seconds");
    }
    o->duration = absl::Seconds(s);
  }
  if (vm.count("warmup")) {
    const double s = vm["warmup"].as<double>();
    if (!(s >= 0) || !std::isfinite(s)) {
      return absl::InvalidArgumentError("--warmup must be >= 0 seconds");
    }
    o->warmup = absl::Seconds(s);
  }
  if (vm.count("count")) {
    o->count = vm["count"].as<int64_t>();
    if (o->count < 1) return absl::InvalidArgumentError("--count must be >= 1");
  }
  if (vm.count("messages")) o->messages_file = vm["messages"].as<std::string>();
  if (vm.count("repeat-fraction")) {
    o->repeat_fraction = vm["repeat-fraction"].as<double>();
    if (!(o->repeat_fraction >= 0 && o->repeat_fraction <= 1)) {
      return absl::InvalidArgumentError("--repeat-fraction must be in 0..1");
    }
  }
  if (vm.count("stream-window")) {
    o->stream_window = vm["stream-window"].as<int>();
    if (o->stream_window < 1) {
      return absl::InvalidArgumentError("--stream-window must be >= 1");
    }
  }
  if (vm.count("server-pid")) {
    o->server_pid = vm["server-pid"].as<int>();
    if (o->server_pid < 1)
      return absl::InvalidArgumentError("--server-pid must be > 0");
  }
  if (vm.count("seed")) o->seed = vm["seed"].as<uint64_t>();
  if (vm.count("people")) {
    o->people = vm["people"].as<int>();
    if (o->people < 0 || o->people > 1000000) {
      return absl::InvalidArgumentError("--people must be 0..1000000");
    }
  }
  if (vm.count("pause-probes")) {
    o->pause_probes = vm["pause-probes"].as<int>();
    if (o->pause_probes < 0 || o->pause_probes > 1000) {
      return absl::InvalidArgumentError("--pause-probes must be 0..1000");
    }
  }
  if (vm.count("pause-ms")) {
    const int ms = vm["pause-ms"].as<int>();
    if (ms < 1 || ms > 60000)
      return absl::InvalidArgumentError("--pause-ms must be 1..60000");
    o->pause = absl::Milliseconds(ms);
  }
  o->verbatim = vm["verbatim"].as<bool>();
  o->json = vm["json"].as<bool>();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// The RPC drivers.

namespace {

using lantern::v1::Analyzer;
using lantern::v1::AnalyzeRequest;
using lantern::v1::AnalyzeResponse;
using lantern::v1::StreamAnalyzeRequest;
using lantern::v1::StreamAnalyzeResponse;

// What every driver of one run shares.
struct RunContext {
  Analyzer::Stub* stub;
  grpc::health::v1::Health::Stub* health;  // BenchMode::kHealth
  const BenchSequence* sequence;
  BenchPlan* plan;
  BenchRecorder* recorder;
  absl::Duration timeout;       // unary calls
  const ClientOptions* client;  // the bearer token
  int people;                   // BenchOptions::people
};

// Gives message `index` its author and channel when the run has people.
void SetAuthor(int people, int64_t index, lantern::v1::ChatMessage* message) {
  if (people <= 0) return;
  const int64_t person = index % people;
  message->set_user_id(absl::StrCat("p", person));
  message->set_channel_id(absl::StrCat("c", person % 8));
}

// Unary calls on gRPC's callback API: no thread per call, completions run on
// gRPC's own threads, which also start the next call in a closed loop.
class UnaryDriver {
 public:
  explicit UnaryDriver(RunContext run) : run_(run) {}

  // Keeps `concurrency` calls outstanding until the plan is over; returns
  // once every call is back.
  void RunClosed(int concurrency) {
    closed_ = true;
    Hold();
    for (int i = 0; i < concurrency; ++i) StartNext();
    ReleaseAndWait();
  }

  // Sends at `rate` per second on schedule, however the server keeps up.
  SendLag RunOpen(double rate, Arrivals arrivals, uint64_t seed) {
    closed_ = false;
    Hold();
    Arrival gaps(rate, arrivals, seed);
    SendLag lag;
    absl::Time next = run_.plan->start();
    BenchPlan::Ticket ticket;
    while (run_.plan->Claim(next, &ticket)) {
      SleepUntil(next);
      const absl::Time now = absl::Now();
      if (ticket.measured) lag.Add(now - next);
      Start(ticket, next);
      next += gaps.Next();
    }
    ReleaseAndWait();
    return lag;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    AnalyzeRequest request;
    AnalyzeResponse response;
    grpc::health::v1::HealthCheckRequest health_request;
    grpc::health::v1::HealthCheckResponse health_response;
    absl::Time start;
    bool measured = false;
  };

  // Counts calls in flight, plus one for the loop itself while it runs.
  // std::mutex because the last Release() notifies under the lock and then
  // touches nothing, so the driver may be destroyed as soon as the wait
  // returns.
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    ++outstanding_;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--outstanding_ == 0) all_back_.notify_all();
  }
  void ReleaseAndWait() {
    std::unique_lock<std::mutex> lock(mu_);
    --outstanding_;
    all_back_.wait(lock, [this] { return outstanding_ == 0; });
  }

  // Closed loop: claims and starts the next call, if any. False when the
  // plan is over.
  bool StartNext() {
    const absl::Time now = absl::Now();
    BenchPlan::Ticket ticket;
    if (!run_.plan->Claim(now, &ticket)) return false;
    Start(ticket, now);
    return true;
  }

  void Start(const BenchPlan::Ticket& ticket, absl::Time start) {
    Hold();
    auto* call = new Call;
    call->start = start;
    call->measured = ticket.measured;
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + run_.timeout));
    AddCallCredentials(*run_.client, call->context);
    if (ticket.measured) run_.recorder->Sent();
    if (run_.health != nullptr) {
      run_.health->async()->Check(
          &call->context, &call->health_request, &call->health_response,
          [this, call](grpc::Status status) { Done(call, status); });
      return;
    }
    lantern::v1::ChatMessage* message = call->request.mutable_message();
    message->set_id(absl::StrCat("b", ticket.index));
    message->set_text(run_.sequence->At(ticket.index));
    SetAuthor(run_.people, ticket.index, message);
    run_.stub->async()->Analyze(
        &call->context, &call->request, &call->response,
        [this, call](grpc::Status status) { Done(call, status); });
  }

  void Done(Call* call, const grpc::Status& status) {
    const absl::Time done = absl::Now();
    int code = static_cast<int>(status.error_code());
    const bool answered =
        run_.health != nullptr
            ? call->health_response.status() ==
                  grpc::health::v1::HealthCheckResponse::SERVING
            : call->response.has_analysis();
    if (status.ok() && !answered) {
      code = static_cast<int>(absl::StatusCode::kInternal);
    }
    run_.recorder->Record(call->measured, call->start, done, code);
    delete call;
    // Start the successor before this call stops counting, so the count
    // reaches zero only when the loop is over.
    if (closed_) StartNext();
    Release();
  }

  const RunContext run_;
  bool closed_ = true;
  std::mutex mu_;
  std::condition_variable all_back_;
  int outstanding_ = 0;  // Guarded by mu_.
};

// One StreamAnalyze call. Closed loop (window > 0): keeps up to `window`
// messages unanswered, claiming new ones from the plan as answers come.
// Open loop (window == 0): writes what Enqueue() hands it, in order.
//
// Writes are started from reactions and, through the hold, from the
// dispatcher thread; decisions are taken under mu_ and carried out after it
// is released.
// Counts StreamCalls that are done; outlives them. OnDone() signals it last
// and touches nothing of its call afterwards, so a call may be destroyed as
// soon as the count includes it.
struct StreamsDone {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;  // Guarded by mu.
};

class StreamCall final : public grpc::ClientBidiReactor<StreamAnalyzeRequest,
                                                        StreamAnalyzeResponse> {
 public:
  StreamCall(RunContext run, int window, StreamsDone* done)
      : run_(run), window_(window), streams_done_(done) {}

  void Start() {
    AddCallCredentials(*run_.client, context_);
    run_.stub->async()->StreamAnalyze(&context_, this);
    StartRead(&response_);
    AddHold();
    StartCall();
    Pump();
  }

  // Open loop: queues message `ticket` scheduled at `intended`.
  void Enqueue(const BenchPlan::Ticket& ticket, absl::Time intended) {
    {
      absl::MutexLock lock(&mu_);
      pending_.push_back({ticket, intended});
    }
    Pump();
  }
  // Open loop: nothing more will be queued.
  void CloseWrites() {
    {
      absl::MutexLock lock(&mu_);
      no_more_ = true;
    }
    Pump();
  }

  void Cancel() { context_.TryCancel(); }

  // Messages written whose answer never came (once the call is done).
  std::vector<bool> UnansweredMeasured() {
    absl::MutexLock lock(&mu_);
    std::vector<bool> out;
    for (size_t i = 0; i < sent_.size(); ++i) {
      if (!answered_[i]) out.push_back(sent_[i].measured);
    }
    return out;
  }
  grpc::Status status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) broken_ = true;
    }
    Pump();
  }

  void OnWritesDoneDone(bool /*ok*/) override {
    {
      absl::MutexLock lock(&mu_);
      half_close_ = kHalfClosed;
    }
    Pump();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      {
        absl::MutexLock lock(&mu_);
        reads_over_ = true;
      }
      Pump();
      return;
    }
    const absl::Time now = absl::Now();
    const uint64_t seq = response_.sequence();
    int code = 0;
    if (response_.has_error()) {
      code = response_.error().code();
    } else if (!response_.has_analysis()) {
      code = static_cast<int>(absl::StatusCode::kInternal);
    }
    {
      absl::MutexLock lock(&mu_);
      if (seq < sent_.size() && !answered_[seq]) {
        answered_[seq] = true;
        ++answered_count_;
        run_.recorder->Record(sent_[seq].measured, sent_[seq].start, now, code);
      }
    }
    StartRead(&response_);
    Pump();
  }

  void OnDone(const grpc::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      status_ = status;
    }
    std::lock_guard<std::mutex> lock(streams_done_->mu);
    ++streams_done_->done;
    streams_done_->cv.notify_all();
  }

 private:
  enum HalfClose { kOpen, kHalfClosing, kHalfClosed };
  struct Pending {
    BenchPlan::Ticket ticket;
    absl::Time intended;
  };
  struct Sent {
    absl::Time start;
    bool measured;
  };
  enum class Action { kNone, kWrite, kWritesDone, kRemoveHold };

  // Decides the next step under mu_ and takes it outside.
  void Pump() {
    Action action = Action::kNone;
    {
      absl::MutexLock lock(&mu_);
      action = NextLocked();
    }
    switch (action) {
      case Action::kWrite:
        StartWrite(&request_);
        break;
      case Action::kWritesDone:
        StartWritesDone();
        break;
      case Action::kRemoveHold:
        RemoveHold();
        break;
      case Action::kNone:
        break;
    }
  }

  Action NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (hold_removed_ || writing_ || half_close_ == kHalfClosing) {
      return Action::kNone;
    }
    if (reads_over_) broken_ = true;  // The call ended: nothing more to do.
    if (broken_ || half_close_ == kHalfClosed) {
      hold_removed_ = true;
      return Action::kRemoveHold;
    }
    BenchPlan::Ticket ticket;
    absl::Time start;
    if (window_ == 0) {
      if (pending_.empty()) {
        if (!no_more_) return Action::kNone;
        half_close_ = kHalfClosing;
        return Action::kWritesDone;
      }
      ticket = pending_.front().ticket;
      start = pending_.front().intended;
      pending_.pop_front();
    } else {
      if (static_cast<int64_t>(sent_.size()) - answered_count_ >= window_) {
        return Action::kNone;
      }
      start = absl::Now();
      if (!run_.plan->Claim(start, &ticket)) {
        half_close_ = kHalfClosing;
        return Action::kWritesDone;
      }
      if (ticket.measured) run_.recorder->Sent();
    }
    request_.Clear();
    lantern::v1::ChatMessage* message = request_.mutable_message();
    message->set_id(absl::StrCat("s", ticket.index));
    message->set_text(run_.sequence->At(ticket.index));
    SetAuthor(run_.people, ticket.index, message);
    sent_.push_back({start, ticket.measured});
    answered_.push_back(false);
    writing_ = true;
    return Action::kWrite;
  }

  const RunContext run_;
  const int window_;
  StreamsDone* const streams_done_;
  grpc::ClientContext context_;
  StreamAnalyzeRequest request_;    // owned by the write in flight
  StreamAnalyzeResponse response_;  // owned by the read in flight

  absl::Mutex mu_;
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<Sent> sent_ ABSL_GUARDED_BY(mu_);  // by stream sequence
  std::vector<bool> answered_ ABSL_GUARDED_BY(mu_);
  int64_t answered_count_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool no_more_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_over_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_removed_ ABSL_GUARDED_BY(mu_) = false;
  HalfClose half_close_ ABSL_GUARDED_BY(mu_) = kOpen;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

// Runs `streams` StreamAnalyze calls until the plan is over and every
// answer is in (or the calls are cancelled kDrainGrace + timeout after the
// plan ended). Messages never answered are counted as errors with the
// stream's final code.
SendLag RunStreams(RunContext run, const BenchOptions& options,
                   std::vector<std::string>* notes) {
  const int n = options.concurrency;
  StreamsDone streams_done;  // Declared first: outlives the calls.
  std::vector<std::unique_ptr<StreamCall>> calls;
  for (int i = 0; i < n; ++i) {
    calls.push_back(std::make_unique<StreamCall>(
        run, options.rate.has_value() ? 0 : options.stream_window,
        &streams_done));
  }
  for (auto& call : calls) call->Start();
  SendLag lag;
  if (options.rate.has_value()) {
    Arrival gaps(*options.rate, options.arrivals, options.seed);
    absl::Time next = run.plan->start();
    BenchPlan::Ticket ticket;
    for (int64_t k = 0; run.plan->Claim(next, &ticket); ++k) {
      SleepUntil(next);
      if (ticket.measured) {
        lag.Add(absl::Now() - next);
        run.recorder->Sent();
      }
      calls[static_cast<size_t>(k % n)]->Enqueue(ticket, next);
      next += gaps.Next();
    }
    for (auto& call : calls) call->CloseWrites();
  }
  // Wait for every call; cancel stragglers well after sending stopped.
  std::optional<absl::Time> over_at;
  bool cancelled = false;
  std::unique_lock<std::mutex> lock(streams_done.mu);
  while (streams_done.done < n) {
    streams_done.cv.wait_for(lock, std::chrono::milliseconds(20));
    const absl::Time now = absl::Now();
    if (!over_at.has_value() && run.plan->Over(now)) over_at = now;
    if (!cancelled && over_at.has_value() &&
        now > *over_at + kDrainGrace + run.timeout) {
      for (auto& call : calls) call->Cancel();
      cancelled = true;
      notes->push_back(
          "streams cancelled: answers still missing long after sending "
          "stopped");
    }
  }
  lock.unlock();
  const absl::Time now = absl::Now();
  for (auto& call : calls) {
    const grpc::Status status = call->status();
    int code = static_cast<int>(status.error_code());
    if (status.ok()) code = static_cast<int>(absl::StatusCode::kInternal);
    for (bool measured : call->UnansweredMeasured()) {
      run.recorder->Record(measured, now, now, code);
    }
    if (!status.ok()) {
      notes->push_back(
          absl::StrCat("a stream ended with ",
                       CodeName(static_cast<int>(status.error_code())), ": ",
                       status.error_message()));
    }
  }
  return lag;
}

std::string LabelOf(const BenchOptions& o) {
  const char* kind = o.mode == BenchMode::kUnary    ? "unary"
                     : o.mode == BenchMode::kStream ? "stream"
                                                    : "unary Health/Check";
  std::string label = absl::StrCat("rpc ", kind);
  if (o.rate.has_value()) {
    absl::StrAppendFormat(
        &label, " open-loop %.0f msg/s (%s)", *o.rate,
        o.arrivals == Arrivals::kPoisson ? "poisson" : "fixed");
    if (o.mode == BenchMode::kStream)
      absl::StrAppend(&label, " over ", o.concurrency, " streams");
  } else if (o.mode != BenchMode::kStream) {
    absl::StrAppend(&label, " closed-loop concurrency ", o.concurrency);
  } else {
    absl::StrAppend(&label, " closed-loop ", o.concurrency,
                    " stream(s), window ", o.stream_window);
  }
  if (o.count > 0) absl::StrAppend(&label, ", ", o.count, " messages");
  if (o.repeat_fraction > 0) {
    absl::StrAppendFormat(&label, ", repeat fraction %.2f", o.repeat_fraction);
  }
  if (o.verbatim) absl::StrAppend(&label, ", verbatim");
  return label;
}

}  // namespace

int RunBench(const ClientOptions& client_options, const BenchOptions& options,
             std::ostream& out, std::ostream& err) {
  std::vector<std::string> messages;
  if (options.messages_file.empty()) {
    messages = BuiltinBenchMessages();
  } else {
    absl::StatusOr<std::vector<std::string>> loaded =
        LoadBenchMessages(options.messages_file);
    if (!loaded.ok()) {
      err << ErrorLine(loaded.status()) << '\n';
      return kExitFailure;
    }
    messages = *std::move(loaded);
  }
  const BenchSequence sequence(std::move(messages), options.repeat_fraction,
                               options.seed, options.verbatim);

  // A channel of its own, so the first request goes over a new connection.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel = MakeChannel(client_options, args);
  std::unique_ptr<Analyzer::Stub> stub = Analyzer::NewStub(channel);
  std::unique_ptr<grpc::health::v1::Health::Stub> health =
      grpc::health::v1::Health::NewStub(channel);

  BenchResult result;
  result.label = LabelOf(options);
  const absl::Time connect_start = absl::Now();
  if (!channel->WaitForConnected(
          absl::ToChronoTime(connect_start + absl::Seconds(5)))) {
    err << ErrorLine(absl::UnavailableError(absl::StrCat(
               "cannot connect to ", client_options.target, " within 5 s")))
        << '\n';
    return kExitFailure;
  }
  result.connect_us = absl::ToInt64Microseconds(absl::Now() - connect_start);
  // One blocking call of the run's kind; its latency, or the error.
  auto single_call = [&](int64_t index,
                         const std::string& id) -> absl::StatusOr<int64_t> {
    grpc::ClientContext context;
    context.set_deadline(
        absl::ToChronoTime(absl::Now() + client_options.timeout));
    AddCallCredentials(client_options, context);
    AnalyzeRequest request;
    request.mutable_message()->set_id(id);
    request.mutable_message()->set_text(sequence.At(index));
    AnalyzeResponse response;
    grpc::health::v1::HealthCheckResponse health_response;
    const absl::Time start = absl::Now();
    const grpc::Status status =
        options.mode == BenchMode::kHealth
            ? health->Check(&context, {}, &health_response)
            : stub->Analyze(&context, request, &response);
    const int64_t took = absl::ToInt64Microseconds(absl::Now() - start);
    if (!status.ok()) return FromGrpcStatus(status);
    return took;
  };
  // The first request, before any other traffic on this connection.
  absl::StatusOr<int64_t> first = single_call(0, "first");
  if (!first.ok()) {
    err << ErrorLine(first.status()) << " (first request)\n";
    return kExitFailure;
  }
  result.first_us = *first;
  if (options.pause_probes > 0) {
    // Far from the run's indices, so the run cannot repeat a probe's text.
    constexpr int64_t kProbeIndex = int64_t{1} << 40;
    std::vector<int64_t> took;
    for (int i = 0; i < options.pause_probes; ++i) {
      absl::SleepFor(options.pause);
      absl::StatusOr<int64_t> probe =
          single_call(kProbeIndex + i, absl::StrCat("pause-", i));
      if (!probe.ok()) {
        err << ErrorLine(probe.status()) << " (pause probe)\n";
        return kExitFailure;
      }
      took.push_back(*probe);
    }
    std::sort(took.begin(), took.end());
    result.after_pause_us = took[took.size() / 2];
    result.pause_probes = options.pause_probes;
    result.pause_ms = absl::ToInt64Milliseconds(options.pause);
  }

  BenchPlan plan(options.warmup, options.duration, options.count);
  BenchRecorder recorder;
  RunContext run{stub.get(),
                 options.mode == BenchMode::kHealth ? health.get() : nullptr,
                 &sequence,
                 &plan,
                 &recorder,
                 client_options.timeout,
                 &client_options,
                 options.people};
  CpuMeter meter(options.server_pid);
  // The meter starts when the warm-up ends, on a thread of its own since
  // the drivers below block until the run is over.
  std::thread meter_start([&meter, &plan] {
    SleepUntil(plan.warm_end());
    meter.Start();
  });
  SendLag lag;
  if (options.mode != BenchMode::kStream) {
    UnaryDriver driver(run);
    if (options.rate.has_value()) {
      lag = driver.RunOpen(*options.rate, options.arrivals, options.seed);
    } else {
      driver.RunClosed(options.concurrency);
    }
  } else {
    lag = RunStreams(run, options, &result.notes);
  }
  meter_start.join();
  meter.Stop();

  recorder.Fill(plan.warm_end(), &result);
  result.target_rate = options.rate;
  result.from_intended = options.rate.has_value();
  FillCpu(meter, &result);
  if (options.server_pid > 0 && !result.server_cpu_us_per_message.has_value()) {
    result.notes.push_back(
        absl::StrCat("cannot read /proc/", options.server_pid, "/stat"));
  }
  if (const std::string note = lag.Note(); !note.empty())
    result.notes.push_back(note);
  out << (options.json ? FormatBenchJson(result) + "\n"
                       : FormatBenchTable(result));
  out.flush();
  int64_t errors = 0;
  for (const auto& [code, n] : result.errors) errors += n;
  return (errors == 0 && result.unanswered == 0 && result.sent > 0)
             ? kExitOk
             : kExitFailure;
}

}  // namespace lantern::client
