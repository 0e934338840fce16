// raw_baseline --driver direct: the models alone, batched and padded as the
// engine's batcher does; see raw_baseline.cc.
#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/engine.h"
#include "core/ensemble.h"
#include "core/model_backend.h"
#include "core/model_spec.h"
#include "core/text.h"
#include "core/tokenizer.h"
#include "tests/bench/raw_baseline.h"

namespace lantern::bench {
namespace {

using client::BenchPlan;
using client::BenchRecorder;
using client::BenchResult;
using client::BenchSequence;

struct DirectModel {
  core::LoadedModelSpec spec;
  int tokenizer = 0;
  std::vector<int64_t> buckets;
};

// One thread's warm handles, one per model.
using Handles = std::vector<std::unique_ptr<core::ModelBackend>>;

// What the direct driver's threads share, read-only while they run; each
// thread calls only its own handles.
struct DirectSetup {
  std::vector<DirectModel> models;
  std::vector<std::unique_ptr<core::Tokenizer>> tokenizers;
  std::vector<int> batch_buckets;
  std::vector<Handles> handles;  // one set per thread
  int batch = 1;                 // messages a thread runs at once
};

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

// Runs `texts` (normalised) through every model with `handles`, padded and
// grouped as the engine's batcher does: one forward pass per model and
// length bucket, rows padded to that bucket, the row count up to the next
// batch bucket by repeating the group's first row. Returns the status code
// (for every message).
int RunDirect(const DirectSetup& setup, const Handles& handles,
              const std::vector<std::string>& texts, StageTimes* times) {
  // tokens[tokenizer][message], filled on first use.
  std::vector<std::vector<std::vector<int64_t>>> tokens(
      setup.tokenizers.size());
  for (size_t m = 0; m < setup.models.size(); ++m) {
    const DirectModel& model = setup.models[m];
    const absl::Time t0 = absl::Now();
    std::vector<std::vector<int64_t>>& encoded = tokens[model.tokenizer];
    if (encoded.empty()) {
      for (const std::string& text : texts) {
        absl::StatusOr<std::vector<int64_t>> ids =
            setup.tokenizers[model.tokenizer]->Encode(text);
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
      const size_t padded_rows = static_cast<size_t>(*std::lower_bound(
          setup.batch_buckets.begin(), setup.batch_buckets.end(),
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

// The directory's models, each distinct tokenizer loaded once.
absl::Status LoadModels(const std::string& model_dir, DirectSetup* setup) {
  absl::StatusOr<core::ModelDirectory> directory =
      core::LoadModelDirectory(model_dir);
  if (!directory.ok()) return directory.status();
  std::map<std::string, int> tokenizer_by_path;
  for (core::LoadedModelSpec& spec : directory->models) {
    DirectModel model;
    auto it = tokenizer_by_path.find(spec.tokenizer_path);
    if (it == tokenizer_by_path.end()) {
      absl::StatusOr<std::unique_ptr<core::Tokenizer>> tokenizer =
          core::LoadTokenizer(spec.spec.tokenizer(), spec.tokenizer_path);
      if (!tokenizer.ok()) return tokenizer.status();
      setup->tokenizers.push_back(*std::move(tokenizer));
      it = tokenizer_by_path
               .emplace(spec.tokenizer_path,
                        static_cast<int>(setup->tokenizers.size()) - 1)
               .first;
    }
    model.tokenizer = it->second;
    model.buckets = core::LengthBuckets(spec.spec.max_tokens());
    model.spec = std::move(spec);
    setup->models.push_back(std::move(model));
  }
  return absl::OkStatus();
}

// Models, tokenizers and `threads` sets of warm handles, for batches of
// `batch`; notes how long the handles took.
absl::StatusOr<DirectSetup> SetUpDirect(const RawOptions& o, int threads,
                                        int batch, BenchResult* result) {
  DirectSetup setup;
  core::ConfigureTorch(o.torch_threads);
  if (absl::Status s = LoadModels(o.model_dir, &setup); !s.ok()) return s;
  setup.batch = batch;
  setup.batch_buckets = core::BatchBuckets(batch);
  const absl::Time load_start = absl::Now();
  for (int t = 0; t < threads; ++t) {
    absl::StatusOr<Handles> h = LoadHandles(setup.models, setup.batch_buckets);
    if (!h.ok()) return h.status();
    setup.handles.push_back(*std::move(h));
  }
  result->notes.push_back(
      absl::StrCat(threads, " thread(s) running batches of ", batch,
                   ", each thread with its own handles, loaded and warmed in ",
                   absl::ToInt64Milliseconds(absl::Now() - load_start), " ms"));
  return setup;
}

// Text is normalised before the clock starts for a message.
std::string Normalized(const BenchSequence& sequence, int64_t index) {
  const std::string text = sequence.At(index);
  absl::StatusOr<std::string> n = core::NormalizeText(text);
  return n.ok() ? *std::move(n) : text;
}

// One thread of the closed loop: claims up to setup.batch messages, runs
// them together on its own handles, records each with the batch's latency;
// until the plan is over. Stage times of batches with a measured message
// add up in `stage_times`.
void DirectWorker(const DirectSetup& setup, const Handles& handles,
                  const BenchSequence& sequence, BenchPlan& plan,
                  BenchRecorder& recorder, StageTimes* stage_times) {
  std::vector<BenchPlan::Ticket> tickets;
  std::vector<std::string> texts;
  while (true) {
    tickets.clear();
    texts.clear();
    BenchPlan::Ticket ticket;
    while (static_cast<int>(tickets.size()) < setup.batch &&
           plan.Claim(absl::Now(), &ticket)) {
      tickets.push_back(ticket);
      texts.push_back(Normalized(sequence, ticket.index));
    }
    if (tickets.empty()) return;
    const absl::Time start = absl::Now();
    bool measured = false;
    for (const BenchPlan::Ticket& k : tickets) {
      if (k.measured) recorder.Sent();
      measured = measured || k.measured;
    }
    StageTimes times;
    const int code = RunDirect(setup, handles, texts, &times);
    const absl::Time done = absl::Now();
    for (const BenchPlan::Ticket& k : tickets) {
      recorder.Record(k.measured, start, done, code);
    }
    if (measured) stage_times->Add(times);
  }
}

std::string StageNote(const StageTimes& total) {
  const double n = static_cast<double>(total.messages);
  return absl::StrFormat(
      "per message: tokenize+pad %.1f µs, forward (all models) %.1f µs, "
      "softmax+risk %.1f µs",
      absl::ToDoubleMicroseconds(total.tokenize) / n,
      absl::ToDoubleMicroseconds(total.forward) / n,
      absl::ToDoubleMicroseconds(total.score) / n);
}

}  // namespace

int RunDirectDriver(const RawOptions& o, const BenchSequence& sequence,
                    BenchResult* result) {
  const int concurrency = o.load.concurrency;
  const int threads = std::min(concurrency, o.threads);
  // The closed loop's messages in flight are split over the threads; each
  // runs them in batches of up to --max-batch, as the engine's batcher would.
  const int batch = std::max(1, std::min(o.max_batch, concurrency / threads));
  absl::StatusOr<DirectSetup> setup = SetUpDirect(o, threads, batch, result);
  if (!setup.ok()) {
    std::cerr << "raw_baseline: " << setup.status() << "\n";
    return 1;
  }
  {
    StageTimes ignored;
    const std::vector<std::string> first = {Normalized(sequence, 0)};
    const absl::Time start = absl::Now();
    RunDirect(*setup, setup->handles[0], first, &ignored);
    result->first_us = absl::ToInt64Microseconds(absl::Now() - start);
  }
  std::vector<StageTimes> stage_times(static_cast<size_t>(threads));
  Measure(
      o.load,
      [&](BenchPlan& plan, BenchRecorder& recorder) {
        std::vector<std::thread> workers;
        for (size_t t = 0; t < stage_times.size(); ++t) {
          workers.emplace_back(DirectWorker, std::cref(*setup),
                               std::cref(setup->handles[t]),
                               std::cref(sequence), std::ref(plan),
                               std::ref(recorder), &stage_times[t]);
        }
        for (auto& worker : workers) worker.join();
      },
      result);
  StageTimes total;
  for (const StageTimes& s : stage_times) total.Add(s);
  if (total.messages > 0) result->notes.push_back(StageNote(total));
  return 0;
}

}  // namespace lantern::bench
