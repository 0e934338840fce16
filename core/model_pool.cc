#include "core/model_pool.h"

#include "absl/strings/str_cat.h"

namespace lantern::core {

ModelPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), model_(other.model_), backend_(other.backend_) {
  other.pool_ = nullptr;
}

ModelPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->Release(model_, backend_);
}

ModelPool::~ModelPool() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* leases) { return *leases == 0; }, &leases_));
}

int ModelPool::AddModel(std::string name,
                        std::vector<std::unique_ptr<ModelBackend>> handles) {
  auto entry = std::make_unique<Entry>();
  entry->name = std::move(name);
  for (auto& handle : handles) entry->free.push_back(handle.get());
  entry->handles = std::move(handles);
  absl::MutexLock lock(&mu_);
  models_.push_back(std::move(entry));
  return static_cast<int>(models_.size()) - 1;
}

absl::StatusOr<ModelPool::Lease> ModelPool::Acquire(int model,
                                                    absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  if (model < 0 || model >= static_cast<int>(models_.size())) {
    return absl::NotFoundError(absl::StrCat("no model with index ", model));
  }
  Entry* entry = models_[model].get();
  const bool available = mu_.AwaitWithDeadline(
      absl::Condition(
          +[](Entry* e) { return !e->free.empty(); }, entry),
      deadline);
  if (!available) {
    return absl::DeadlineExceededError(absl::StrCat(
        "deadline passed while waiting for a free handle of model '",
        entry->name, "'"));
  }
  ModelBackend* backend = entry->free.back();
  entry->free.pop_back();
  ++leases_;
  return Lease(this, model, backend);
}

void ModelPool::Release(int model, ModelBackend* backend) {
  absl::MutexLock lock(&mu_);
  models_[model]->free.push_back(backend);
  --leases_;
}

int ModelPool::num_models() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(models_.size());
}

int ModelPool::handles(int model) const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(models_.at(model)->handles.size());
}

int ModelPool::in_use(int model) const {
  absl::MutexLock lock(&mu_);
  const Entry& e = *models_.at(model);
  return static_cast<int>(e.handles.size() - e.free.size());
}

}  // namespace lantern::core
