// raw_baseline: the RPC benchmark's reference, with no RPC. Same messages,
// same load options, same table as `lantern bench` (client/bench.h), so the
// serving overhead is a difference and a ratio measured on one machine.
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
#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/bench.h"
#include "core/engine.h"
#include "core/ensemble.h"
#include "core/model_backend.h"
#include "core/model_batcher.h"
#include "core/model_spec.h"
#include "core/text.h"
#include "core/tokenizer.h"

namespace lantern::bench {
namespace {

namespace po = boost::program_options;
using client::BenchPlan;
using client::BenchRecorder;
using client::BenchResult;
using client::BenchSequence;

struct RawOptions {
  std::string driver = "engine";
  std::string model_dir;
  int threads = 2;
  int torch_threads = 1;
  // Dynamic batching, as the engine's defaults unless given.
  int max_batch = core::BatchOptions().max_batch;
  absl::Duration batch_delay = core::BatchOptions().max_delay;
  int concurrency = 1;
  std::optional<double> rate;
  client::Arrivals arrivals = client::Arrivals::kPoisson;
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(2);
  int64_t count = 0;
  std::string messages_file;
  double repeat_fraction = 0;
  bool verbatim = false;
  uint64_t seed = 1;
  bool json = false;
};

absl::StatusOr<RawOptions> Parse(int argc, char** argv) {
  po::options_description desc;
  desc.add_options()                                //
      ("help,h", "")                                //
      ("driver", po::value<std::string>(), "")      //
      ("model-dir", po::value<std::string>(), "")   //
      ("threads", po::value<int>(), "")             //
      ("torch-threads", po::value<int>(), "")       //
      ("max-batch", po::value<int>(), "")           //
      ("batch-delay-us", po::value<int64_t>(), "")  //
      ("concurrency", po::value<int>(), "")         //
      ("rate", po::value<double>(), "")             //
      ("arrivals", po::value<std::string>(), "")    //
      ("duration", po::value<double>(), "")         //
      ("warmup", po::value<double>(), "")           //
      ("count", po::value<int64_t>(), "")           //
      ("messages", po::value<std::string>(), "")    //
      ("repeat-fraction", po::value<double>(), "")  //
      ("seed", po::value<uint64_t>(), "")           //
      ("verbatim", po::bool_switch(), "")           //
      ("json", po::bool_switch(), "");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
  RawOptions o;
  if (vm.count("help") || !vm.count("model-dir")) {
    return absl::InvalidArgumentError(
        "usage: raw_baseline --model-dir DIR [--driver engine|direct] "
        "[--threads N] [--torch-threads N] [--max-batch N] "
        "[--batch-delay-us N] [--concurrency N | --rate R "
        "[--arrivals poisson|fixed]] [--duration S | --count N] [--warmup S] "
        "[--messages FILE] [--repeat-fraction F] [--verbatim] [--seed N] "
        "[--json]");
  }
  o.model_dir = vm["model-dir"].as<std::string>();
  if (vm.count("driver")) o.driver = vm["driver"].as<std::string>();
  if (o.driver != "engine" && o.driver != "direct") {
    return absl::InvalidArgumentError("--driver must be engine or direct");
  }
  if (vm.count("threads")) o.threads = vm["threads"].as<int>();
  if (vm.count("torch-threads"))
    o.torch_threads = vm["torch-threads"].as<int>();
  if (vm.count("concurrency")) o.concurrency = vm["concurrency"].as<int>();
  if (vm.count("max-batch")) o.max_batch = vm["max-batch"].as<int>();
  if (vm.count("batch-delay-us")) {
    o.batch_delay = absl::Microseconds(vm["batch-delay-us"].as<int64_t>());
  }
  if (o.threads < 1 || o.torch_threads < 1 || o.concurrency < 1 ||
      o.max_batch < 1) {
    return absl::InvalidArgumentError(
        "thread counts and concurrency must be >= 1");
  }
  if (vm.count("rate")) {
    o.rate = vm["rate"].as<double>();
    if (!(*o.rate > 0)) return absl::InvalidArgumentError("--rate must be > 0");
    if (o.driver == "direct") {
      return absl::InvalidArgumentError("--rate needs --driver engine");
    }
  }
  if (vm.count("arrivals")) {
    const std::string a = vm["arrivals"].as<std::string>();
    if (a != "poisson" && a != "fixed") {
      return absl::InvalidArgumentError("--arrivals must be poisson or fixed");
    }
    o.arrivals =
        a == "fixed" ? client::Arrivals::kFixed : client::Arrivals::kPoisson;
  }
  if (vm.count("duration"))
    o.duration = absl::Seconds(vm["duration"].as<double>());
  if (vm.count("warmup")) o.warmup = absl::Seconds(vm["warmup"].as<double>());
  if (vm.count("count")) o.count = vm["count"].as<int64_t>();
  if (vm.count("messages")) o.messages_file = vm["messages"].as<std::string>();
  if (vm.count("repeat-fraction"))
    o.repeat_fraction = vm["repeat-fraction"].as<double>();
  if (vm.count("seed")) o.seed = vm["seed"].as<uint64_t>();
  o.verbatim = vm["verbatim"].as<bool>();
  o.json = vm["json"].as<bool>();
  return o;
}

// Starts the CPU meter when the warm-up ends.
class MeterAtWarmEnd {
 public:
  MeterAtWarmEnd(client::CpuMeter* meter, const BenchPlan& plan)
      : thread_([meter, &plan] {
          const absl::Duration d = plan.warm_end() - absl::Now();
          if (d > absl::ZeroDuration()) absl::SleepFor(d);
          meter->Start();
        }) {}
  ~MeterAtWarmEnd() { thread_.join(); }

 private:
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// The engine driver.

core::AnalysisRequest MakeRequest(const BenchSequence& sequence,
                                  int64_t index) {
  core::AnalysisRequest request;
  request.message.id = absl::StrCat("r", index);
  request.message.text = sequence.At(index);
  return request;
}

// Submits one message and waits for its answer. Returns the status code.
int SubmitAndWait(core::Engine& engine, core::AnalysisRequest request) {
  absl::Notification done;
  int code = 0;
  const absl::Status submitted =
      engine.Submit(std::move(request),
                    [&done, &code](absl::StatusOr<core::Analysis> result) {
                      code = static_cast<int>(result.status().code());
                      done.Notify();
                    });
  if (!submitted.ok()) return static_cast<int>(submitted.code());
  done.WaitForNotification();
  return code;
}

int RunEngine(const RawOptions& o, const BenchSequence& sequence,
              BenchResult* result) {
  core::EngineOptions options;
  options.model_dir = o.model_dir;
  options.worker_threads = o.threads;
  options.torch_threads = o.torch_threads;
  options.batching.max_batch = o.max_batch;
  options.batching.max_delay = o.batch_delay;
  absl::StatusOr<std::unique_ptr<core::Engine>> engine =
      core::Engine::Create(options);
  if (!engine.ok()) {
    std::cerr << "raw_baseline: " << engine.status() << "\n";
    return 1;
  }
  const absl::Time load_start = absl::Now();
  if (absl::Status s = (*engine)->LoadAndWarm(); !s.ok()) {
    std::cerr << "raw_baseline: " << s << "\n";
    return 1;
  }
  result->notes.push_back(
      absl::StrCat("engine loaded and warmed in ",
                   absl::ToInt64Milliseconds(absl::Now() - load_start), " ms"));
  {
    const absl::Time start = absl::Now();
    const int code = SubmitAndWait(**engine, MakeRequest(sequence, 0));
    result->first_us = absl::ToInt64Microseconds(absl::Now() - start);
    if (code != 0) {
      std::cerr << "raw_baseline: first request failed with code " << code
                << "\n";
      return 1;
    }
  }

  BenchPlan plan(o.warmup, o.duration, o.count);
  BenchRecorder recorder;
  client::CpuMeter meter;
  {
    MeterAtWarmEnd meter_start(&meter, plan);
    if (!o.rate.has_value()) {
      std::vector<std::thread> threads;
      for (int t = 0; t < o.concurrency; ++t) {
        threads.emplace_back([&] {
          BenchPlan::Ticket ticket;
          while (true) {
            const absl::Time start = absl::Now();
            if (!plan.Claim(start, &ticket)) return;
            if (ticket.measured) recorder.Sent();
            const int code =
                SubmitAndWait(**engine, MakeRequest(sequence, ticket.index));
            recorder.Record(ticket.measured, start, absl::Now(), code);
          }
        });
      }
      for (auto& thread : threads) thread.join();
    } else {
      // Open loop: one dispatcher; answers are recorded in the callbacks.
      std::mutex mu;
      std::condition_variable cv;
      int outstanding = 0;
      std::mt19937_64 rng(o.seed);
      const double mean_s = 1.0 / *o.rate;
      absl::Time next = plan.start();
      BenchPlan::Ticket ticket;
      while (plan.Claim(next, &ticket)) {
        const absl::Duration wait = next - absl::Now();
        if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
        if (ticket.measured) recorder.Sent();
        {
          std::lock_guard<std::mutex> lock(mu);
          ++outstanding;
        }
        const absl::Time intended = next;
        const bool measured = ticket.measured;
        const absl::Status submitted = (*engine)->Submit(
            MakeRequest(sequence, ticket.index),
            [&, intended, measured](absl::StatusOr<core::Analysis> r) {
              recorder.Record(measured, intended, absl::Now(),
                              static_cast<int>(r.status().code()));
              std::lock_guard<std::mutex> lock(mu);
              if (--outstanding == 0) cv.notify_all();
            });
        if (!submitted.ok()) {
          recorder.Record(measured, intended, absl::Now(),
                          static_cast<int>(submitted.code()));
          std::lock_guard<std::mutex> lock(mu);
          --outstanding;
        }
        next += o.arrivals == client::Arrivals::kFixed
                    ? absl::Seconds(mean_s)
                    : absl::Seconds(
                          std::exponential_distribution<double>(*o.rate)(rng));
      }
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return outstanding == 0; });
    }
  }
  meter.Stop();
  recorder.Fill(plan.warm_end(), result);
  client::FillCpu(meter, result);
  std::vector<std::string> rows_per_batch;
  for (const core::ModelStats& m : (*engine)->Stats().models) {
    rows_per_batch.push_back(absl::StrFormat(
        "%s %.2f", m.name,
        m.batches == 0 ? 0.0 : static_cast<double>(m.inferences) / m.batches));
  }
  result->notes.push_back(
      absl::StrCat("rows per forward pass, bench warm-up included: ",
                   absl::StrJoin(rows_per_batch, ", ")));
  (*engine)->Shutdown();
  return 0;
}

// ---------------------------------------------------------------------------
// The direct driver.

struct DirectModel {
  core::LoadedModelSpec spec;
  int tokenizer = 0;
  std::vector<int64_t> buckets;
};

// One thread's warm handles, one per model.
using Handles = std::vector<std::unique_ptr<core::ModelBackend>>;

// Time spent per stage, summed over measured messages.
struct StageTimes {
  absl::Duration tokenize, forward, score;
  int64_t messages = 0;
  void Add(const StageTimes& o) {
    tokenize += o.tokenize;
    forward += o.forward;
    score += o.score;
    messages += o.messages;
  }
};

// The ids the engine feeds `model` for `tokens` (core::ModelInput) and the
// smallest length bucket that fits them.
void ModelInput(const DirectModel& model, const std::vector<int64_t>& tokens,
                std::vector<int64_t>* ids, int64_t* length) {
  *ids = core::ModelInput(model.spec.spec, tokens);
  *length = *std::lower_bound(model.buckets.begin(), model.buckets.end(),
                              static_cast<int64_t>(ids->size()));
}

// Runs `texts` (normalised) through every model, padded and grouped as the
// engine's batcher does: one forward pass per model and length bucket, rows
// padded to that bucket, the row count up to the next batch bucket by
// repeating the group's first row. Returns the status code (for every
// message).
int RunDirect(const std::vector<DirectModel>& models,
              const std::vector<std::unique_ptr<core::Tokenizer>>& tokenizers,
              const std::vector<int>& batch_buckets, Handles& handles,
              const std::vector<std::string>& texts, StageTimes* times) {
  // tokens[tokenizer][message], filled on first use.
  std::vector<std::vector<std::vector<int64_t>>> tokens(tokenizers.size());
  for (size_t m = 0; m < models.size(); ++m) {
    const DirectModel& model = models[m];
    const absl::Time t0 = absl::Now();
    std::vector<std::vector<int64_t>>& encoded = tokens[model.tokenizer];
    if (encoded.empty()) {
      for (const std::string& text : texts) {
        absl::StatusOr<std::vector<int64_t>> ids =
            tokenizers[model.tokenizer]->Encode(text);
        if (!ids.ok()) return static_cast<int>(ids.status().code());
        encoded.push_back(*std::move(ids));
      }
    }
    // Length bucket -> the rows of that length.
    std::map<int64_t, std::vector<std::vector<int64_t>>> groups;
    for (size_t i = 0; i < texts.size(); ++i) {
      std::vector<int64_t> row;
      int64_t length = 0;
      ModelInput(model, encoded[i], &row, &length);
      groups[length].push_back(std::move(row));
    }
    times->tokenize += absl::Now() - t0;
    for (auto& [length, rows] : groups) {
      const size_t real_rows = rows.size();
      const size_t padded_rows = static_cast<size_t>(
          *std::lower_bound(batch_buckets.begin(), batch_buckets.end(),
                            static_cast<int>(real_rows)));
      while (rows.size() < padded_rows) rows.push_back(rows.front());
      const absl::Time t1 = absl::Now();
      absl::StatusOr<std::vector<std::vector<float>>> logits =
          handles[m]->Forward(rows, length,
                              model.spec.spec.tokenizer().pad_id());
      const absl::Time t2 = absl::Now();
      if (!logits.ok()) return static_cast<int>(logits.status().code());
      for (size_t i = 0; i < real_rows; ++i) {
        absl::StatusOr<core::Signal> signal =
            core::MakeSignal(model.spec.spec, (*logits)[i]);
        if (!signal.ok()) return static_cast<int>(signal.status().code());
      }
      times->forward += t2 - t1;
      times->score += absl::Now() - t2;
    }
  }
  times->messages += static_cast<int64_t>(texts.size());
  return 0;
}

// Loads and warms one handle per model the way the engine does: 3 forward
// passes at every pair of length bucket and batch bucket.
absl::StatusOr<Handles> LoadHandles(const std::vector<DirectModel>& models,
                                    const std::vector<int>& batch_buckets) {
  Handles handles;
  for (const DirectModel& model : models) {
    absl::StatusOr<std::unique_ptr<core::ModelBackend>> backend =
        core::LoadTorchScriptBackend(model.spec.model_path);
    if (!backend.ok()) return backend.status();
    const int64_t pad = model.spec.spec.tokenizer().pad_id();
    for (int64_t length : model.buckets) {
      for (int batch : batch_buckets) {
        const std::vector<std::vector<int64_t>> rows(
            static_cast<size_t>(batch),
            std::vector<int64_t>(static_cast<size_t>(length), pad + 5));
        for (int run = 0; run < 3; ++run) {
          absl::StatusOr<std::vector<std::vector<float>>> logits =
              (*backend)->Forward(rows, length, pad);
          if (!logits.ok()) return logits.status();
        }
      }
    }
    handles.push_back(*std::move(backend));
  }
  return handles;
}

int RunDirectDriver(const RawOptions& o, const BenchSequence& sequence,
                    BenchResult* result) {
  absl::StatusOr<core::ModelDirectory> directory =
      core::LoadModelDirectory(o.model_dir);
  if (!directory.ok()) {
    std::cerr << "raw_baseline: " << directory.status() << "\n";
    return 1;
  }
  core::ConfigureTorch(o.torch_threads);
  std::vector<DirectModel> models;
  std::vector<std::unique_ptr<core::Tokenizer>> tokenizers;
  std::map<std::string, int> tokenizer_by_path;
  for (core::LoadedModelSpec& spec : directory->models) {
    DirectModel model;
    auto it = tokenizer_by_path.find(spec.tokenizer_path);
    if (it == tokenizer_by_path.end()) {
      absl::StatusOr<std::unique_ptr<core::Tokenizer>> tokenizer =
          core::LoadTokenizer(spec.spec.tokenizer(), spec.tokenizer_path);
      if (!tokenizer.ok()) {
        std::cerr << "raw_baseline: " << tokenizer.status() << "\n";
        return 1;
      }
      tokenizers.push_back(*std::move(tokenizer));
      it = tokenizer_by_path
               .emplace(spec.tokenizer_path,
                        static_cast<int>(tokenizers.size()) - 1)
               .first;
    }
    model.tokenizer = it->second;
    model.buckets = core::LengthBuckets(spec.spec.max_tokens());
    model.spec = std::move(spec);
    models.push_back(std::move(model));
  }
  // Text is normalised before the clock starts for a message.
  auto normalized = [&sequence](int64_t index) {
    const std::string text = sequence.At(index);
    absl::StatusOr<std::string> n = core::NormalizeText(text);
    return n.ok() ? *std::move(n) : text;
  };
  const int threads = std::min(o.concurrency, o.threads);
  // The closed loop's messages in flight are split over the threads; each
  // runs them in batches of up to --max-batch, as the engine's batcher would.
  const int batch = std::max(1, std::min(o.max_batch, o.concurrency / threads));
  const std::vector<int> batch_buckets = core::BatchBuckets(batch);
  std::vector<Handles> handles;
  const absl::Time load_start = absl::Now();
  for (int t = 0; t < threads; ++t) {
    absl::StatusOr<Handles> h = LoadHandles(models, batch_buckets);
    if (!h.ok()) {
      std::cerr << "raw_baseline: " << h.status() << "\n";
      return 1;
    }
    handles.push_back(*std::move(h));
  }
  result->notes.push_back(
      absl::StrCat(threads, " thread(s) running batches of ", batch,
                   ", each thread with its own handles, loaded and warmed in ",
                   absl::ToInt64Milliseconds(absl::Now() - load_start), " ms"));
  {
    StageTimes ignored;
    const std::vector<std::string> first = {normalized(0)};
    const absl::Time start = absl::Now();
    RunDirect(models, tokenizers, batch_buckets, handles[0], first, &ignored);
    result->first_us = absl::ToInt64Microseconds(absl::Now() - start);
  }

  BenchPlan plan(o.warmup, o.duration, o.count);
  BenchRecorder recorder;
  client::CpuMeter meter;
  std::vector<StageTimes> stage_times(static_cast<size_t>(threads));
  {
    MeterAtWarmEnd meter_start(&meter, plan);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::vector<BenchPlan::Ticket> tickets;
        std::vector<std::string> texts;
        while (true) {
          tickets.clear();
          texts.clear();
          BenchPlan::Ticket ticket;
          while (static_cast<int>(tickets.size()) < batch &&
                 plan.Claim(absl::Now(), &ticket)) {
            tickets.push_back(ticket);
            texts.push_back(normalized(ticket.index));
          }
          if (tickets.empty()) return;
          const absl::Time start = absl::Now();
          bool measured = false;
          for (const BenchPlan::Ticket& k : tickets) {
            if (k.measured) recorder.Sent();
            measured = measured || k.measured;
          }
          StageTimes times;
          const int code =
              RunDirect(models, tokenizers, batch_buckets,
                        handles[static_cast<size_t>(t)], texts, &times);
          const absl::Time done = absl::Now();
          for (const BenchPlan::Ticket& k : tickets) {
            recorder.Record(k.measured, start, done, code);
          }
          if (measured) stage_times[static_cast<size_t>(t)].Add(times);
        }
      });
    }
    for (auto& worker : workers) worker.join();
  }
  meter.Stop();
  recorder.Fill(plan.warm_end(), result);
  client::FillCpu(meter, result);
  StageTimes total;
  for (const StageTimes& s : stage_times) total.Add(s);
  if (total.messages > 0) {
    const double n = static_cast<double>(total.messages);
    result->notes.push_back(absl::StrFormat(
        "per message: tokenize+pad %.1f µs, forward (all models) %.1f µs, "
        "softmax+risk %.1f µs",
        absl::ToDoubleMicroseconds(total.tokenize) / n,
        absl::ToDoubleMicroseconds(total.forward) / n,
        absl::ToDoubleMicroseconds(total.score) / n));
  }
  return 0;
}

int Main(int argc, char** argv) {
  absl::StatusOr<RawOptions> options = Parse(argc, argv);
  if (!options.ok()) {
    std::cerr << options.status().message() << "\n";
    return 2;
  }
  std::vector<std::string> messages;
  if (options->messages_file.empty()) {
    messages = client::BuiltinBenchMessages();
  } else {
    absl::StatusOr<std::vector<std::string>> loaded =
        client::LoadBenchMessages(options->messages_file);
    if (!loaded.ok()) {
      std::cerr << "raw_baseline: " << loaded.status() << "\n";
      return 1;
    }
    messages = *std::move(loaded);
  }
  const BenchSequence sequence(std::move(messages), options->repeat_fraction,
                               options->seed, options->verbatim);
  BenchResult result;
  if (options->driver == "engine") {
    result.label = absl::StrCat(
        "in-process engine (", options->threads, " workers) ",
        options->rate.has_value()
            ? absl::StrFormat("open-loop %.0f msg/s", *options->rate)
            : absl::StrCat("closed-loop concurrency ", options->concurrency));
  } else {
    result.label = absl::StrCat("direct model calls, closed-loop concurrency ",
                                options->concurrency);
  }
  if (options->count > 0)
    absl::StrAppend(&result.label, ", ", options->count, " messages");
  result.target_rate = options->rate;
  result.from_intended = options->rate.has_value();
  const int rc = options->driver == "engine"
                     ? RunEngine(*options, sequence, &result)
                     : RunDirectDriver(*options, sequence, &result);
  if (rc != 0) return rc;
  std::cout << (options->json ? client::FormatBenchJson(result) + "\n"
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
