// raw_baseline: the RPC benchmark's reference, with no RPC. Same messages,
// same load options (parsed and checked by client/bench_options.h), same
// table as `lantern bench` (client/bench.h), so the serving overhead is a
// difference and a ratio measured on one machine.
//
//   --driver engine  core::Engine on the model directory, exactly as the
//                    server configures it, fed by Submit() from
//                    --concurrency threads (closed loop) or one dispatcher
//                    (open loop, --rate): engine-in-process versus
//                    engine-behind-gRPC.
//   --driver direct  the models alone: per message, tokenize, pad to the
//                    length bucket, Forward on every model of the ensemble
//                    (one pass per model and length bucket),
//                    softmax and risk (MakeSignal). min(--concurrency,
//                    --threads) threads, each with its own warm handles,
//                    each running batches of min(--max-batch, concurrency /
//                    threads) messages padded as the engine's batcher pads.
//                    Text is normalised before each message's clock starts.
//                    No result cache. This is the model's own cost; the
//                    notes split it by stage.
//
// Usage: raw_baseline --model-dir DIR [--driver engine|direct] [--threads 2]
//          [--torch-threads 1] [--max-batch 8] [--batch-delay-us 0]
//          [--concurrency N | --rate R [--arrivals A]]
//          [--duration S | --count N] [--warmup S] [--messages FILE]
//          [--repeat-fraction F] [--verbatim] [--seed N] [--json]
#include "tests/bench/raw_baseline.h"

#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "client/bench.h"

namespace lantern::bench {
namespace {

namespace po = boost::program_options;
using client::BenchResult;
using client::BenchSequence;

constexpr char kUsage[] =
    "usage: raw_baseline --model-dir DIR [--driver engine|direct] "
    "[--threads N] [--torch-threads N] [--max-batch N] "
    "[--batch-delay-us N] [--concurrency N | --rate R "
    "[--arrivals poisson|fixed]] [--duration S | --count N] [--warmup S] "
    "[--messages FILE] [--repeat-fraction F] [--verbatim] [--seed N] "
    "[--json]";

// raw_baseline's own options, next to the shared load options.
void AddRawOptions(po::options_description& desc) {
  desc.add_options()                               //
      ("help,h", "")                               //
      ("driver", po::value<std::string>(), "")     //
      ("model-dir", po::value<std::string>(), "")  //
      ("threads", po::value<int>(), "")            //
      ("torch-threads", po::value<int>(), "")      //
      ("max-batch", po::value<int>(), "")          //
      ("batch-delay-us", po::value<int64_t>(), "");
}

absl::Status ApplyRawOptions(const po::variables_map& vm, RawOptions* o) {
  o->model_dir = vm["model-dir"].as<std::string>();
  if (vm.count("driver")) o->driver = vm["driver"].as<std::string>();
  if (o->driver != "engine" && o->driver != "direct") {
    return absl::InvalidArgumentError("--driver must be engine or direct");
  }
  if (vm.count("threads")) o->threads = vm["threads"].as<int>();
  if (vm.count("torch-threads"))
    o->torch_threads = vm["torch-threads"].as<int>();
  if (vm.count("max-batch")) o->max_batch = vm["max-batch"].as<int>();
  if (vm.count("batch-delay-us")) {
    o->batch_delay = absl::Microseconds(vm["batch-delay-us"].as<int64_t>());
  }
  if (o->threads < 1 || o->torch_threads < 1 || o->max_batch < 1) {
    return absl::InvalidArgumentError(
        "--threads, --torch-threads and --max-batch must be >= 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<RawOptions> Parse(int argc, char** argv) {
  po::options_description desc;
  AddRawOptions(desc);
  client::AddBenchLoadOptions(desc);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
  if (vm.count("help") || !vm.count("model-dir")) {
    return absl::InvalidArgumentError(kUsage);
  }
  RawOptions o;
  if (absl::Status s = ApplyRawOptions(vm, &o); !s.ok()) return s;
  if (absl::Status s = client::ApplyBenchLoadOptions(vm, &o.load); !s.ok()) {
    return s;
  }
  if (o.load.rate.has_value() && o.driver == "direct") {
    return absl::InvalidArgumentError("--rate needs --driver engine");
  }
  return o;
}

std::string LabelOf(const RawOptions& o) {
  std::string label;
  if (o.driver == "engine") {
    label = absl::StrCat(
        "in-process engine (", o.threads, " workers) ",
        o.load.rate.has_value()
            ? absl::StrFormat("open-loop %.0f msg/s", *o.load.rate)
            : absl::StrCat("closed-loop concurrency ", o.load.concurrency));
  } else {
    label = absl::StrCat("direct model calls, closed-loop concurrency ",
                         o.load.concurrency);
  }
  if (o.load.count > 0)
    absl::StrAppend(&label, ", ", o.load.count, " messages");
  return label;
}

int Main(int argc, char** argv) {
  absl::StatusOr<RawOptions> options = Parse(argc, argv);
  if (!options.ok()) {
    std::cerr << options.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<BenchSequence> sequence =
      client::MakeBenchSequence(options->load);
  if (!sequence.ok()) {
    std::cerr << "raw_baseline: " << sequence.status() << "\n";
    return 1;
  }
  BenchResult result;
  result.label = LabelOf(*options);
  result.target_rate = options->load.rate;
  result.from_intended = options->load.rate.has_value();
  const int rc = options->driver == "engine"
                     ? RunEngine(*options, *sequence, &result)
                     : RunDirectDriver(*options, *sequence, &result);
  if (rc != 0) return rc;
  std::cout << (options->load.json ? client::FormatBenchJson(result) + "\n"
                                   : client::FormatBenchTable(result));
  std::cout.flush();
  // Skip static destruction of torch's libraries (about 1.5 s).
  std::_Exit(0);
}

}  // namespace
}  // namespace lantern::bench

int main(int argc, char** argv) {
  // As lantern-server does, so the in-process engine pays what it pays.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return lantern::bench::Main(argc, argv);
}
