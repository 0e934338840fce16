// Warm model handles, leased one request at a time.
//
// Each model has a fixed set of handles (loaded ModelBackends). A
// request Acquire()s a Lease on one handle, runs Forward, and the Lease's
// destructor returns the handle. Leases are short-lived: never keep one
// beyond one request. Destroying the pool waits until every lease is back.
//
// Thread-safe.
#ifndef LANTERN_CORE_MODEL_POOL_H_
#define LANTERN_CORE_MODEL_POOL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/model_backend.h"

namespace lantern::core {

class ModelPool {
 public:
  // Exclusive use of one handle until destroyed. Move-only.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    ModelBackend& backend() const { return *backend_; }

   private:
    friend class ModelPool;
    Lease(ModelPool* pool, int model, ModelBackend* backend)
        : pool_(pool), model_(model), backend_(backend) {}
    ModelPool* pool_;
    int model_;
    ModelBackend* backend_;
  };

  ModelPool() = default;
  ModelPool(const ModelPool&) = delete;
  ModelPool& operator=(const ModelPool&) = delete;
  ~ModelPool();

  // Adds a model with its loaded handles; returns its index, which
  // counts up from 0 in the order of the calls. `handles` must not be empty.
  int AddModel(std::string name,
               std::vector<std::unique_ptr<ModelBackend>> handles);

  // Waits for a free handle of `model`. NotFound for an unknown index;
  // DeadlineExceeded if none is free by `deadline`.
  absl::StatusOr<Lease> Acquire(int model, absl::Time deadline);

  int num_models() const;
  int handles(int model) const;
  int in_use(int model) const;

 private:
  struct Entry {
    std::string name;
    std::vector<std::unique_ptr<ModelBackend>> handles;
    std::vector<ModelBackend*> free;
  };
  void Release(int model, ModelBackend* backend);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Entry>> models_ ABSL_GUARDED_BY(mu_);
  int leases_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace lantern::core

#endif  // LANTERN_CORE_MODEL_POOL_H_
