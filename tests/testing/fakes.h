// Fakes for unit tests of one layer: a model backend and a tokenizer that
// need no files, plus a writer for a model directory of spec files.
#ifndef LANTERN_TESTS_TESTING_FAKES_H_
#define LANTERN_TESTS_TESTING_FAKES_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "core/engine.h"
#include "core/model_backend.h"
#include "core/tokenizer.h"

namespace lantern::testing {

// Counters and switches shared by every FakeBackend one loader creates.
struct FakeModelState {
  // Logits every forward pass returns.
  std::vector<float> logits;
  // When set, every Forward call fails with Internal, warm-up passes
  // included: set it after warm-up to fail served calls.
  std::atomic<bool> fail{false};
  std::atomic<int> instances{0};      // backends alive now
  std::atomic<int> forward_calls{0};  // all Forward calls, warm-up included
  std::atomic<int> max_concurrent{0};
  std::atomic<int> concurrent{0};
  // Sequence length, row count and ids of every Forward call, in order
  // (read after the test's calls finish).
  std::vector<int64_t> lengths;
  std::vector<int> batch_sizes;
  std::vector<std::vector<int64_t>> rows;
  std::mutex lengths_mu;
  // When set, each row's first logit is increased by its number of ids, so
  // tests can tell which answer belongs to which row.
  bool logits_follow_length = false;
  // When non-null, Forward waits for it (to let requests pile up);
  // `at_gate` counts the calls waiting there.
  absl::Notification* gate = nullptr;
  std::atomic<int> at_gate{0};
  // Each Forward call after warm-up sleeps this long (to keep calls in
  // flight for drain tests).
  std::atomic<int> forward_delay_ms{0};
  // When non-null, loading blocks until it is notified.
  absl::Notification* block_load = nullptr;
  // When set, loading fails with this status.
  absl::Status load_error;
};

class FakeBackend final : public core::ModelBackend {
 public:
  explicit FakeBackend(std::shared_ptr<FakeModelState> state);
  ~FakeBackend() override;
  absl::StatusOr<std::vector<std::vector<float>>> Forward(
      const std::vector<std::vector<int64_t>>& rows, int64_t length,
      int64_t pad_id) override;

 private:
  std::shared_ptr<FakeModelState> state_;
};

// A loader that maps each model file path to its FakeModelState.
core::BackendLoader FakeLoader(
    std::map<std::string, std::shared_ptr<FakeModelState>> states);

// Splits on spaces and maps each word to 10 + (length of word): enough to
// give Forward a deterministic, length-dependent input.
class FakeTokenizer final : public core::Tokenizer {
 public:
  absl::StatusOr<std::vector<int64_t>> Encode(
      absl::string_view normalized_text) const override;
};

// One model of a fake model directory.
struct FakeModelSpec {
  std::string name;
  std::vector<std::pair<std::string, float>> labels;  // name, risk
  float weight = 1.0f;
  int max_tokens = 16;
  int handles = 0;
};

// Writes ensemble.json and <name>/model.json for `models` under a fresh
// temporary folder and returns the folder. Thresholds: 0.2/0.4/0.6/0.8.
std::string WriteModelDir(const std::vector<FakeModelSpec>& models);

// EngineDeps with FakeLoader(states) and FakeTokenizer.
core::EngineDeps FakeDeps(
    const std::string& model_dir,
    std::map<std::string, std::shared_ptr<FakeModelState>> states_by_name);

}  // namespace lantern::testing

#endif  // LANTERN_TESTS_TESTING_FAKES_H_
