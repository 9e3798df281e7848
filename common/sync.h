#ifndef PLANTMON_COMMON_SYNC_H_
#define PLANTMON_COMMON_SYNC_H_

// Locking for our own threads, on the C++ standard library rather than
// absl::Mutex.
//
// Why: Debian's Abseil is built without ThreadSanitizer, and absl::Mutex waits
// on futexes directly, so a TSan build cannot see its lock and unlock and
// reports every datum it guards as a race. std::mutex and
// std::condition_variable go through pthreads, which TSan intercepts, so
// `bazel test --config=tsan` checks our locking for real. The lowest layer
// (storage/) holds this so services/ can share it.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace plantmon::common {

// Waits on `cv` (whose mutex `lock` holds) until `ready()` is true or
// `deadline` passes; returns ready(). absl::InfiniteFuture() waits for good.
template <typename Predicate>
bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, absl::Time deadline,
               Predicate ready) {
  while (!ready()) {
    const absl::Duration remaining = deadline - absl::Now();
    if (remaining <= absl::ZeroDuration()) return ready();
    // Bounded steps keep the chrono arithmetic far from overflow for an
    // infinite deadline; a spurious wake-up just loops.
    cv.wait_for(lock, absl::ToChronoNanoseconds(std::min(remaining, absl::Hours(1))));
  }
  return true;
}

// A one-shot event: Notify() once, any number of threads wait for it.
class Notification {
 public:
  void Notify() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      notified_ = true;
    }
    cv_.notify_all();
  }

  bool HasBeenNotified() const {
    std::lock_guard<std::mutex> lock(mu_);
    return notified_;
  }

  // True if notified within `timeout`.
  bool WaitForNotificationWithTimeout(absl::Duration timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return WaitUntil(cv_, lock, absl::Now() + timeout, [this] { return notified_; });
  }

  void WaitForNotification() const { WaitForNotificationWithTimeout(absl::InfiniteDuration()); }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool notified_ = false;
};

}  // namespace plantmon::common

#endif  // PLANTMON_COMMON_SYNC_H_
