#include "postgres/request_deadline.h"

namespace plantmon::postgres {
namespace {

thread_local absl::Time current_deadline = absl::InfiniteFuture();

}  // namespace

ScopedRequestDeadline::ScopedRequestDeadline(absl::Time deadline) : previous_(current_deadline) {
  current_deadline = std::min(previous_, deadline);
}

ScopedRequestDeadline::~ScopedRequestDeadline() { current_deadline = previous_; }

absl::Time ScopedRequestDeadline::Current() { return current_deadline; }

}  // namespace plantmon::postgres
