// CPU time from getrusage and /proc; see bench_cpu.h.
#include "client/bench_cpu.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace lantern::client {
namespace {

absl::Duration FromTicks(int64_t ticks) {
  return absl::Seconds(static_cast<double>(ticks) /
                       static_cast<double>(sysconf(_SC_CLK_TCK)));
}

// utime + stime of process `pid`, or nullopt if /proc cannot be read.
std::optional<absl::Duration> ProcessCpuTime(int pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat;
  if (!std::getline(file, stat)) return std::nullopt;
  const std::optional<int64_t> ticks = ParseProcessStatTicks(stat);
  if (!ticks.has_value()) return std::nullopt;
  return FromTicks(*ticks);
}

// Busy (non-idle, non-iowait) CPU time of the whole machine since boot.
std::optional<absl::Duration> MachineBusyTime() {
  std::ifstream file("/proc/stat");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  const std::optional<int64_t> ticks = ParseMachineBusyTicks(line);
  if (!ticks.has_value()) return std::nullopt;
  return FromTicks(*ticks);
}

absl::Duration SelfCpuTime() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) +
         absl::DurationFromTimeval(usage.ru_stime);
}

}  // namespace

std::optional<int64_t> ParseProcessStatTicks(absl::string_view stat) {
  // Fields after the command name's closing parenthesis start at field 3
  // (state), so utime and stime are the 12th and 13th of them.
  const size_t paren = stat.rfind(')');
  if (paren == absl::string_view::npos) return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(stat.substr(paren + 1), ' ', absl::SkipEmpty());
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return std::nullopt;
  }
  return utime + stime;
}

std::optional<int64_t> ParseMachineBusyTicks(absl::string_view cpu_line) {
  if (!absl::ConsumePrefix(&cpu_line, "cpu ")) return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(cpu_line, ' ', absl::SkipEmpty());
  // user nice system idle iowait irq softirq steal
  int64_t busy = 0;
  for (size_t i = 0; i < fields.size() && i < 8; ++i) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(fields[i], &v)) return std::nullopt;
    if (i != 3 && i != 4) busy += v;
  }
  return busy;
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

MeterAtWarmEnd::MeterAtWarmEnd(CpuMeter* meter, const BenchPlan& plan)
    : thread_([meter, &plan] {
        SleepUntil(plan.warm_end());
        meter->Start();
      }) {}

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

}  // namespace lantern::client
