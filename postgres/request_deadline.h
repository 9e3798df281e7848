#ifndef PLANTMON_POSTGRES_REQUEST_DEADLINE_H_
#define PLANTMON_POSTGRES_REQUEST_DEADLINE_H_

// The deadline of the call a thread is serving. The gRPC handlers set it
// (the server runs each call on one thread); storage reads it to bound the
// wait for a pooled connection and, through statement_timeout, the time
// PostgreSQL spends on the call's statements, so that an abandoned call's
// query is cancelled on the server instead of running on.

#include "absl/time/time.h"

namespace plantmon::postgres {

class ScopedRequestDeadline {
 public:
  explicit ScopedRequestDeadline(absl::Time deadline);
  ~ScopedRequestDeadline();
  ScopedRequestDeadline(const ScopedRequestDeadline&) = delete;
  ScopedRequestDeadline& operator=(const ScopedRequestDeadline&) = delete;

  // The innermost deadline set on this thread; InfiniteFuture when none.
  static absl::Time Current();

 private:
  absl::Time previous_;
};

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_REQUEST_DEADLINE_H_
