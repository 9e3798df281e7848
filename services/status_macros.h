#ifndef PLANTMON_SERVICES_STATUS_MACROS_H_
#define PLANTMON_SERVICES_STATUS_MACROS_H_

// Early-return helpers for absl::Status / absl::StatusOr (Debian's Abseil
// 20220623 does not ship them).

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PLANTMON_STATUS_CONCAT_INNER(a, b) a##b
#define PLANTMON_STATUS_CONCAT(a, b) PLANTMON_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                            \
  do {                                                   \
    absl::Status plantmon_status_ = (expr);              \
    if (!plantmon_status_.ok()) return plantmon_status_; \
  } while (0)

// ASSIGN_OR_RETURN(auto value, StatusOrExpression());
// `lhs` is a declaration (auto value), so it cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL(PLANTMON_STATUS_CONCAT(plantmon_or_, __LINE__), lhs, rexpr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                          \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // PLANTMON_SERVICES_STATUS_MACROS_H_
