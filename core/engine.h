// The analysis engine: validates a message, tokenizes it, runs every model
// of the ensemble on a leased warm handle, and combines the results.
//
// Lifecycle: Create() reads the model directory and tokenizers (fast);
// LoadAndWarm() loads and warms every handle (slow; run it off the serving
// path); Submit() is accepted only once ready(); Shutdown() finishes queued
// work and refuses new work.
//
// Scheduling: Submit() validates, normalises and tokenizes on the caller's
// thread (microseconds), answers from the result cache when it can, and
// otherwise hands the message to every model's ModelBatcher at once, so the
// models of the ensemble run concurrently. Forward passes run on the
// batchers' runner threads (one per warm handle), except that a message alone
// in the engine runs its slowest model on the caller's thread when that
// model's batcher is idle (see dispatch_order_). Whichever thread finishes a
// message's last model combines the verdict.
// Thread-safe.
#ifndef LANTERN_CORE_ENGINE_H_
#define LANTERN_CORE_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/conversation.h"
#include "core/cues.h"
#include "core/engine_observer.h"
#include "core/ensemble.h"
#include "core/model_backend.h"
#include "core/model_batcher.h"
#include "core/model_pool.h"
#include "core/model_spec.h"
#include "core/result_cache.h"
#include "core/tokenizer.h"

namespace lantern::core {

// The most max_message_chars may be: 16 Mi code points, so that a request
// of that many 4-byte characters still fits gRPC's int-sized size limit.
inline constexpr int kMaxMessageCharsLimit = 1 << 24;

struct EngineOptions {
  // Folder holding ensemble.json and one sub-folder per model.
  std::string model_dir;
  // Warm handles (and runner threads) per model when neither `handles` nor
  // the model's spec says otherwise.
  int worker_threads = 2;
  // Warm handles per model for every model; 0 = the spec's `handles`, or
  // `worker_threads` when the spec leaves it at 0.
  int handles = 0;
  // Torch intra-op threads per forward pass (set once for the process).
  int torch_threads = 1;
  // Longest accepted message, in Unicode code points (at most
  // kMaxMessageCharsLimit).
  int max_message_chars = 4096;
  // Messages that may be in flight (queued or running) before Submit() says
  // ResourceExhausted.
  int max_queue = 1024;
  // Dynamic batching per model (see core/model_batcher.h).
  BatchOptions batching;
  // Forward passes per handle at warm-up, for every pair of sequence-length
  // bucket and batch-size bucket.
  int warmup_runs = 3;
  // Verdicts kept in the result cache (keyed on a digest of the normalised
  // text and the model set; never the text itself). 0 disables it.
  int cache_entries = 16384;
  // Conversation context bounds and window (core/conversation.h).
  ContextOptions context;
};

// Test seams. Empty members mean the real implementation (TorchScript,
// SentencePiece).
struct EngineDeps {
  BackendLoader load_backend;
  std::function<absl::StatusOr<std::unique_ptr<Tokenizer>>(
      const config::v1::TokenizerSpec& spec, const std::string& model_path)>
      load_tokenizer;
  // Told about served traffic as it happens (metrics); may be null.
  std::shared_ptr<EngineObserver> observer;
};

// A chat message as the engine sees it.
struct Message {
  std::string id;
  std::string text;
  std::string user_id;
  std::string channel_id;
};

struct AnalysisRequest {
  Message message;
  // Work not started by then is dropped with DeadlineExceeded.
  absl::Time deadline = absl::InfiniteFuture();
  // Polled before each step; work is dropped with Cancelled when it returns
  // true. May be empty.
  std::function<bool()> is_cancelled;
};

struct Analysis {
  std::string message_id;
  Verdict verdict;
  int64_t processing_time_us = 0;
  std::string ensemble_version;
  // Set by Engine::AddContext().
  std::optional<ConversationContext> context;
};

// Called exactly once: on a runner thread, or on the thread that called
// Submit() when the verdict came from the result cache or that thread ran the
// message's last model itself (before Submit() returns). Errors:
// DeadlineExceeded, Cancelled, Unavailable (shut down mid-way), Internal
// (every model failed).
using AnalysisCallback = std::function<void(absl::StatusOr<Analysis>)>;

struct ModelStats {
  std::string name;
  std::string version;
  std::string role;
  bool loaded = false;
  bool warmed = false;
  absl::Duration warmup_time;
  int handles = 0;
  int handles_in_use = 0;
  uint64_t inferences = 0;      // messages (rows) run, warm-up left out
  uint64_t batches = 0;         // forward passes run, warm-up left out
  absl::Duration queue_time;    // summed over messages, warm-up left out
  absl::Duration compute_time;  // summed over forward passes, warm-up left out
  uint64_t failures = 0;
  std::string error;
};

struct EngineStats {
  bool ready = false;
  ResultCacheStats cache;
  std::vector<ModelStats> models;
  int queue_depth = 0;     // messages in flight
  int worker_threads = 0;  // runner threads, all models
  int torch_threads = 0;
};

class Engine {
 public:
  // Reads the model directory and loads tokenizers. NotFound /
  // InvalidArgument for a missing or malformed directory, InvalidArgument
  // for bad options.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(EngineOptions options,
                                                        EngineDeps deps = {});
  ~Engine();

  // Loads every model's handles and warms each with real forward passes at
  // every shape (length bucket x batch size) it will serve, on the thread
  // that will serve with it; then sends one message through the whole path
  // (validation, normalisation, cache key, tokenizers, batchers, ensemble,
  // cues; nothing is cached) so the first caller pays for no lazy set-up.
  // Blocking. Returns the first load/warm-up error; ready() becomes true
  // only on success.
  absl::Status LoadAndWarm();
  bool ready() const { return ready_.load(); }

  // Checks the message and queues it. On OK, `done` will be called exactly
  // once. Otherwise `done` is never called and the error says why:
  // InvalidArgument (bad message), Unavailable (not warm yet, or shutting
  // down), ResourceExhausted (queue full).
  absl::Status Submit(AnalysisRequest request, AnalysisCallback done);

  EngineStats Stats() const;

  // Reads `analysis` in the light of its author's earlier messages
  // (`history`, see ContextRules::Evaluate) for a message sent at `sent`:
  // sets analysis->context and raises the verdict as the rules say. The
  // result cache holds verdicts before this step, so a cached verdict is
  // never served without its context.
  void AddContext(absl::Span<const PriorScore> history, absl::Time sent,
                  Analysis* analysis) const;
  const ContextOptions& context_options() const { return options_.context; }
  // Version of the ensemble configuration (ensemble.json) this engine
  // serves.
  const std::string& ensemble_version() const { return ensemble_.version(); }

  // Refuses new work, finishes everything queued. Idempotent.
  void Shutdown();

 private:
  struct ModelEntry;
  struct Pending;
  Engine(EngineOptions options, EngineDeps deps, ModelDirectory directory,
         Ensemble ensemble, std::optional<CueMatcher> cues);
  absl::Status LoadTokenizers();
  absl::Status LoadModel(ModelEntry& entry);
  // Submit() after the shutdown and readiness checks; `use_cache` = false
  // neither reads nor fills the cache (its key is still computed).
  absl::Status Dispatch(AnalysisRequest request, AnalysisCallback done,
                        bool use_cache);
  // The message's ids per distinct tokenizer (see tokenizer_input_limit_).
  absl::StatusOr<std::vector<std::vector<int64_t>>> Tokenize(
      const std::string& normalized) const;
  // Hands `pending` to every model's batcher in dispatch_order_; the last
  // one runs on this thread when `may_run_inline` and its batcher is idle.
  void SendToModels(const std::shared_ptr<Pending>& pending,
                    const std::vector<std::vector<int64_t>>& tokens,
                    bool may_run_inline);
  // One message through Dispatch(), waiting for its answer.
  absl::Status WarmPath();
  // Runs when every model has answered `pending`.
  void Complete(Pending& pending);
  // The answer for `request` from a verdict (computed or cached): adds the
  // cue factors for this message's own text and the per-request fields.
  Analysis Answer(const AnalysisRequest& request, Verdict verdict,
                  absl::Time arrived) const;

  const EngineOptions options_;
  const EngineDeps deps_;
  const Ensemble ensemble_;
  const ContextRules context_rules_;
  const std::optional<CueMatcher>
      cues_;  // When ensemble.json names a cue file.
  // Verdicts without cue factors (those depend on the exact text), never
  // degraded ones. Keys mix fingerprint_ (models, versions, options) and the
  // normalised text.
  std::unique_ptr<ResultCache<Verdict>> cache_;
  std::string fingerprint_;
  std::vector<std::unique_ptr<Tokenizer>> tokenizers_;
  // Per tokenizer: the most code points of normalised text it is given (see
  // kTokenizerCodePointsPerToken).
  std::vector<size_t> tokenizer_input_limit_;
  std::vector<std::unique_ptr<ModelEntry>> models_;
  ModelPool pool_;
  // Model indices by warm-up time, slowest last. Dispatch() queues them in
  // this order and, for a message alone in the engine, runs the last one on
  // the caller's thread when its batcher is idle, so the others are under
  // way meanwhile. Written once before ready_.
  std::vector<size_t> dispatch_order_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> shutting_down_{false};
  std::atomic<int> in_flight_{0};
};

// A tokenizer is given at most this many code points of normalised text per
// token its models keep. Tokenizing costs time per code point while models
// keep only their first max_tokens tokens: without a limit, text that NFKC
// expands (U+FDFA becomes 18 code points) cost over 100 times an ordinary
// message. Ordinary text averages about 4 code points a token in the shipped
// tokenizers, so the kept tokens are the same with or without the limit
// (tests/core/tokenizer_test.cc checks this on the held-out sets).
inline constexpr size_t kTokenizerCodePointsPerToken = 8;

// InvalidArgument naming the first bad setting of `options`, in the words
// of the server flag that sets it (counts below 1, negative delays or sizes,
// message length or context bounds out of range). Engine::Create calls it;
// the server calls it once when it parses its options.
absl::Status ValidateEngineOptions(const EngineOptions& options);

// Sequence lengths a model with `max_tokens` is run at: inputs are padded to
// the smallest bucket that fits (8, 16, 32, ... capped at max_tokens), so
// warm-up can cover every shape the model will see.
std::vector<int64_t> LengthBuckets(int64_t max_tokens);

// The ids a model with `spec` is fed for `tokens`: BOS/EOS added when the
// spec's tokenizer has them, truncated to max_tokens (unpadded).
std::vector<int64_t> ModelInput(const config::v1::ModelSpec& spec,
                                const std::vector<int64_t>& tokens);

// Checks a message before any work is queued. InvalidArgument for invalid
// UTF-8 in any field, an id over 256 bytes, text over `max_chars` code
// points, or text with nothing visible. On success returns the normalised
// text.
absl::StatusOr<std::string> ValidateMessage(const Message& message,
                                            int max_chars);

}  // namespace lantern::core

#endif  // LANTERN_CORE_ENGINE_H_
