// CPU time over a run's measured window: this process's (getrusage), a
// local server's (/proc/PID/stat) and the whole machine's (/proc/stat), and
// what is left for other processes.
#ifndef LANTERN_CLIENT_BENCH_CPU_H_
#define LANTERN_CLIENT_BENCH_CPU_H_

#include <cstdint>
#include <optional>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/bench_plan.h"
#include "client/bench_recorder.h"

namespace lantern::client {

// CPU time of this process (getrusage), optionally of another process
// (/proc/PID/stat), and of the whole machine (/proc/stat), between Start()
// and Stop().
class CpuMeter {
 public:
  explicit CpuMeter(int other_pid = 0) : other_pid_(other_pid) {}
  void Start();
  void Stop();
  absl::Duration self() const { return self_end_ - self_start_; }
  // Unset when no pid was given or /proc could not be read.
  std::optional<absl::Duration> other() const;
  // Busy CPU time of the whole machine; unset if /proc/stat is unreadable.
  std::optional<absl::Duration> machine() const;
  absl::Duration wall() const { return wall_end_ - wall_start_; }

 private:
  int other_pid_;
  absl::Time wall_start_, wall_end_;
  absl::Duration self_start_, self_end_;
  std::optional<absl::Duration> other_start_, other_end_;
  std::optional<absl::Duration> machine_start_, machine_end_;
};

// Starts `meter` when `plan`'s warm-up ends, on a thread of its own, since
// the drivers block until the run is over; the destructor waits for it.
class MeterAtWarmEnd {
 public:
  MeterAtWarmEnd(CpuMeter* meter, const BenchPlan& plan);
  ~MeterAtWarmEnd() { thread_.join(); }
  MeterAtWarmEnd(const MeterAtWarmEnd&) = delete;
  MeterAtWarmEnd& operator=(const MeterAtWarmEnd&) = delete;

 private:
  std::thread thread_;
};

// Fills the CPU fields of `result` from `meter` and result->sent.
void FillCpu(const CpuMeter& meter, BenchResult* result);

// utime + stime in clock ticks from the text of /proc/PID/stat (fields 14
// and 15; the command name in field 2 may hold spaces and parentheses).
// Unset when the text is not in that format.
std::optional<int64_t> ParseProcessStatTicks(absl::string_view stat);

// Busy clock ticks of the whole machine since boot from the first line of
// /proc/stat ("cpu  user nice system idle iowait irq softirq steal ..."):
// the first eight fields but idle and iowait (guest time is already part of
// user). Unset when the line is not in that format.
std::optional<int64_t> ParseMachineBusyTicks(absl::string_view cpu_line);

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_BENCH_CPU_H_
