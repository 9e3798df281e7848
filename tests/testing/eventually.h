#ifndef PLANTMON_TESTS_TESTING_EVENTUALLY_H_
#define PLANTMON_TESTS_TESTING_EVENTUALLY_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace plantmon::testing {

// True once `done` holds, polling every 50 ms for at most `timeout`: for
// what a background thread (the sweeper, the webhook deliverer) does.
inline bool Eventually(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

}  // namespace plantmon::testing

#endif  // PLANTMON_TESTS_TESTING_EVENTUALLY_H_
