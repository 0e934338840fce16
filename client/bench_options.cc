// The bench command-line options; see bench_options.h.
#include "client/bench_options.h"

#include <boost/program_options.hpp>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/bench_messages.h"

namespace lantern::client {
namespace {

namespace po = boost::program_options;

// --concurrency, --rate and --arrivals: how many calls, and how spaced.
absl::Status ApplyLoadShape(const po::variables_map& vm, BenchOptions* o) {
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
  return absl::OkStatus();
}

// --duration, --warmup and --count: how long the run lasts.
absl::Status ApplyLoadLength(const po::variables_map& vm, BenchOptions* o) {
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
  return absl::OkStatus();
}

absl::Status ApplyMode(const po::variables_map& vm, BenchOptions* o) {
  if (!vm.count("mode")) return absl::OkStatus();
  const std::string mode = vm["mode"].as<std::string>();
  if (mode == "unary") {
    o->mode = BenchMode::kUnary;
  } else if (mode == "stream") {
    o->mode = BenchMode::kStream;
  } else if (mode == "health") {
    o->mode = BenchMode::kHealth;
  } else {
    return absl::InvalidArgumentError("--mode must be unary, stream or health");
  }
  return absl::OkStatus();
}

// --stream-window, --server-pid and --people: what only RPC runs have.
absl::Status ApplyRpcOptions(const po::variables_map& vm, BenchOptions* o) {
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
  if (vm.count("people")) {
    o->people = vm["people"].as<int>();
    if (o->people < 0 || o->people > 1000000) {
      return absl::InvalidArgumentError("--people must be 0..1000000");
    }
  }
  return absl::OkStatus();
}

// --pause-probes and --pause-ms.
absl::Status ApplyPauseOptions(const po::variables_map& vm, BenchOptions* o) {
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
  return absl::OkStatus();
}

}  // namespace

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

void AddBenchLoadOptions(po::options_description& options) {
  options.add_options()                             //
      ("concurrency", po::value<int>(), "")         //
      ("rate", po::value<double>(), "")             //
      ("arrivals", po::value<std::string>(), "")    //
      ("duration", po::value<double>(), "")         //
      ("count", po::value<int64_t>(), "")           //
      ("warmup", po::value<double>(), "")           //
      ("messages", po::value<std::string>(), "")    //
      ("repeat-fraction", po::value<double>(), "")  //
      ("seed", po::value<uint64_t>(), "")           //
      ("verbatim", po::bool_switch(), "")           //
      ("json", po::bool_switch(), "");
}

void AddBenchOptions(po::options_description& options) {
  options.add_options()                        //
      ("mode", po::value<std::string>(), "")   //
      ("stream-window", po::value<int>(), "")  //
      ("server-pid", po::value<int>(), "")     //
      ("people", po::value<int>(), "")         //
      ("pause-probes", po::value<int>(), "")   //
      ("pause-ms", po::value<int>(), "");
  AddBenchLoadOptions(options);
}

absl::Status ApplyBenchLoadOptions(const po::variables_map& vm,
                                   BenchOptions* o) {
  if (absl::Status s = ApplyLoadShape(vm, o); !s.ok()) return s;
  if (absl::Status s = ApplyLoadLength(vm, o); !s.ok()) return s;
  if (vm.count("messages")) o->messages_file = vm["messages"].as<std::string>();
  if (vm.count("repeat-fraction")) {
    o->repeat_fraction = vm["repeat-fraction"].as<double>();
    if (!(o->repeat_fraction >= 0 && o->repeat_fraction <= 1)) {
      return absl::InvalidArgumentError("--repeat-fraction must be in 0..1");
    }
  }
  if (vm.count("seed")) o->seed = vm["seed"].as<uint64_t>();
  o->verbatim = vm["verbatim"].as<bool>();
  o->json = vm["json"].as<bool>();
  return absl::OkStatus();
}

// Of several bad values, the first checked is reported: --mode, then the
// load options, then the RPC ones (the order `lantern bench` always had).
absl::Status ApplyBenchOptions(const po::variables_map& vm, BenchOptions* o) {
  if (absl::Status s = ApplyMode(vm, o); !s.ok()) return s;
  if (absl::Status s = ApplyBenchLoadOptions(vm, o); !s.ok()) return s;
  if (absl::Status s = ApplyRpcOptions(vm, o); !s.ok()) return s;
  return ApplyPauseOptions(vm, o);
}

std::string BenchLabel(const BenchOptions& o) {
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

}  // namespace lantern::client
