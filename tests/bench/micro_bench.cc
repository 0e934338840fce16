// Micro-benchmarks (Google Benchmark) of the per-message steps around the
// models: validation, normalisation, tokenization, one forward pass per
// model, length bucket and batch size (1 and the engine's default maximum),
// scoring, and the proto/JSON conversions of the serving path. The model
// directory is the default one, or --model_dir=DIR (taken out of argv before
// Google Benchmark's own flags).
//
// Every benchmark but Forward processes one message per iteration, so the
// reported time is the cost per message of that step; Forward runs "rows"
// messages per iteration.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli.h"
#include "core/cues.h"
#include "core/engine.h"
#include "core/ensemble.h"
#include "core/model_backend.h"
#include "core/model_batcher.h"
#include "core/model_spec.h"
#include "core/text.h"
#include "core/tokenizer.h"
#include "lantern/v1/analyzer.pb.h"
#include "server/convert.h"

namespace lantern::bench {
namespace {

// Inputs written for these benchmarks.
const char kShort[] = "gg that was close";
const char kMedium[] =
    "honestly the best part of the trip was the little bakery next to the "
    "hotel";
const char kEmoji[] =
    "lets gooo 🎉🎉 we won!! 💀😂 see you all tmrw 🙌 ｆｕｌｌ ｗｉｄｔｈ ﬁne";

std::string LongText() {
  std::string text;
  while (text.size() < 2000) {
    absl::StrAppend(&text,
                    "so I was thinking about what you said yesterday and I "
                    "still don't know what to do about the job, ");
  }
  return text;
}

// Everything the benchmarks share, loaded once.
struct Fixture {
  core::ModelDirectory directory;
  std::vector<std::unique_ptr<core::Tokenizer>> tokenizers;   // per model
  std::vector<std::unique_ptr<core::ModelBackend>> backends;  // per model
  std::unique_ptr<core::Ensemble> ensemble;
  std::unique_ptr<core::CueMatcher> cues;
  std::string long_text = LongText();
};

Fixture* fixture = nullptr;

void BM_NormalizeText(benchmark::State& state, std::string text) {
  for (auto _ : state) {
    absl::StatusOr<std::string> n = core::NormalizeText(text);
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(text.size()));
}

void BM_ValidateMessage(benchmark::State& state, std::string text) {
  core::Message message;
  message.id = "m-123456";
  message.user_id = "u-42";
  message.channel_id = "general";
  message.text = text;
  for (auto _ : state) {
    absl::StatusOr<std::string> n = core::ValidateMessage(message, 4096);
    benchmark::DoNotOptimize(n);
  }
}

void BM_Encode(benchmark::State& state, size_t model, std::string text) {
  const std::string normalized = core::NormalizeText(text).value();
  const core::Tokenizer& tokenizer = *fixture->tokenizers[model];
  size_t tokens = 0;
  for (auto _ : state) {
    absl::StatusOr<std::vector<int64_t>> ids = tokenizer.Encode(normalized);
    tokens = ids->size();
    benchmark::DoNotOptimize(ids);
  }
  state.counters["tokens"] = static_cast<double>(tokens);
}

// One forward pass over `batch` rows padded to `length`; the "rows" counter
// lets the report divide by the batch size.
void BM_Forward(benchmark::State& state, size_t model, int64_t length,
                int batch) {
  const core::LoadedModelSpec& spec = fixture->directory.models[model];
  const int64_t pad = spec.spec.tokenizer().pad_id();
  // Half-full rows, as messages padded up to their bucket are.
  const std::vector<std::vector<int64_t>> rows(
      static_cast<size_t>(batch),
      std::vector<int64_t>(
          static_cast<size_t>(std::max<int64_t>(1, length / 2)), pad + 7));
  core::ModelBackend& backend = *fixture->backends[model];
  for (int i = 0; i < 3; ++i) (void)backend.Forward(rows, length, pad);
  for (auto _ : state) {
    absl::StatusOr<std::vector<std::vector<float>>> logits =
        backend.Forward(rows, length, pad);
    benchmark::DoNotOptimize(logits);
  }
  state.counters["rows"] = batch;
}

std::vector<core::Signal> ExampleSignals() {
  std::vector<core::Signal> signals;
  for (const core::LoadedModelSpec& spec : fixture->directory.models) {
    std::vector<float> logits(static_cast<size_t>(spec.spec.labels_size()));
    for (size_t i = 0; i < logits.size(); ++i)
      logits[i] = 0.3f * static_cast<float>(i) - 0.5f;
    signals.push_back(core::MakeSignal(spec.spec, logits).value());
  }
  return signals;
}

void BM_MakeSignal(benchmark::State& state) {
  const core::LoadedModelSpec& spec = fixture->directory.models[0];
  std::vector<float> logits(static_cast<size_t>(spec.spec.labels_size()),
                            0.25f);
  logits[0] = 1.5f;
  for (auto _ : state) {
    absl::StatusOr<core::Signal> signal = core::MakeSignal(spec.spec, logits);
    benchmark::DoNotOptimize(signal);
  }
}

void BM_EnsembleCombine(benchmark::State& state) {
  const std::vector<core::Signal> signals = ExampleSignals();
  for (auto _ : state) {
    absl::StatusOr<core::Verdict> verdict =
        fixture->ensemble->Combine(signals, {});
    benchmark::DoNotOptimize(verdict);
  }
}

void BM_CueMatch(benchmark::State& state, std::string text) {
  for (auto _ : state) {
    std::vector<core::Factor> factors = fixture->cues->Match(text);
    benchmark::DoNotOptimize(factors);
  }
}

core::Analysis ExampleAnalysis() {
  core::Analysis analysis;
  analysis.message_id = "m-123456";
  analysis.verdict = fixture->ensemble->Combine(ExampleSignals(), {}).value();
  analysis.processing_time_us = 1234;
  analysis.ensemble_version = fixture->ensemble->version();
  return analysis;
}

// Server side of one Analyze: request bytes in, response bytes out.
void BM_ServerProtoPath(benchmark::State& state) {
  v1::AnalyzeRequest request;
  request.mutable_message()->set_id("m-123456");
  request.mutable_message()->set_channel_id("general");
  request.mutable_message()->set_text(kMedium);
  const std::string request_bytes = request.SerializeAsString();
  const core::Analysis analysis = ExampleAnalysis();
  for (auto _ : state) {
    v1::AnalyzeRequest parsed;
    parsed.ParseFromString(request_bytes);
    core::Message message = server::ToCoreMessage(parsed.message());
    benchmark::DoNotOptimize(message);
    v1::AnalyzeResponse response;
    server::ToProto(analysis, response.mutable_analysis());
    std::string bytes = response.SerializeAsString();
    benchmark::DoNotOptimize(bytes);
  }
}

void BM_AnalysisToJson(benchmark::State& state) {
  v1::Analysis proto;
  server::ToProto(ExampleAnalysis(), &proto);
  for (auto _ : state) {
    absl::StatusOr<std::string> json = client::ToJson(proto, /*pretty=*/false);
    benchmark::DoNotOptimize(json);
  }
}

int Setup(const std::string& model_dir) {
  static Fixture f;
  fixture = &f;
  absl::StatusOr<core::ModelDirectory> directory =
      core::LoadModelDirectory(model_dir);
  if (!directory.ok()) {
    std::cerr << "micro_bench: " << directory.status() << "\n";
    return 1;
  }
  f.directory = *std::move(directory);
  core::ConfigureTorch(1);
  std::vector<config::v1::ModelSpec> specs;
  for (const core::LoadedModelSpec& spec : f.directory.models) {
    specs.push_back(spec.spec);
    auto tokenizer =
        core::LoadTokenizer(spec.spec.tokenizer(), spec.tokenizer_path);
    auto backend = core::LoadTorchScriptBackend(spec.model_path);
    if (!tokenizer.ok() || !backend.ok()) {
      std::cerr << "micro_bench: cannot load " << spec.spec.name() << "\n";
      return 1;
    }
    f.tokenizers.push_back(*std::move(tokenizer));
    f.backends.push_back(*std::move(backend));
  }
  auto ensemble = core::Ensemble::Create(f.directory.ensemble, specs);
  if (!ensemble.ok()) {
    std::cerr << "micro_bench: " << ensemble.status() << "\n";
    return 1;
  }
  f.ensemble = std::make_unique<core::Ensemble>(*std::move(ensemble));
  if (!f.directory.ensemble.cues().empty()) {
    auto cues = core::CueMatcher::Load(
        absl::StrCat(model_dir, "/", f.directory.ensemble.cues()));
    if (cues.ok())
      f.cues = std::make_unique<core::CueMatcher>(*std::move(cues));
  }
  return 0;
}

void Register() {
  const std::vector<std::pair<std::string, std::string>> texts = {
      {"short", kShort},
      {"medium", kMedium},
      {"emoji", kEmoji},
      {"long2k", fixture->long_text}};
  for (const auto& [name, text] : texts) {
    benchmark::RegisterBenchmark(("NormalizeText/" + name).c_str(),
                                 BM_NormalizeText, text);
  }
  for (const auto& [name, text] : texts) {
    benchmark::RegisterBenchmark(("ValidateMessage/" + name).c_str(),
                                 BM_ValidateMessage, text);
  }
  // One Encode per distinct tokenizer type/file is enough; list each model's.
  for (size_t m = 0; m < fixture->directory.models.size(); ++m) {
    const core::LoadedModelSpec& spec = fixture->directory.models[m];
    if (m > 0 &&
        spec.tokenizer_path == fixture->directory.models[0].tokenizer_path)
      continue;
    for (const auto& [name, text] : texts) {
      benchmark::RegisterBenchmark(
          absl::StrCat("Encode/", spec.spec.tokenizer().type(), "/", name)
              .c_str(),
          BM_Encode, m, text);
    }
  }
  for (size_t m = 0; m < fixture->directory.models.size(); ++m) {
    const core::LoadedModelSpec& spec = fixture->directory.models[m];
    for (int batch : {1, core::BatchOptions().max_batch}) {
      for (int64_t length : core::LengthBuckets(spec.spec.max_tokens())) {
        benchmark::RegisterBenchmark(
            absl::StrCat("Forward/", spec.spec.name(), "/len", length, "/batch",
                         batch)
                .c_str(),
            BM_Forward, m, length, batch);
      }
    }
  }
  benchmark::RegisterBenchmark("MakeSignal", BM_MakeSignal);
  benchmark::RegisterBenchmark("EnsembleCombine", BM_EnsembleCombine);
  if (fixture->cues != nullptr) {
    for (const auto& [name, text] : texts) {
      benchmark::RegisterBenchmark(("CueMatch/" + name).c_str(), BM_CueMatch,
                                   text);
    }
  }
  benchmark::RegisterBenchmark("ServerProtoPath", BM_ServerProtoPath);
  benchmark::RegisterBenchmark("AnalysisToJson", BM_AnalysisToJson);
}

}  // namespace
}  // namespace lantern::bench

int main(int argc, char** argv) {
  std::string model_dir = LANTERN_BENCH_MODEL_DIR;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    constexpr char kFlag[] = "--model_dir=";
    if (std::strncmp(argv[i], kFlag, sizeof(kFlag) - 1) == 0) {
      model_dir = argv[i] + sizeof(kFlag) - 1;
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;
  if (lantern::bench::Setup(model_dir) != 0) return 1;
  lantern::bench::Register();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::fflush(stdout);
  // Skip static destruction of torch's libraries (about 1.5 s).
  std::_Exit(0);
}
