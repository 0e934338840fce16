// gRPC's own log, routed through Lantern's logger.
//
// gRPC writes some client-supplied values verbatim (e.g. an invalid header
// value in its parse errors), which could carry a person's words. Below
// --log-level debug only where gRPC logged and how severe it was reaches the
// log, never gRPC's message; at debug its full message is written.
#ifndef LANTERN_SERVER_GRPC_LOG_H_
#define LANTERN_SERVER_GRPC_LOG_H_

#include <string>

#include "core/logging.h"

namespace lantern::server {

// Installs the routing for the whole process; call once, early in main.
void RouteGrpcLog(core::LogLevel level);

// The line written for one gRPC log call (exposed for tests).
std::string GrpcLogLine(core::LogLevel level, const char* file, int line,
                        const char* severity, const char* message);

}  // namespace lantern::server

#endif  // LANTERN_SERVER_GRPC_LOG_H_
