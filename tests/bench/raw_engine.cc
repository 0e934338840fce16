// raw_baseline --driver engine: core::Engine in-process, as the server
// configures it; see raw_baseline.cc.
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/engine.h"
#include "tests/bench/raw_baseline.h"

namespace lantern::bench {
namespace {

using client::BenchPlan;
using client::BenchRecorder;
using client::BenchResult;
using client::BenchSequence;

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

// The engine as the server configures it, loaded and warmed; notes how long
// that took.
absl::StatusOr<std::unique_ptr<core::Engine>> StartEngine(const RawOptions& o,
                                                          BenchResult* result) {
  core::EngineOptions options;
  options.model_dir = o.model_dir;
  options.worker_threads = o.threads;
  options.torch_threads = o.torch_threads;
  options.batching.max_batch = o.max_batch;
  options.batching.max_delay = o.batch_delay;
  absl::StatusOr<std::unique_ptr<core::Engine>> engine =
      core::Engine::Create(options);
  if (!engine.ok()) return engine.status();
  const absl::Time load_start = absl::Now();
  if (absl::Status s = (*engine)->LoadAndWarm(); !s.ok()) return s;
  result->notes.push_back(
      absl::StrCat("engine loaded and warmed in ",
                   absl::ToInt64Milliseconds(absl::Now() - load_start), " ms"));
  return engine;
}

// Closed loop: `concurrency` threads, each submitting one message and
// waiting for its answer before claiming the next.
void EngineClosedLoop(core::Engine& engine, const BenchSequence& sequence,
                      int concurrency, BenchPlan& plan,
                      BenchRecorder& recorder) {
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      BenchPlan::Ticket ticket;
      while (true) {
        const absl::Time start = absl::Now();
        if (!plan.Claim(start, &ticket)) return;
        if (ticket.measured) recorder.Sent();
        const int code =
            SubmitAndWait(engine, MakeRequest(sequence, ticket.index));
        recorder.Record(ticket.measured, start, absl::Now(), code);
      }
    });
  }
  for (auto& thread : threads) thread.join();
}

// Open loop: one dispatcher submits on schedule; answers are recorded in
// the callbacks, latency from the intended send time. Returns once every
// answer is in.
void EngineOpenLoop(core::Engine& engine, const BenchSequence& sequence,
                    const client::BenchOptions& load, BenchPlan& plan,
                    BenchRecorder& recorder) {
  std::mutex mu;
  std::condition_variable cv;
  int outstanding = 0;  // Guarded by mu.
  client::ArrivalGaps gaps(*load.rate, load.arrivals, load.seed);
  absl::Time next = plan.start();
  BenchPlan::Ticket ticket;
  while (plan.Claim(next, &ticket)) {
    client::SleepUntil(next);
    if (ticket.measured) recorder.Sent();
    {
      std::lock_guard<std::mutex> lock(mu);
      ++outstanding;
    }
    const absl::Time intended = next;
    const bool measured = ticket.measured;
    const absl::Status submitted = engine.Submit(
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
    next += gaps.Next();
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return outstanding == 0; });
}

std::string RowsPerPassNote(const core::Engine& engine) {
  std::vector<std::string> rows_per_batch;
  for (const core::ModelStats& m : engine.Stats().models) {
    rows_per_batch.push_back(absl::StrFormat(
        "%s %.2f", m.name,
        m.batches == 0 ? 0.0 : static_cast<double>(m.inferences) / m.batches));
  }
  return absl::StrCat("rows per forward pass, bench warm-up included: ",
                      absl::StrJoin(rows_per_batch, ", "));
}

}  // namespace

int RunEngine(const RawOptions& o, const BenchSequence& sequence,
              BenchResult* result) {
  absl::StatusOr<std::unique_ptr<core::Engine>> started =
      StartEngine(o, result);
  if (!started.ok()) {
    std::cerr << "raw_baseline: " << started.status() << "\n";
    return 1;
  }
  core::Engine& engine = **started;
  const absl::Time start = absl::Now();
  const int code = SubmitAndWait(engine, MakeRequest(sequence, 0));
  result->first_us = absl::ToInt64Microseconds(absl::Now() - start);
  if (code != 0) {
    std::cerr << "raw_baseline: first request failed with code " << code
              << "\n";
    return 1;
  }
  Measure(
      o.load,
      [&](BenchPlan& plan, BenchRecorder& recorder) {
        if (o.load.rate.has_value()) {
          EngineOpenLoop(engine, sequence, o.load, plan, recorder);
        } else {
          EngineClosedLoop(engine, sequence, o.load.concurrency, plan,
                           recorder);
        }
      },
      result);
  result->notes.push_back(RowsPerPassNote(engine));
  engine.Shutdown();
  return 0;
}

}  // namespace lantern::bench
