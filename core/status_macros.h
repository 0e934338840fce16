// Early-return helpers for absl::Status / absl::StatusOr. abseil 20220623
// ships neither RETURN_IF_ERROR nor ASSIGN_OR_RETURN, so they live here.
#ifndef LANTERN_CORE_STATUS_MACROS_H_
#define LANTERN_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the status of `expr` from the enclosing function unless it is OK.
#define LANTERN_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status lantern_status_ = (expr);           \
    if (!lantern_status_.ok()) return lantern_status_; \
  } while (false)

#define LANTERN_STATUS_CONCAT_INNER_(a, b) a##b
#define LANTERN_STATUS_CONCAT_(a, b) LANTERN_STATUS_CONCAT_INNER_(a, b)

// `LANTERN_ASSIGN_OR_RETURN(auto x, Foo());` declares `x` from Foo()'s value
// or returns Foo()'s error status.
#define LANTERN_ASSIGN_OR_RETURN(lhs, rexpr) \
  LANTERN_ASSIGN_OR_RETURN_IMPL_(            \
      LANTERN_STATUS_CONCAT_(lantern_statusor_, __LINE__), lhs, rexpr)

#define LANTERN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return statusor.status();              \
  lhs = std::move(statusor).value()

#endif  // LANTERN_CORE_STATUS_MACROS_H_
