// The result table and its JSON form; see bench_format.h.
#include "client/bench_format.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace lantern::client {
namespace {

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

}  // namespace

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

}  // namespace lantern::client
