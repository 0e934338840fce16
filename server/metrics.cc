#include "server/metrics.h"

#include <map>
#include <mutex>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/logging.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "server/serving_state.h"

namespace lantern::server {
namespace {

// Buckets are chosen from docs/benchmarks.md (2 vCPUs, 2026-12-02) so that
// the median and the 99th percentile of each configuration measured there
// fall in different buckets, with the upper bounds close enough around them
// (about 25-35% apart) that histogram_quantile() interpolates within a
// bucket of that size.

// End to end (client side in the benchmark; the server's own view is a
// little shorter). Concurrency 1: p50 3,968 us, p99 7,759 us (buckets 3-4 ms
// and 6.5-8 ms). Concurrency 32: p50 38.2 ms, p99 66.1 ms (30-40 ms,
// 65-80 ms). BERT-shaped model, concurrency 1: p50 12.7 ms, p99 22.8 ms
// (12-15, 20-25 ms); concurrency 32: p50 148 ms, p99 226 ms (120-150 ms,
// 200-250 ms). Result-cache hits and refusals answer in well under 1 ms
// (Health/Check round trip: 67 us at p50), hence the small buckets.
constexpr double kRequestDuration[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005,
    0.0065, 0.008,   0.01,   0.012, 0.015, 0.02,  0.025, 0.03,
    0.04,   0.05,    0.065,  0.08,  0.1,   0.12,  0.15,  0.2,
    0.25,   0.3,     0.4,    0.5,   1,     2.5,   5,     10};

// Per message, in one model's queue (means from GetStatus's counters):
// concurrency 1, 0 for a message run on the caller's thread (the encoder)
// and 500-650 us for the others; concurrency 32, 1.3-1.6 ms for the small
// models and 19-21 ms for the encoder; BERT-shaped, 81 ms.
constexpr double kQueueWait[] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002,
    0.003,   0.005,  0.0075,  0.01,   0.015,   0.02,  0.03,   0.05,
    0.075,   0.1,    0.15,    0.25,   0.5,     1};

// One forward pass (means per pass from GetStatus): language 143-203 us,
// distress 274-286 us, severity 546 us (1 row) to 1,182 us (2 rows),
// context 632-997 us, encoder 2.7 ms (1 row) to 11.6 ms (5.9 rows),
// BERT-shaped 11.2 ms (1 row) to 50 ms (5.8 rows). The micro-benchmarks
// put the extremes at 32 us (language, 8 tokens) and 32 ms (encoder,
// 8 x 128 tokens).
constexpr double kForward[] = {
    0.000025, 0.00005, 0.0001, 0.00015, 0.0002, 0.0003, 0.0004, 0.0005,
    0.00075,  0.001,   0.0015, 0.002,   0.003,  0.004,  0.006,  0.008,
    0.012,    0.016,   0.025,  0.04,    0.06,   0.1,    0.25,   1};

// Messages per pass: every size up to the default --max-batch 8 (means
// measured 1.0 at concurrency 1, 1.8-2.0 for the small models and 5.9 for
// the encoder at 32), then powers of two for larger --max-batch.
constexpr double kBatchSize[] = {1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128};

template <size_t N>
std::vector<double> Vec(const double (&a)[N]) {
  return std::vector<double>(a, a + N);
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

}  // namespace

std::vector<double> RequestDurationBuckets() { return Vec(kRequestDuration); }
std::vector<double> QueueWaitBuckets() { return Vec(kQueueWait); }
std::vector<double> ForwardBuckets() { return Vec(kForward); }
std::vector<double> BatchSizeBuckets() { return Vec(kBatchSize); }

const char* RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kAnalyze:
      return "Analyze";
    case Rpc::kStreamAnalyze:
      return "StreamAnalyze";
    case Rpc::kGetStatus:
      return "GetStatus";
  }
  return "unknown";
}

absl::Status MetricsOptions::Validate() const {
  if (listen.empty()) return absl::OkStatus();
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics-listen must be host:port with a port in 0..65535, got '",
        listen, "'"));
  }
  return absl::OkStatus();
}

// Per-model histograms and the result cache counters. Holds the registry,
// so engines that still hold it after the server is gone stay safe.
class Metrics::Observer final : public core::EngineObserver {
 public:
  explicit Observer(std::shared_ptr<prometheus::Registry> registry)
      : registry_(std::move(registry)),
        queue_wait_(prometheus::BuildHistogram()
                        .Name("lantern_model_queue_wait_seconds")
                        .Help("Time a message waited in a model's queue "
                              "before its forward pass, per model")
                        .Register(*registry_)),
        forward_(prometheus::BuildHistogram()
                     .Name("lantern_model_forward_seconds")
                     .Help("Duration of one forward pass (a batch), per "
                           "model")
                     .Register(*registry_)),
        batch_size_(prometheus::BuildHistogram()
                        .Name("lantern_model_batch_size")
                        .Help("Messages per forward pass (before padding), "
                              "per model")
                        .Register(*registry_)),
        cache_(prometheus::BuildCounter()
                   .Name("lantern_result_cache_lookups_total")
                   .Help("Result cache lookups by served messages, by "
                         "result (hit, miss)")
                   .Register(*registry_)),
        hits_(cache_.Add({{"result", "hit"}})),
        misses_(cache_.Add({{"result", "miss"}})),
        evictions_(prometheus::BuildCounter()
                       .Name("lantern_result_cache_evictions_total")
                       .Help("Result cache entries dropped to make room")
                       .Register(*registry_)
                       .Add({})) {}

  std::shared_ptr<core::ModelObserver> ForModel(
      const std::string& name) override {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<Model>& model = models_[name];
    if (model == nullptr) {
      const prometheus::Labels labels{{"model", name}};
      model = std::make_shared<Model>(
          registry_, queue_wait_.Add(labels, QueueWaitBuckets()),
          forward_.Add(labels, ForwardBuckets()),
          batch_size_.Add(labels, BatchSizeBuckets()));
    }
    return model;
  }
  void OnCacheLookup(bool hit) override { (hit ? hits_ : misses_).Increment(); }
  void OnCacheEviction() override { evictions_.Increment(); }

 private:
  class Model final : public core::ModelObserver {
   public:
    Model(std::shared_ptr<prometheus::Registry> registry,
          prometheus::Histogram& queue_wait, prometheus::Histogram& forward,
          prometheus::Histogram& batch_size)
        : registry_(std::move(registry)),
          queue_wait_(queue_wait),
          forward_(forward),
          batch_size_(batch_size) {}
    void OnBatch(absl::Span<const absl::Duration> queue_waits,
                 absl::Duration forward_time) override {
      for (absl::Duration wait : queue_waits)
        queue_wait_.Observe(Seconds(wait));
      forward_.Observe(Seconds(forward_time));
      batch_size_.Observe(static_cast<double>(queue_waits.size()));
    }

   private:
    const std::shared_ptr<prometheus::Registry> registry_;  // keeps these
    prometheus::Histogram& queue_wait_;
    prometheus::Histogram& forward_;
    prometheus::Histogram& batch_size_;
  };

  const std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>& queue_wait_;
  prometheus::Family<prometheus::Histogram>& forward_;
  prometheus::Family<prometheus::Histogram>& batch_size_;
  prometheus::Family<prometheus::Counter>& cache_;
  prometheus::Counter& hits_;
  prometheus::Counter& misses_;
  prometheus::Counter& evictions_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Model>> models_ ABSL_GUARDED_BY(mu_);
};

// Gauges read from the ServingState at scrape time, built afresh each time
// so that a model that went away with a reload leaves no stale series.
class Metrics::StateCollector final : public prometheus::Collectable {
 public:
  void set_state(const ServingState* state) {
    absl::MutexLock lock(&mu_);
    state_ = state;
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    absl::MutexLock lock(&mu_);
    if (state_ == nullptr) return {};
    const ServingState& state = *state_;
    std::vector<prometheus::MetricFamily> out;
    auto gauge = [&out](const char* name,
                        const char* help) -> prometheus::MetricFamily& {
      out.push_back({name, help, prometheus::MetricType::Gauge, {}});
      return out.back();
    };
    auto add = [](prometheus::MetricFamily& family,
                  std::vector<prometheus::ClientMetric::Label> labels,
                  double value) {
      prometheus::ClientMetric metric;
      metric.label = std::move(labels);
      metric.gauge.value = value;
      family.metric.push_back(std::move(metric));
    };
    const std::shared_ptr<core::Engine> engine = state.engine();
    const core::EngineStats stats =
        engine != nullptr ? engine->Stats() : core::EngineStats();
    add(gauge("lantern_serving",
              "1 while the server takes new work (models warm, not draining)"),
        {}, stats.ready && !state.draining() ? 1 : 0);
    add(gauge("process_start_time_seconds",
              "Start time of the process since the Unix epoch, in seconds"),
        {}, absl::ToDoubleSeconds(state.started_at() - absl::UnixEpoch()));
    add(gauge("lantern_open_streams", "StreamAnalyze calls open now"), {},
        state.active_streams());
    add(gauge("lantern_messages_in_flight",
              "Messages queued for or running in the models now"),
        {}, stats.queue_depth);
    auto& warm = gauge("lantern_model_warm",
                       "1 once every handle of the model is loaded and warm, "
                       "per model and version");
    auto& warmup = gauge("lantern_model_warmup_seconds",
                         "Time the model took to load and warm, per model");
    auto& handles = gauge("lantern_model_handles_in_use",
                          "Handles of the model running a pass now");
    for (const core::ModelStats& m : stats.models) {
      add(warm, {{"model", m.name}, {"version", m.version}}, m.warmed ? 1 : 0);
      add(handles, {{"model", m.name}}, m.handles_in_use);
      if (m.warmed) add(warmup, {{"model", m.name}}, Seconds(m.warmup_time));
    }
    add(gauge("lantern_result_cache_entries", "Verdicts held in the cache"), {},
        static_cast<double>(stats.cache.size));
    const core::ContextBudget::Stats context = state.context_stats();
    add(gauge("lantern_context_people",
              "People whose recent scores are held for conversation context"),
        {}, static_cast<double>(context.people));
    add(gauge("lantern_context_people_limit",
              "Most people held (--context-total-people)"),
        {}, static_cast<double>(context.capacity));
    add(gauge("lantern_context_records",
              "Score records held for conversation context"),
        {}, static_cast<double>(context.records));
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  const ServingState* state_ ABSL_GUARDED_BY(mu_) = nullptr;
};

Metrics::Metrics(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()),
      collector_(std::make_shared<StateCollector>()),
      observer_(std::make_shared<Observer>(registry_)) {
  prometheus::BuildGauge()
      .Name("lantern_build_info")
      .Help("Always 1; the label carries the server's version")
      .Register(*registry_)
      .Add({{"version", version}})
      .Set(1);
  requests_family_ = &prometheus::BuildCounter()
                          .Name("lantern_requests_total")
                          .Help(
                              "Requests answered, by RPC and status code (for "
                              "StreamAnalyze, each message of a stream)")
                          .Register(*registry_);
  auto& durations = prometheus::BuildHistogram()
                        .Name("lantern_request_duration_seconds")
                        .Help(
                            "Time from a request's arrival to its answer, "
                            "per RPC (for StreamAnalyze, per message)")
                        .Register(*registry_);
  for (int r = 0; r < kNumRpcs; ++r) {
    durations_[r] = &durations.Add({{"rpc", RpcName(static_cast<Rpc>(r))}},
                                   RequestDurationBuckets());
    // OK exists from the start, so rates over it never lack a series.
    RequestCounter(static_cast<Rpc>(r), absl::StatusCode::kOk);
  }
  auto& levels = prometheus::BuildCounter()
                     .Name("lantern_analyses_total")
                     .Help(
                         "Analyses returned, by crisis level (after "
                         "conversation context)")
                     .Register(*registry_);
  for (core::Level level :
       {core::Level::kNone, core::Level::kLow, core::Level::kMedium,
        core::Level::kHigh, core::Level::kCritical}) {
    levels_[static_cast<size_t>(level)] =
        &levels.Add({{"level", std::string(core::LevelName(level))}});
  }
}

Metrics::~Metrics() { Stop(); }

prometheus::Counter& Metrics::RequestCounter(Rpc rpc, absl::StatusCode code) {
  int c = static_cast<int>(code);
  if (c < 0 || c >= kNumCodes) c = static_cast<int>(absl::StatusCode::kUnknown);
  std::atomic<prometheus::Counter*>& slot =
      requests_[static_cast<size_t>(rpc)][static_cast<size_t>(c)];
  if (prometheus::Counter* counter = slot.load(std::memory_order_acquire)) {
    return *counter;
  }
  // First use of this code: Family::Add returns the same child to racing
  // callers.
  prometheus::Counter& counter = requests_family_->Add(
      {{"rpc", RpcName(rpc)},
       {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(c))}});
  slot.store(&counter, std::memory_order_release);
  return counter;
}

void Metrics::RecordRequest(Rpc rpc, absl::StatusCode code,
                            absl::Duration latency,
                            std::optional<core::Level> level) {
  RequestCounter(rpc, code).Increment();
  durations_[static_cast<size_t>(rpc)]->Observe(Seconds(latency));
  if (level.has_value()) {
    const size_t l = static_cast<size_t>(*level);
    if (l < levels_.size() && levels_[l] != nullptr) levels_[l]->Increment();
  }
}

absl::Status Metrics::Start(const std::string& listen,
                            const ServingState* state) {
  collector_->set_state(state);
  absl::StatusOr<std::unique_ptr<HttpEndpoint>> endpoint = HttpEndpoint::Start(
      listen, "/metrics", "text/plain; version=0.0.4; charset=utf-8",
      [this] { return Render(); });
  if (!endpoint.ok()) {
    collector_->set_state(nullptr);
    return absl::Status(
        endpoint.status().code(),
        absl::StrCat("--metrics-listen: ", endpoint.status().message()));
  }
  endpoint_ = *std::move(endpoint);
  port_ = endpoint_->port();
  core::LogInfo(absl::StrCat("metrics on http://",
                             listen.substr(0, listen.rfind(':')), ":", port_,
                             "/metrics"));
  return absl::OkStatus();
}

void Metrics::Stop() {
  endpoint_.reset();  // Waits for a scrape under way.
  collector_->set_state(nullptr);
}

std::string Metrics::Render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& family : collector_->Collect()) families.push_back(family);
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace lantern::server
