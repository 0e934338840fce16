// Reading the small configuration and vocabulary files of a model directory.
#ifndef LANTERN_CORE_FILES_H_
#define LANTERN_CORE_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace lantern::core {

// The whole file. NotFound when it cannot be opened.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Parses a JSON file (the protobuf JSON mapping) into `out`. Unknown fields
// are errors, so a typo cannot pass silently. NotFound when the file cannot
// be opened; InvalidArgument naming the file when it does not parse.
absl::Status ReadJsonProto(const std::string& path,
                           google::protobuf::Message* out);

}  // namespace lantern::core

#endif  // LANTERN_CORE_FILES_H_
