// Minimal leveled logging to stderr (abseil 20220623 has no absl/log).
//
// Privacy rule for every caller: never pass message text, user ids or channel
// ids to these functions. Log counts, sizes, codes and model names only.
// Thread-safe.
#ifndef LANTERN_CORE_LOGGING_H_
#define LANTERN_CORE_LOGGING_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace lantern::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below `level` are dropped. Default: kInfo.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();

// Parses "debug", "info", "warning" or "error"; InvalidArgument otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

// Writes one line: "<UTC time> <LEVEL> <message>".
void Log(LogLevel level, absl::string_view message);

inline void LogDebug(absl::string_view m) { Log(LogLevel::kDebug, m); }
inline void LogInfo(absl::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(absl::string_view m) { Log(LogLevel::kWarning, m); }
inline void LogError(absl::string_view m) { Log(LogLevel::kError, m); }

// Lets through one log line per interval, so a fault that repeats with every
// message cannot flood the log; counts the lines it holds back. Thread-safe.
class LogLimiter {
 public:
  explicit LogLimiter(absl::Duration interval) : interval_(interval) {}

  // True when a line may be written at `now`; then `*held_back` is the number
  // of lines held back since the last one let through.
  bool Allow(absl::Time now, uint64_t* held_back);

 private:
  const absl::Duration interval_;
  absl::Mutex mu_;
  absl::Time next_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t held_back_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace lantern::core

#endif  // LANTERN_CORE_LOGGING_H_
