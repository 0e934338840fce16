// Prometheus metrics of one server: prometheus-cpp's registry and text
// exposition, the /metrics endpoint on a port of its own (--metrics-listen,
// server/http_endpoint.h), and the observers that fill them. Names, units and
// labels are listed in deploy/metrics.md. No label ever carries message text,
// message, user or channel ids, or caller names: labels are the RPC, the status
// code, the level and the model name, all bounded.
//
// Counters and histograms are updated as traffic happens: by ServingState
// (requests, levels) and through core::EngineObserver (per-model passes,
// result cache), which every engine gets through core::EngineDeps, so an
// engine swapped in by a model reload continues the same series. Gauges
// (streams, messages in flight, warm-up, conversation context) are read
// from the ServingState when Prometheus scrapes.
//
// Thread-safe. Without --metrics-listen no Metrics exists and nothing is
// recorded.
#ifndef LANTERN_SERVER_METRICS_H_
#define LANTERN_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/engine_observer.h"
#include "core/ensemble.h"
#include "server/http_endpoint.h"

namespace prometheus {
class Counter;
template <typename T>
class Family;
class Histogram;
class Registry;
}  // namespace prometheus

namespace lantern::server {

class ServingState;

struct MetricsOptions {
  // host:port for the /metrics endpoint; empty = no metrics at all (the
  // default). Plain HTTP without authentication: use loopback or a private
  // interface. Port 0 picks a free port (logged).
  std::string listen;

  // InvalidArgument when `listen` is set but not host:port with a port in
  // 0..65535.
  absl::Status Validate() const;
};

// The RPCs counted apart.
enum class Rpc { kAnalyze = 0, kStreamAnalyze, kGetStatus };
inline constexpr int kNumRpcs = 3;
// "Analyze", "StreamAnalyze", "GetStatus".
const char* RpcName(Rpc rpc);

// Histogram bucket upper bounds, in seconds (see metrics.cc for the
// measurements behind them), and for the messages per forward pass.
std::vector<double> RequestDurationBuckets();
std::vector<double> QueueWaitBuckets();
std::vector<double> ForwardBuckets();
std::vector<double> BatchSizeBuckets();

class Metrics {
 public:
  // Registers every metric; lantern_build_info carries `version`. Nothing
  // listens until Start().
  explicit Metrics(const std::string& version);
  ~Metrics();  // Stop().
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves /metrics on `listen` (host:port), with gauges read from `state`,
  // which must stay alive until Stop(). Unavailable when the address cannot
  // be bound.
  absl::Status Start(const std::string& listen, const ServingState* state);
  // The bound port after Start(); 0 before.
  int port() const { return port_; }
  // Closes the endpoint; then `state` is no longer read. Idempotent.
  void Stop();

  // For core::EngineDeps::observer. Holds what it updates, so it may
  // outlive this object.
  std::shared_ptr<core::EngineObserver> engine_observer() const {
    return observer_;
  }

  // One request answered with `code` after `latency`. For StreamAnalyze, a
  // request is one message of the stream (or a stream refused before any).
  // `level`: the level emitted, for an analysis.
  void RecordRequest(Rpc rpc, absl::StatusCode code, absl::Duration latency,
                     std::optional<core::Level> level);

  // The text exposition of every metric, as a scrape would return it.
  std::string Render() const;

 private:
  class Observer;
  class StateCollector;
  static constexpr int kNumCodes = 17;  // absl::StatusCode 0..16

  prometheus::Counter& RequestCounter(Rpc rpc, absl::StatusCode code);

  const std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<StateCollector> collector_;
  std::shared_ptr<core::EngineObserver> observer_;
  prometheus::Family<prometheus::Counter>* requests_family_ = nullptr;
  // lantern_requests_total children, made on first use of a code.
  std::array<std::array<std::atomic<prometheus::Counter*>, kNumCodes>, kNumRpcs>
      requests_{};
  std::array<prometheus::Histogram*, kNumRpcs> durations_{};
  // lantern_analyses_total by core::Level (index 0, unspecified, unused).
  std::array<prometheus::Counter*, 6> levels_{};
  std::unique_ptr<HttpEndpoint> endpoint_;
  int port_ = 0;
};

}  // namespace lantern::server

#endif  // LANTERN_SERVER_METRICS_H_
