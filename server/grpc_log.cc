#include "server/grpc_log.h"

#include <grpc/support/log.h>

#include <atomic>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace lantern::server {
namespace {

std::atomic<core::LogLevel> g_level{core::LogLevel::kInfo};

core::LogLevel LevelOf(gpr_log_severity severity) {
  switch (severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      return core::LogLevel::kDebug;
    case GPR_LOG_SEVERITY_INFO:
      return core::LogLevel::kInfo;
    case GPR_LOG_SEVERITY_ERROR:
      break;
  }
  return core::LogLevel::kError;
}

void Write(gpr_log_func_args* args) {
  core::Log(
      LevelOf(args->severity),
      GrpcLogLine(g_level.load(), args->file, args->line,
                  gpr_log_severity_string(args->severity), args->message));
}

}  // namespace

std::string GrpcLogLine(core::LogLevel level, const char* file, int line,
                        const char* severity, const char* message) {
  const char* slash = std::strrchr(file, '/');
  const char* base = slash == nullptr ? file : slash + 1;
  if (level == core::LogLevel::kDebug) {
    return absl::StrCat("grpc ", severity, " ", base, ":", line, ": ", message);
  }
  return absl::StrCat(
      "grpc ", severity, " at ", base, ":", line,
      " (its message may quote client input; shown at --log-level debug)");
}

void RouteGrpcLog(core::LogLevel level) {
  g_level.store(level);
  gpr_set_log_verbosity(level == core::LogLevel::kDebug
                            ? GPR_LOG_SEVERITY_DEBUG
                            : GPR_LOG_SEVERITY_ERROR);
  gpr_set_log_function(Write);
}

}  // namespace lantern::server
