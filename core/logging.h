// Minimal leveled logging to stderr (abseil 20220623 has no absl/log).
//
// Privacy rule for every caller: never pass message text, user ids or channel
// ids to these functions. Log counts, sizes, codes and model names only.
// Thread-safe.
#ifndef LANTERN_CORE_LOGGING_H_
#define LANTERN_CORE_LOGGING_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

}  // namespace lantern::core

#endif  // LANTERN_CORE_LOGGING_H_
