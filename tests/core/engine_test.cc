#include "core/engine.h"

#include <atomic>
#include <map>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fakes.h"

namespace lantern::core {
namespace {

using ::lantern::testing::FakeDeps;
using ::lantern::testing::FakeModelState;
using ::lantern::testing::WriteModelDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Waits for one Submit's callback.
struct Result {
  absl::Notification done;
  absl::StatusOr<Analysis> value = absl::UnknownError("not called");
  AnalysisCallback Callback() {
    return [this](absl::StatusOr<Analysis> r) {
      value = std::move(r);
      done.Notify();
    };
  }
  const absl::StatusOr<Analysis>& Wait() {
    done.WaitForNotification();
    return value;
  }
};

AnalysisRequest Request(const std::string& text, const std::string& id = "m1") {
  AnalysisRequest request;
  request.message.id = id;
  request.message.text = text;
  return request;
}

// Two models: "sev" (5 labels, weight 3) and "dis" (2 labels, weight 1).
class EngineTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    sev_ = std::make_shared<FakeModelState>();
    dis_ = std::make_shared<FakeModelState>();
    // sev is sure of "high" (risk 0.75); dis is sure of "danger" (risk 1).
    sev_->logits = {0, 0, 0, 20, 0};
    dis_->logits = {0, 20};
    dir_ = WriteModelDir({{"sev",
                           {{"none", 0},
                            {"low", 0.25f},
                            {"medium", 0.5f},
                            {"high", 0.75f},
                            {"critical", 1}},
                           3.0f,
                           32},
                          {"dis", {{"calm", 0}, {"danger", 1}}, 1.0f, 8, 1}});
  }

  std::unique_ptr<Engine> MakeEngine(EngineOptions options = {}) {
    options.model_dir = dir_;
    options.worker_threads = GetParam();
    auto engine =
        Engine::Create(options, FakeDeps(dir_, {{"sev", sev_}, {"dis", dis_}}));
    EXPECT_TRUE(engine.ok()) << engine.status();
    return *std::move(engine);
  }

  std::unique_ptr<Engine> MakeWarmEngine(EngineOptions options = {}) {
    auto engine = MakeEngine(options);
    EXPECT_TRUE(engine->LoadAndWarm().ok());
    return engine;
  }

  std::shared_ptr<FakeModelState> sev_, dis_;
  std::string dir_;
};

TEST_P(EngineTest, SubmitBeforeWarmUpIsUnavailable) {
  auto engine = MakeEngine();
  Result result;
  const absl::Status status =
      engine->Submit(Request("hello"), result.Callback());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("warming up"));
  EXPECT_FALSE(engine->ready());
}

TEST_P(EngineTest, WarmUpRunsEveryHandleAtEveryBucket) {
  auto engine = MakeWarmEngine();
  EXPECT_TRUE(engine->ready());
  // sev: one handle per worker thread; lengths 8/16/32 x batches 1/2/4/8,
  // 3 runs each; then one warm-up message through the whole path.
  EXPECT_EQ(sev_->instances.load(), GetParam());
  EXPECT_EQ(sev_->forward_calls.load(), GetParam() * 3 * 4 * 3 + 1);
  // dis: spec asks for 1 handle; max_tokens 8 gives one length bucket.
  EXPECT_EQ(dis_->instances.load(), 1);
  EXPECT_EQ(dis_->forward_calls.load(), 4 * 3 + 1);
  EXPECT_THAT(dis_->batch_sizes,
              ElementsAre(1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8, 1));
  const EngineStats stats = engine->Stats();
  ASSERT_EQ(stats.models.size(), 2u);
  EXPECT_EQ(stats.models[0].name, "sev");
  EXPECT_TRUE(stats.models[0].loaded);
  EXPECT_TRUE(stats.models[0].warmed);
  EXPECT_EQ(stats.models[0].handles, GetParam());
  EXPECT_EQ(stats.models[0].inferences, 0u);  // Warm-up is not counted.
  EXPECT_EQ(stats.models[1].handles, 1);
}

TEST_P(EngineTest, HandlesOptionOverridesSpecs) {
  EngineOptions options;
  options.handles = 3;
  auto engine = MakeWarmEngine(options);
  EXPECT_EQ(sev_->instances.load(), 3);
  EXPECT_EQ(dis_->instances.load(), 3);
}

TEST_P(EngineTest, AnalysesWithEveryModelAndCombinesScores) {
  auto engine = MakeWarmEngine();
  sev_->forward_delay_ms = 2;  // after warm-up: every pass now takes 2 ms
  Result result;
  ASSERT_TRUE(
      engine
          ->Submit(Request("i can't do this anymore", "abc"), result.Callback())
          .ok());
  const auto& analysis = result.Wait();
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  EXPECT_EQ(analysis->message_id, "abc");
  EXPECT_EQ(analysis->ensemble_version, "test-1");
  const Verdict& v = analysis->verdict;
  // (3 * 0.75 + 1 * 1.0) / 4 = 0.8125 -> critical (>= 0.8).
  EXPECT_NEAR(v.score, 0.8125f, 1e-3);
  EXPECT_EQ(v.level, Level::kCritical);
  ASSERT_EQ(v.signals.size(), 2u);
  EXPECT_EQ(v.signals[0].label, "high");
  EXPECT_EQ(v.signals[1].label, "danger");
  EXPECT_FALSE(v.degraded);
  EXPECT_GE(analysis->processing_time_us, 2000);
  for (const Factor& factor : v.factors) {
    EXPECT_THAT(factor.description, Not(HasSubstr("anymore")));
  }
  EXPECT_EQ(engine->Stats().models[0].inferences, 1u);
}

TEST_P(EngineTest, InputsArePaddedToTheSmallestFittingBucket) {
  auto engine = MakeWarmEngine();
  const int warm_calls = sev_->forward_calls.load();
  Result short_text, long_text;
  ASSERT_TRUE(
      engine->Submit(Request("one two three"), short_text.Callback()).ok());
  short_text.Wait();
  std::string many;
  for (int i = 0; i < 12; ++i) many += "word ";
  ASSERT_TRUE(engine->Submit(Request(many), long_text.Callback()).ok());
  long_text.Wait();
  std::vector<int64_t> served(sev_->lengths.begin() + warm_calls,
                              sev_->lengths.end());
  EXPECT_THAT(served, ElementsAre(8, 16));
}

TEST_P(EngineTest, LongInputsAreTruncatedToMaxTokens) {
  auto engine = MakeWarmEngine();
  std::string many;
  for (int i = 0; i < 100; ++i) many += "w ";
  Result result;
  ASSERT_TRUE(engine->Submit(Request(many), result.Callback()).ok());
  const auto& analysis = result.Wait();
  ASSERT_TRUE(analysis.ok());
  // FakeBackend fails when given more ids than the length, which would
  // skip the model and degrade the verdict.
  EXPECT_FALSE(analysis->verdict.degraded);
  EXPECT_EQ(sev_->lengths.back(), 32);
  EXPECT_EQ(dis_->lengths.back(), 8);
}

TEST_P(EngineTest, TokenizersSeeAtMostEightCodePointsPerKeptToken) {
  // U+FDFA: one code point that NFKC expands to 18 (four Arabic words of 3,
  // 4, 4 and 4 two-byte letters). 200 of them normalise to 3,600 code
  // points; FakeTokenizer's id for a word is 10 + its bytes.
  std::string expanding;
  for (int i = 0; i < 200; ++i) expanding += "\uFDFA";
  auto engine = MakeWarmEngine();
  Result result;
  ASSERT_TRUE(engine->Submit(Request(expanding), result.Callback()).ok());
  ASSERT_TRUE(result.Wait().ok());
  // "sev" keeps 32 tokens; its tokenizer got only the first 256 code
  // points. Without a space between two U+FDFA, a last and a first word join.
  const std::vector<int64_t>& sev_row = sev_->rows.back();
  EXPECT_THAT(std::vector<int64_t>(sev_row.begin(), sev_row.begin() + 4),
              ElementsAre(16, 18, 18, 24));
  int64_t bytes = 0;
  for (int64_t id : sev_row) bytes += id - 10;
  EXPECT_LE(bytes, 2 * 256);
  // "dis" keeps 8: 64 code points.
  bytes = 0;
  for (int64_t id : dis_->rows.back()) bytes += id - 10;
  EXPECT_LE(bytes, 2 * 64);
}

TEST_P(EngineTest, BadMessagesAreInvalidArgumentWithoutEchoingText) {
  EngineOptions options;
  options.max_message_chars = 10;
  auto engine = MakeWarmEngine(options);
  struct Case {
    std::string text;
    std::string id;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"", "m", "message.text is empty"},
      {" \t\n ", "m", "no visible characters"},
      {"\xE2\x80\x8B", "m", "no visible characters"},
      {"secretsecret!", "m", "13 characters long; the limit is 10"},
      {"secret\xFF", "m", "message.text is not valid UTF-8"},
      {"hi", "id\xC3", "message.id is not valid UTF-8"},
      {"hi", std::string(300, 'x'), "message.id is 300 bytes"},
  };
  for (const Case& c : cases) {
    Result result;
    const absl::Status status =
        engine->Submit(Request(c.text, c.id), result.Callback());
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.expected;
    EXPECT_THAT(status.message(), HasSubstr(c.expected));
    EXPECT_THAT(status.message(), Not(HasSubstr("secret")));
  }
}

TEST_P(EngineTest, ExpiredDeadlineIsDroppedNotComputed) {
  auto engine = MakeWarmEngine();
  const int warm_calls = sev_->forward_calls.load();
  AnalysisRequest request = Request("hello there");
  request.deadline = absl::Now() - absl::Milliseconds(1);
  Result result;
  ASSERT_TRUE(engine->Submit(std::move(request), result.Callback()).ok());
  EXPECT_EQ(result.Wait().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(sev_->forward_calls.load(), warm_calls);
}

TEST_P(EngineTest, CancelledWorkIsDropped) {
  auto engine = MakeWarmEngine();
  AnalysisRequest request = Request("hello there");
  request.is_cancelled = [] { return true; };
  Result result;
  ASSERT_TRUE(engine->Submit(std::move(request), result.Callback()).ok());
  EXPECT_EQ(result.Wait().status().code(), absl::StatusCode::kCancelled);
}

TEST_P(EngineTest, FailingModelIsSkippedAndVerdictIsDegraded) {
  auto engine = MakeWarmEngine();
  dis_->fail = true;
  Result result;
  ASSERT_TRUE(engine->Submit(Request("hello"), result.Callback()).ok());
  const auto& analysis = result.Wait();
  ASSERT_TRUE(analysis.ok());
  EXPECT_TRUE(analysis->verdict.degraded);
  EXPECT_EQ(analysis->verdict.signals.size(), 1u);
  EXPECT_NEAR(analysis->verdict.score, 0.75f, 1e-3);
  EXPECT_EQ(analysis->verdict.factors.back().description,
            "dis model skipped (INTERNAL)");
  EXPECT_EQ(engine->Stats().models[1].failures, 1u);
}

TEST_P(EngineTest, EveryModelFailingIsInternal) {
  auto engine = MakeWarmEngine();
  sev_->fail = true;
  dis_->fail = true;
  Result result;
  ASSERT_TRUE(engine->Submit(Request("hello"), result.Callback()).ok());
  EXPECT_EQ(result.Wait().status().code(), absl::StatusCode::kInternal);
}

TEST_P(EngineTest, LoadFailureIsReportedAndEngineStaysUnready) {
  dis_->load_error = absl::InvalidArgumentError("corrupt file");
  auto engine = MakeEngine();
  const absl::Status status = engine->LoadAndWarm();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(engine->ready());
  EXPECT_EQ(engine->Stats().models[1].error, "corrupt file");
  EXPECT_TRUE(engine->Stats().models[0].warmed);
}

TEST_P(EngineTest, ManyConcurrentSubmissionsAreAllAnswered) {
  auto engine = MakeWarmEngine();
  constexpr int kMessages = 200;
  std::vector<Result> results(kMessages);
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(engine
                    ->Submit(Request("message number " + std::to_string(i),
                                     std::to_string(i)),
                             results[i].Callback())
                    .ok());
  }
  for (int i = 0; i < kMessages; ++i) {
    const auto& r = results[i].Wait();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->message_id, std::to_string(i));
  }
  EXPECT_EQ(engine->Stats().models[0].inferences,
            static_cast<uint64_t>(kMessages));
  EXPECT_LE(sev_->max_concurrent.load(), GetParam());
  // Rows are counted per message, forward passes per batch.
  EXPECT_LE(engine->Stats().models[0].batches,
            static_cast<uint64_t>(kMessages));
}

TEST_P(EngineTest, QueuedMessagesAreBatchedAndAnsweredOneEach) {
  EngineOptions options;
  options.handles = 1;
  auto engine = MakeWarmEngine(options);
  absl::Notification gate;
  sev_->gate = &gate;
  sev_->logits_follow_length = true;
  const int warm_calls = sev_->forward_calls.load();
  constexpr int kMessages = 5;
  std::vector<Result> results(kMessages);
  auto submit = [&](int i) {
    std::string text;  // i + 1 words, so each message has its own length.
    for (int w = 0; w <= i; ++w) text += "w ";
    ASSERT_TRUE(
        engine->Submit(Request(text, std::to_string(i)), results[i].Callback())
            .ok());
  };
  // Message 0 takes the only handle and waits at the gate (on this other
  // thread when the model runs inline); the other four queue up behind it.
  std::thread first([&] { submit(0); });
  while (sev_->at_gate.load() < 1) absl::SleepFor(absl::Milliseconds(1));
  for (int i = 1; i < kMessages; ++i) submit(i);
  gate.Notify();
  first.join();
  for (int i = 0; i < kMessages; ++i) {
    const auto& r = results[i].Wait();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->message_id, std::to_string(i));
  }
  sev_->gate = nullptr;
  // [message 0] alone, then the four queued ones as one batch.
  const std::vector<int> served(sev_->batch_sizes.begin() + warm_calls,
                                sev_->batch_sizes.end());
  EXPECT_THAT(served, ElementsAre(1, 4));
  EXPECT_EQ(engine->Stats().models[0].inferences,
            static_cast<uint64_t>(kMessages));
}

TEST_P(EngineTest, RepeatedTextIsAnsweredFromTheCacheOnTheCallingThread) {
  auto engine = MakeWarmEngine();
  Result first;
  ASSERT_TRUE(
      engine->Submit(Request("good game everyone", "a"), first.Callback())
          .ok());
  ASSERT_TRUE(first.Wait().ok());
  const int calls = sev_->forward_calls.load();
  // Same text after normalisation (extra spaces): a hit, answered before
  // Submit returns, with this request's own id.
  Result second;
  ASSERT_TRUE(
      engine->Submit(Request("  good   game everyone ", "b"), second.Callback())
          .ok());
  ASSERT_TRUE(second.done.HasBeenNotified());
  ASSERT_TRUE(second.value.ok());
  EXPECT_EQ(second.value->message_id, "b");
  EXPECT_EQ(second.value->verdict.level, first.value->verdict.level);
  EXPECT_EQ(sev_->forward_calls.load(), calls);
  const ResultCacheStats stats = engine->Stats().cache;
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.size, 1u);
}

TEST_P(EngineTest, DegradedVerdictsAreNotCached) {
  auto engine = MakeWarmEngine();
  dis_->fail = true;
  Result first;
  ASSERT_TRUE(engine->Submit(Request("hello"), first.Callback()).ok());
  ASSERT_TRUE(first.Wait()->verdict.degraded);
  dis_->fail = false;
  Result second;
  ASSERT_TRUE(engine->Submit(Request("hello"), second.Callback()).ok());
  EXPECT_FALSE(second.Wait()->verdict.degraded);
  EXPECT_EQ(engine->Stats().cache.hits, 0u);
}

TEST_P(EngineTest, ZeroCacheEntriesComputesEveryTime) {
  EngineOptions options;
  options.cache_entries = 0;
  auto engine = MakeWarmEngine(options);
  for (int i = 0; i < 2; ++i) {
    Result result;
    ASSERT_TRUE(engine->Submit(Request("same text"), result.Callback()).ok());
    ASSERT_TRUE(result.Wait().ok());
  }
  EXPECT_EQ(engine->Stats().models[0].inferences, 2u);
  EXPECT_EQ(engine->Stats().cache.capacity, 0u);
}

TEST_P(EngineTest, SubmitAfterShutdownIsUnavailable) {
  auto engine = MakeWarmEngine();
  engine->Shutdown();
  Result result;
  EXPECT_EQ(engine->Submit(Request("hello"), result.Callback()).code(),
            absl::StatusCode::kUnavailable);
}

// Records what an engine reports through EngineDeps::observer.
class RecordingObserver : public EngineObserver {
 public:
  struct Model : ModelObserver {
    void OnBatch(absl::Span<const absl::Duration> queue_waits,
                 absl::Duration forward_time) override {
      for (absl::Duration wait : queue_waits)
        EXPECT_GE(wait, absl::ZeroDuration());
      EXPECT_GE(forward_time, absl::ZeroDuration());
      rows.fetch_add(static_cast<int>(queue_waits.size()));
    }
    std::atomic<int> rows{0};
  };
  std::shared_ptr<ModelObserver> ForModel(const std::string& name) override {
    absl::MutexLock lock(&mu);
    std::shared_ptr<Model>& model = models[name];
    if (model == nullptr) model = std::make_shared<Model>();
    return model;
  }
  void OnCacheLookup(bool hit) override { (hit ? hits : misses).fetch_add(1); }
  void OnCacheEviction() override { evictions.fetch_add(1); }
  int Rows(const std::string& name) {
    absl::MutexLock lock(&mu);
    return models.count(name) ? models[name]->rows.load() : -1;
  }

  absl::Mutex mu;
  std::map<std::string, std::shared_ptr<Model>> models ABSL_GUARDED_BY(mu);
  std::atomic<int> hits{0}, misses{0}, evictions{0};
};

TEST_P(EngineTest, ObserverSeesServedTrafficButNotWarmUp) {
  auto observer = std::make_shared<RecordingObserver>();
  EngineOptions options;
  options.model_dir = dir_;
  options.worker_threads = GetParam();
  options.cache_entries = 1;
  EngineDeps deps = FakeDeps(dir_, {{"sev", sev_}, {"dis", dis_}});
  deps.observer = observer;
  auto engine = Engine::Create(options, deps);
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_TRUE((*engine)->LoadAndWarm().ok());
  EXPECT_EQ(observer->Rows("sev"), 0);
  EXPECT_EQ(observer->Rows("dis"), 0);
  EXPECT_EQ(observer->misses.load(), 0);
  // Two texts through a one-entry cache (the second evicts the first), then
  // the second again: a hit that runs no model.
  for (const char* text : {"first text", "second text", "second text"}) {
    Result result;
    ASSERT_TRUE((*engine)->Submit(Request(text), result.Callback()).ok());
    ASSERT_TRUE(result.Wait().ok());
  }
  // Passes are reported just after their answers go out.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((observer->Rows("sev") < 2 || observer->Rows("dis") < 2) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(observer->Rows("sev"), 2);
  EXPECT_EQ(observer->Rows("dis"), 2);
  EXPECT_EQ(observer->misses.load(), 2);
  EXPECT_EQ(observer->hits.load(), 1);
  EXPECT_EQ(observer->evictions.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(Threads, EngineTest, ::testing::Values(1, 2, 4));

TEST(LengthBucketsTest, PowersOfTwoCappedAtMax) {
  EXPECT_THAT(LengthBuckets(64), ElementsAre(8, 16, 32, 64));
  EXPECT_THAT(LengthBuckets(50), ElementsAre(8, 16, 32, 50));
  EXPECT_THAT(LengthBuckets(8), ElementsAre(8));
  EXPECT_THAT(LengthBuckets(3), ElementsAre(3));
}

TEST(EngineCreateTest, BadOptionsAreInvalidArgument) {
  EngineOptions options;
  options.model_dir = "/tmp";
  options.worker_threads = 0;
  EXPECT_EQ(Engine::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lantern::core
