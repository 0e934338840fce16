// A BenchResult as the human-readable table or as one line of JSON.
#ifndef LANTERN_CLIENT_BENCH_FORMAT_H_
#define LANTERN_CLIENT_BENCH_FORMAT_H_

#include <string>

#include "client/bench_recorder.h"

namespace lantern::client {

// The human-readable table, several lines, ending with a newline.
std::string FormatBenchTable(const BenchResult& result);
// One line of JSON (no newline) with every field; latencies in µs.
std::string FormatBenchJson(const BenchResult& result);

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_BENCH_FORMAT_H_
