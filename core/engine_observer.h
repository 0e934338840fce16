// Hooks through which an engine reports its served traffic as it happens,
// for metrics. core knows nothing of any metrics system: the server
// implements these (server/metrics.h) and hands one EngineObserver to every
// engine it creates through core::EngineDeps, so an engine made by a model
// reload reports into the same place as the one it replaces.
//
// Warm-up traffic is never reported. Every method may be called from many
// threads at once, on the engine's hot path (batcher runner threads, the
// threads that call Engine::Submit()): implementations must be thread-safe,
// cheap and never block for long.
#ifndef LANTERN_CORE_ENGINE_OBSERVER_H_
#define LANTERN_CORE_ENGINE_OBSERVER_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace lantern::core {

// One model's forward passes.
class ModelObserver {
 public:
  virtual ~ModelObserver() = default;
  // One forward pass that ran `queue_waits.size()` messages (before
  // padding): how long each waited in the model's queue (zero for a message
  // run at once on the caller's thread), and how long the pass took. Called
  // after the messages were answered, on the thread that ran the pass.
  virtual void OnBatch(absl::Span<const absl::Duration> queue_waits,
                       absl::Duration forward_time) = 0;
};

class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  // Called once per model by each engine that loads a model named `name`,
  // before its batcher starts; that engine reports the model's passes to
  // the result (null: not observed). Implementations return the same
  // observer for the same name, so reloaded engines continue its series.
  virtual std::shared_ptr<ModelObserver> ForModel(const std::string& name) = 0;
  // A served message looked up in the result cache (only while the cache
  // is enabled).
  virtual void OnCacheLookup(bool hit) = 0;
  // An entry was dropped from the result cache to make room for a new one.
  virtual void OnCacheEviction() = 0;
};

}  // namespace lantern::core

#endif  // LANTERN_CORE_ENGINE_OBSERVER_H_
