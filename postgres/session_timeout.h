#ifndef PLANTMON_POSTGRES_SESSION_TIMEOUT_H_
#define PLANTMON_POSTGRES_SESSION_TIMEOUT_H_

// Rules shared by the pooled reads (transaction.h) and the pipelined ones
// (pipelined_reader.h): the session statement_timeout a read's deadline needs,
// and the name a statement is prepared under.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace plantmon::postgres {

// The session statement_timeout (ms, 0 for none) to set before a statement
// that must end by `deadline`, or nullopt to keep `current_ms`. The setting
// is kept while it lies between what the deadline needs and twice that (a
// statement may then outlive its call's deadline by as much again, never
// more), and is otherwise the need rounded up to a power of two
// milliseconds, so that a steady stream of calls rarely needs a SET.
inline std::optional<int64_t> SessionTimeoutFor(int64_t current_ms, absl::Time deadline,
                                                absl::Time now) {
  if (deadline == absl::InfiniteFuture()) {
    if (current_ms == 0) return std::nullopt;
    return 0;
  }
  const int64_t needed = std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - now));
  if (current_ms >= needed && current_ms <= 2 * needed) return std::nullopt;
  int64_t rounded = 1;
  while (rounded < needed) rounded *= 2;
  return rounded;
}

// A statement's name as a prepared statement of a connection: from its text,
// which is fixed (values travel as parameters).
inline std::string PreparedStatementName(const std::string& sql) {
  return "plantmon_" + std::to_string(std::hash<std::string>{}(sql));
}

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_SESSION_TIMEOUT_H_
