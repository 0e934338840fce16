#include "tests/testing/fakes.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace lantern::testing {

FakeBackend::FakeBackend(std::shared_ptr<FakeModelState> state)
    : state_(std::move(state)) {
  state_->instances.fetch_add(1);
}

FakeBackend::~FakeBackend() { state_->instances.fetch_sub(1); }

absl::StatusOr<std::vector<std::vector<float>>> FakeBackend::Forward(
    const std::vector<std::vector<int64_t>>& rows, int64_t length,
    int64_t /*pad_id*/) {
  if (absl::Notification* gate = state_->gate; gate != nullptr) {
    state_->at_gate.fetch_add(1);
    gate->WaitForNotification();
    state_->at_gate.fetch_sub(1);
  }
  const int now = state_->concurrent.fetch_add(1) + 1;
  int seen = state_->max_concurrent.load();
  while (now > seen &&
         !state_->max_concurrent.compare_exchange_weak(seen, now)) {
  }
  state_->forward_calls.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(state_->lengths_mu);
    state_->lengths.push_back(length);
    state_->batch_sizes.push_back(static_cast<int>(rows.size()));
    state_->rows.insert(state_->rows.end(), rows.begin(), rows.end());
  }
  if (state_->forward_delay_ms.load() > 0) {
    absl::SleepFor(absl::Milliseconds(state_->forward_delay_ms.load()));
  }
  state_->concurrent.fetch_sub(1);
  std::vector<std::vector<float>> out;
  for (const auto& row : rows) {
    if (static_cast<int64_t>(row.size()) > length) {
      return absl::InternalError("more ids than the sequence length");
    }
    out.push_back(state_->logits);
    if (state_->logits_follow_length)
      out.back()[0] += static_cast<float>(row.size());
  }
  if (state_->fail.load()) return absl::InternalError("fake model failure");
  return out;
}

core::BackendLoader FakeLoader(
    std::map<std::string, std::shared_ptr<FakeModelState>> states) {
  return [states = std::move(states)](const std::string& path)
             -> absl::StatusOr<std::unique_ptr<core::ModelBackend>> {
    auto it = states.find(path);
    if (it == states.end()) {
      return absl::NotFoundError(absl::StrCat("no fake model for ", path));
    }
    if (it->second->block_load != nullptr) {
      it->second->block_load->WaitForNotification();
    }
    if (!it->second->load_error.ok()) return it->second->load_error;
    return std::make_unique<FakeBackend>(it->second);
  };
}

absl::StatusOr<std::vector<int64_t>> FakeTokenizer::Encode(
    absl::string_view normalized_text) const {
  std::vector<int64_t> ids;
  for (absl::string_view word :
       absl::StrSplit(normalized_text, ' ', absl::SkipEmpty())) {
    ids.push_back(10 + static_cast<int64_t>(word.size()));
  }
  return ids;
}

std::string WriteModelDir(const std::vector<FakeModelSpec>& models) {
  namespace fs = std::filesystem;
  static std::atomic<int> counter{0};
  const fs::path dir = fs::temp_directory_path() /
                       absl::StrCat("lantern_test_", getpid(), "_", counter++);
  fs::create_directories(dir);
  std::vector<std::string> names;
  for (const FakeModelSpec& m : models) {
    names.push_back(absl::StrCat("\"", m.name, "\""));
    std::vector<std::string> labels;
    for (const auto& [name, risk] : m.labels) {
      labels.push_back(
          absl::StrCat("{\"name\": \"", name, "\", \"risk\": ", risk, "}"));
    }
    fs::create_directories(dir / m.name);
    std::ofstream(dir / m.name / "model.json")
        << "{\"name\": \"" << m.name
        << "\", \"version\": \"7\", \"role\": \"test\","
        << " \"file\": \"model.pt\", \"tokenizer\": {\"type\": "
           "\"sentencepiece\","
        << " \"model\": \"../tok.model\", \"padId\": 0, \"bosId\": -1, "
           "\"eosId\": -1},"
        << " \"labels\": [" << absl::StrJoin(labels, ", ") << "],"
        << " \"maxTokens\": " << m.max_tokens << ", \"weight\": " << m.weight
        << ", \"handles\": " << m.handles << "}";
  }
  std::ofstream(dir / "ensemble.json")
      << "{\"version\": \"test-1\", \"models\": [" << absl::StrJoin(names, ", ")
      << "], \"thresholds\": {\"low\": 0.2, \"medium\": 0.4, \"high\": 0.6,"
      << " \"critical\": 0.8}}";
  return dir.string();
}

core::EngineDeps FakeDeps(
    const std::string& model_dir,
    std::map<std::string, std::shared_ptr<FakeModelState>> states_by_name) {
  std::map<std::string, std::shared_ptr<FakeModelState>> by_path;
  for (auto& [name, state] : states_by_name) {
    by_path[std::filesystem::weakly_canonical(std::filesystem::path(model_dir) /
                                              name / "model.pt")
                .string()] = state;
  }
  core::EngineDeps deps;
  deps.load_backend = FakeLoader(std::move(by_path));
  deps.load_tokenizer = [](const config::v1::TokenizerSpec&, const std::string&)
      -> absl::StatusOr<std::unique_ptr<core::Tokenizer>> {
    return std::make_unique<FakeTokenizer>();
  };
  return deps;
}

}  // namespace lantern::testing
