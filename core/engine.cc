#include "core/engine.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "core/text.h"

namespace lantern::core {
namespace {

// Text fed through each handle at warm-up; its pieces are repeated to fill
// every length bucket.
constexpr absl::string_view kWarmupText =
    "warming up: a few ordinary words so every piece of the model runs";

// Runs `runs` forward passes of `handle` at every length bucket and batch
// size, checking the outputs' shape: the warm-up of one handle.
absl::Status WarmShapes(const config::v1::ModelSpec& spec,
                        const std::vector<int64_t>& buckets,
                        const std::vector<int64_t>& sample,
                        const std::vector<int>& batch_sizes, int runs,
                        ModelBackend& handle) {
  for (int64_t length : buckets) {
    std::vector<int64_t> ids(static_cast<size_t>(length));
    for (int64_t i = 0; i < length; ++i) ids[i] = sample[i % sample.size()];
    for (int rows : batch_sizes) {
      const std::vector<std::vector<int64_t>> batch(static_cast<size_t>(rows),
                                                    ids);
      for (int run = 0; run < runs; ++run) {
        LANTERN_ASSIGN_OR_RETURN(
            auto logits,
            handle.Forward(batch, length, spec.tokenizer().pad_id()));
        if (logits.size() != batch.size()) {
          return absl::InternalError(
              absl::StrCat("model '", spec.name(), "' returned ", logits.size(),
                           " rows for a batch of ", batch.size()));
        }
        LANTERN_RETURN_IF_ERROR(MakeSignal(spec, logits.front()).status());
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

struct Engine::ModelEntry {
  LoadedModelSpec spec;
  int tokenizer = 0;    // Index into tokenizers_.
  int pool_index = -1;  // Index in pool_ once loaded.
  int handles = 0;
  std::vector<int64_t> buckets;
  std::atomic<uint64_t> failures{0};
  // A model failing on every message logs once every ten seconds.
  LogLimiter failure_log{absl::Seconds(10)};
  // From EngineDeps::observer, set before the batcher; may be null.
  std::shared_ptr<ModelObserver> observer;
  // Set once, under mu, when loaded; warm after Start(). Read under mu until
  // ready_, then without it (it never changes again).
  std::unique_ptr<ModelBatcher> batcher;

  mutable absl::Mutex mu;
  bool loaded ABSL_GUARDED_BY(mu) = false;
  bool warmed ABSL_GUARDED_BY(mu) = false;
  absl::Duration warmup_time ABSL_GUARDED_BY(mu);
  std::string error ABSL_GUARDED_BY(mu);
};

// One message on its way through the models.
struct Engine::Pending {
  AnalysisRequest request;
  CacheKey key;
  bool use_cache = true;
  absl::Time arrived;
  AnalysisCallback done;
  // One slot per model, written by that model's runner before it counts
  // `remaining` down; the runner that reaches zero reads them all.
  std::vector<absl::StatusOr<Signal>> results;
  std::atomic<int> remaining{0};
};

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(EngineOptions options,
                                                       EngineDeps deps) {
  LANTERN_RETURN_IF_ERROR(ValidateEngineOptions(options));
  LANTERN_ASSIGN_OR_RETURN(ModelDirectory directory,
                           LoadModelDirectory(options.model_dir));
  if (!deps.load_backend) {
    ConfigureTorch(options.torch_threads);
    deps.load_backend = LoadTorchScriptBackend;
  }
  if (!deps.load_tokenizer) deps.load_tokenizer = LoadTokenizer;
  std::vector<config::v1::ModelSpec> specs;
  for (const LoadedModelSpec& model : directory.models)
    specs.push_back(model.spec);
  LANTERN_ASSIGN_OR_RETURN(Ensemble ensemble,
                           Ensemble::Create(directory.ensemble, specs));
  std::optional<CueMatcher> cues;
  if (!directory.ensemble.cues().empty()) {
    LANTERN_ASSIGN_OR_RETURN(
        cues, CueMatcher::Load((std::filesystem::path(options.model_dir) /
                                directory.ensemble.cues())
                                   .string()));
  }
  ResultCacheOptions cache_options;
  cache_options.capacity = static_cast<size_t>(options.cache_entries);
  LANTERN_ASSIGN_OR_RETURN(auto cache,
                           ResultCache<Verdict>::Create(cache_options));
  // Everything besides the text that changes a verdict: the ensemble file
  // and every spec (names, versions, labels, thresholds, modes).
  std::string fingerprint = directory.ensemble.SerializeAsString();
  for (const config::v1::ModelSpec& spec : specs)
    fingerprint += spec.SerializeAsString();
  std::unique_ptr<Engine> engine(
      new Engine(std::move(options), std::move(deps), std::move(directory),
                 std::move(ensemble), std::move(cues)));
  engine->cache_ = std::move(cache);
  engine->fingerprint_ = std::move(fingerprint);
  LANTERN_RETURN_IF_ERROR(engine->LoadTokenizers());
  return engine;
}

Engine::Engine(EngineOptions options, EngineDeps deps, ModelDirectory directory,
               Ensemble ensemble, std::optional<CueMatcher> cues)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      ensemble_(std::move(ensemble)),
      context_rules_(options_.context,
                     [this](float score) { return ensemble_.LevelFor(score); }),
      cues_(std::move(cues)) {
  for (LoadedModelSpec& spec : directory.models) {
    auto entry = std::make_unique<ModelEntry>();
    entry->buckets = LengthBuckets(spec.spec.max_tokens());
    entry->handles = options_.handles > 0      ? options_.handles
                     : spec.spec.handles() > 0 ? spec.spec.handles()
                                               : options_.worker_threads;
    entry->spec = std::move(spec);
    models_.push_back(std::move(entry));
  }
}

Engine::~Engine() { Shutdown(); }

void Engine::AddContext(absl::Span<const PriorScore> history, absl::Time sent,
                        Analysis* analysis) const {
  analysis->context =
      context_rules_.Evaluate(history, sent, analysis->verdict.score);
  ApplyContext(*analysis->context, &analysis->verdict);
}

absl::Status Engine::LoadTokenizers() {
  // Models that name the same tokenizer file share one instance, and each
  // message is tokenized once per distinct tokenizer.
  std::map<std::string, int> by_path;
  for (auto& entry : models_) {
    const std::string& path = entry->spec.tokenizer_path;
    auto it = by_path.find(path);
    if (it == by_path.end()) {
      LANTERN_ASSIGN_OR_RETURN(
          auto tokenizer,
          deps_.load_tokenizer(entry->spec.spec.tokenizer(), path));
      tokenizers_.push_back(std::move(tokenizer));
      tokenizer_input_limit_.push_back(0);
      it =
          by_path.emplace(path, static_cast<int>(tokenizers_.size()) - 1).first;
    }
    entry->tokenizer = it->second;
    size_t& limit = tokenizer_input_limit_[static_cast<size_t>(it->second)];
    limit = std::max(limit, static_cast<size_t>(entry->spec.spec.max_tokens()) *
                                kTokenizerCodePointsPerToken);
  }
  return absl::OkStatus();
}

absl::Status Engine::LoadAndWarm() {
  std::vector<std::pair<absl::Duration, size_t>> by_warmup_time;
  for (size_t m = 0; m < models_.size(); ++m) {
    ModelEntry& entry = *models_[m];
    const absl::Status status =
        shutting_down_.load()
            ? absl::UnavailableError("shut down during warm-up")
            : LoadModel(entry);
    absl::MutexLock lock(&entry.mu);
    if (!status.ok()) {
      entry.error = std::string(status.message());
      return status;
    }
    by_warmup_time.emplace_back(entry.warmup_time, m);
  }
  std::stable_sort(by_warmup_time.begin(), by_warmup_time.end());
  for (const auto& [took, m] : by_warmup_time) dispatch_order_.push_back(m);
  LANTERN_RETURN_IF_ERROR(WarmPath());
  // The counters and the observer describe served traffic only.
  for (auto& entry : models_) {
    entry->batcher->ResetCounters();
    entry->batcher->ReportTo(entry->observer.get());
  }
  ready_.store(true);
  return absl::OkStatus();
}

absl::Status Engine::WarmPath() {
  AnalysisRequest request;
  request.message.id = "warm-up";
  // ASCII, so a byte is a character.
  request.message.text = std::string(
      kWarmupText.substr(0, static_cast<size_t>(options_.max_message_chars)));
  absl::Notification answered;
  absl::Status status;
  LANTERN_RETURN_IF_ERROR(Dispatch(
      std::move(request),
      [&](absl::StatusOr<Analysis> analysis) {
        status = analysis.status();
        answered.Notify();
      },
      /*use_cache=*/false));
  answered.WaitForNotification();
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("warm-up message failed: ",
                                                    status.message()));
  }
  return absl::OkStatus();
}

absl::Status Engine::LoadModel(ModelEntry& entry) {
  const auto& spec = entry.spec.spec;
  const absl::Time start = absl::Now();
  std::vector<std::unique_ptr<ModelBackend>> handles;
  for (int i = 0; i < entry.handles; ++i) {
    LANTERN_ASSIGN_OR_RETURN(auto backend,
                             deps_.load_backend(entry.spec.model_path));
    handles.push_back(std::move(backend));
  }
  {
    absl::MutexLock lock(&entry.mu);
    entry.loaded = true;
  }
  LANTERN_ASSIGN_OR_RETURN(std::vector<int64_t> sample,
                           tokenizers_[entry.tokenizer]->Encode(kWarmupText));
  if (sample.empty()) sample.push_back(spec.tokenizer().pad_id() + 1);
  const std::vector<int> batch_sizes =
      BatchBuckets(options_.batching.max_batch);
  // Every shape the batcher can run, on each handle, by the thread that will
  // serve with it.
  auto warmup = [&](ModelBackend& handle) {
    return WarmShapes(spec, entry.buckets, sample, batch_sizes,
                      options_.warmup_runs, handle);
  };

  entry.pool_index = pool_.AddModel(spec.name(), std::move(handles));
  if (deps_.observer != nullptr)
    entry.observer = deps_.observer->ForModel(spec.name());
  ModelBatcher* batcher = nullptr;
  {
    // Shutdown() sets shutting_down_ before it looks at any batcher, so a
    // batcher is either created here first and shut down there, or never.
    absl::MutexLock lock(&entry.mu);
    if (shutting_down_.load())
      return absl::UnavailableError("shut down during warm-up");
    entry.batcher = std::make_unique<ModelBatcher>(
        spec.name(), &pool_, entry.pool_index, entry.buckets,
        spec.tokenizer().pad_id(), options_.batching);
    batcher = entry.batcher.get();
  }
  LANTERN_RETURN_IF_ERROR(batcher->Start(warmup));
  const absl::Duration took = absl::Now() - start;
  {
    absl::MutexLock lock(&entry.mu);
    entry.warmed = true;
    entry.warmup_time = took;
  }
  LogInfo(absl::StrFormat(
      "model %s v%s (%s): %d handles loaded and warmed at lengths %s x batches "
      "%s in %d ms",
      spec.name(), spec.version(), spec.role(), entry.handles,
      absl::StrJoin(entry.buckets, "/"), absl::StrJoin(batch_sizes, "/"),
      absl::ToInt64Milliseconds(took)));
  return absl::OkStatus();
}

absl::Status Engine::Submit(AnalysisRequest request, AnalysisCallback done) {
  if (shutting_down_.load()) {
    return absl::UnavailableError(
        "server is shutting down; retry on another replica");
  }
  if (!ready()) {
    return absl::UnavailableError(
        "models are still loading and warming up; retry in a moment");
  }
  return Dispatch(std::move(request), std::move(done), /*use_cache=*/true);
}

absl::Status Engine::Dispatch(AnalysisRequest request, AnalysisCallback done,
                              bool use_cache) {
  const absl::Time arrived = absl::Now();
  LANTERN_ASSIGN_OR_RETURN(
      std::string normalized,
      ValidateMessage(request.message, options_.max_message_chars));
  CacheKey key;
  if (cache_->enabled()) {
    key = MakeKey(fingerprint_, normalized);
    std::shared_ptr<const Verdict> cached =
        use_cache ? cache_->Lookup(key) : nullptr;
    if (use_cache && deps_.observer != nullptr)
      deps_.observer->OnCacheLookup(cached != nullptr);
    if (cached != nullptr) {
      done(Answer(request, *cached, arrived));
      return absl::OkStatus();
    }
  }
  // Capacity first: a server at capacity does not tokenize what it refuses.
  const int ahead = in_flight_.fetch_add(1);
  if (ahead >= options_.max_queue) {
    in_flight_.fetch_sub(1);
    return absl::ResourceExhaustedError(
        absl::StrCat("server is at capacity (", options_.max_queue,
                     " messages in flight); retry with backoff"));
  }
  absl::StatusOr<std::vector<std::vector<int64_t>>> tokens =
      Tokenize(normalized);
  if (!tokens.ok()) {
    in_flight_.fetch_sub(1);
    return tokens.status();
  }
  auto pending = std::make_shared<Pending>();
  pending->request = std::move(request);
  pending->key = key;
  pending->use_cache = use_cache;
  pending->arrived = arrived;
  pending->done = std::move(done);
  pending->results.resize(models_.size(), absl::UnknownError("not run"));
  pending->remaining.store(static_cast<int>(models_.size()));
  // Only a message alone in the engine runs a model on this thread: under
  // load, callers running the slowest model one message at a time would
  // keep its queue empty and its batches at one row.
  SendToModels(pending, *tokens, /*may_run_inline=*/ahead == 0);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<int64_t>>> Engine::Tokenize(
    const std::string& normalized) const {
  std::vector<std::vector<int64_t>> tokens(tokenizers_.size());
  for (size_t i = 0; i < tokenizers_.size(); ++i) {
    LANTERN_ASSIGN_OR_RETURN(tokens[i],
                             tokenizers_[i]->Encode(PrefixOfCodePoints(
                                 normalized, tokenizer_input_limit_[i])));
  }
  return tokens;
}

void Engine::SendToModels(const std::shared_ptr<Pending>& pending,
                          const std::vector<std::vector<int64_t>>& tokens,
                          bool may_run_inline) {
  for (size_t m : dispatch_order_) {
    ModelEntry& entry = *models_[m];
    ModelBatcher::Request work;
    work.ids = ModelInput(entry.spec.spec,
                          tokens[static_cast<size_t>(entry.tokenizer)]);
    work.deadline = pending->request.deadline;
    work.is_cancelled = pending->request.is_cancelled;
    work.done = [this, pending, m](absl::StatusOr<std::vector<float>> logits) {
      ModelEntry& e = *models_[m];
      pending->results[m] = logits.ok()
                                ? MakeSignal(e.spec.spec, *logits)
                                : absl::StatusOr<Signal>(logits.status());
      if (pending->remaining.fetch_sub(1) == 1) Complete(*pending);
    };
    if (may_run_inline && m == dispatch_order_.back() &&
        entry.batcher->TryRunInline(work)) {
      continue;
    }
    // Enqueue fails only while shutting down; that model's slot says so.
    if (absl::Status queued = entry.batcher->Enqueue(std::move(work));
        !queued.ok()) {
      pending->results[m] = queued;
      if (pending->remaining.fetch_sub(1) == 1) Complete(*pending);
    }
  }
}

void Engine::Complete(Pending& pending) {
  in_flight_.fetch_sub(1);
  std::vector<Signal> signals;
  std::vector<SkippedModel> skipped;
  for (size_t m = 0; m < models_.size(); ++m) {
    absl::StatusOr<Signal>& result = pending.results[m];
    if (result.ok()) {
      signals.push_back(*std::move(result));
      continue;
    }
    const absl::StatusCode code = result.status().code();
    // The call is over for every model alike: no verdict.
    if (code == absl::StatusCode::kDeadlineExceeded ||
        code == absl::StatusCode::kCancelled ||
        code == absl::StatusCode::kUnavailable) {
      pending.done(result.status());
      return;
    }
    models_[m]->failures.fetch_add(1);
    if (uint64_t held_back = 0;
        models_[m]->failure_log.Allow(absl::Now(), &held_back)) {
      LogWarning(absl::StrCat(
          "model ", models_[m]->spec.spec.name(),
          " skipped: ", result.status().message(),
          held_back == 0 ? ""
                         : absl::StrCat(" (and ", held_back,
                                        " more since the last report)")));
    }
    skipped.push_back(
        {models_[m]->spec.spec.name(), absl::StatusCodeToString(code)});
  }
  absl::StatusOr<Verdict> verdict =
      ensemble_.Combine(std::move(signals), skipped);
  if (!verdict.ok()) {
    pending.done(absl::InternalError(
        "every model of the ensemble failed on this message"));
    return;
  }
  // A degraded verdict is not cached: it would outlive the model failure.
  if (cache_->enabled() && pending.use_cache && !verdict->degraded) {
    const bool evicted =
        cache_->Insert(pending.key, std::make_shared<const Verdict>(*verdict));
    if (evicted && deps_.observer != nullptr) deps_.observer->OnCacheEviction();
  }
  pending.done(Answer(pending.request, *std::move(verdict), pending.arrived));
}

Analysis Engine::Answer(const AnalysisRequest& request, Verdict verdict,
                        absl::Time arrived) const {
  if (cues_.has_value()) {
    for (Factor& factor : cues_->Match(request.message.text)) {
      verdict.factors.push_back(std::move(factor));
    }
  }
  Analysis analysis;
  analysis.message_id = request.message.id;
  analysis.verdict = std::move(verdict);
  analysis.ensemble_version = ensemble_.version();
  analysis.processing_time_us =
      absl::ToInt64Microseconds(absl::Now() - arrived);
  return analysis;
}

EngineStats Engine::Stats() const {
  EngineStats stats;
  stats.ready = ready();
  stats.cache = cache_->stats();
  stats.queue_depth = in_flight_.load();
  stats.torch_threads = options_.torch_threads;
  for (const auto& entry : models_) {
    ModelStats m;
    m.name = entry->spec.spec.name();
    m.version = entry->spec.spec.version();
    m.role = entry->spec.spec.role();
    m.handles = entry->handles;
    stats.worker_threads += entry->handles;
    m.failures = entry->failures.load();
    {
      absl::MutexLock lock(&entry->mu);
      m.loaded = entry->loaded;
      m.warmed = entry->warmed;
      m.warmup_time = entry->warmup_time;
      m.error = entry->error;
    }
    // Warm-up traffic is counted until ready_, then reset.
    if (stats.ready) {
      m.inferences = entry->batcher->rows();
      m.batches = entry->batcher->batches();
      m.queue_time = entry->batcher->queue_time();
      m.compute_time = entry->batcher->compute_time();
    }
    if (m.warmed) m.handles_in_use = pool_.in_use(entry->pool_index);
    stats.models.push_back(std::move(m));
  }
  return stats;
}

void Engine::Shutdown() {
  shutting_down_.store(true);
  for (auto& entry : models_) {
    ModelBatcher* batcher = nullptr;
    {
      absl::MutexLock lock(&entry->mu);
      batcher = entry->batcher.get();
    }
    if (batcher != nullptr) batcher->Shutdown();
  }
}

}  // namespace lantern::core
