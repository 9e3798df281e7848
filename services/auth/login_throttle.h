#ifndef PLANTMON_SERVICES_AUTH_LOGIN_THROTTLE_H_
#define PLANTMON_SERVICES_AUTH_LOGIN_THROTTLE_H_

#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace plantmon::auth {

// Slows password guessing: after `max_failures` failed logins for one login
// name within `window`, that name is locked for `lockout` (every attempt,
// right or wrong, is refused with RESOURCE_EXHAUSTED). Names are tracked
// whether or not an account has them, so the answers never tell an unknown
// user from a wrong password. Per server process; memory is bounded. Keys
// are compared as given: callers pass names as they compare (the user
// service case-folds them).
class LoginThrottle {
 public:
  struct Options {
    int max_failures = 5;
    absl::Duration window = absl::Minutes(15);
    absl::Duration lockout = absl::Minutes(1);
    size_t max_tracked = 100000;
  };

  LoginThrottle() : LoginThrottle(Options()) {}
  explicit LoginThrottle(Options options) : options_(options) {}

  // RESOURCE_EXHAUSTED while `login` is locked.
  absl::Status Check(const std::string& login, absl::Time now);
  void RecordFailure(const std::string& login, absl::Time now);
  void RecordSuccess(const std::string& login);

 private:
  struct Entry {
    int failures = 0;
    absl::Time first_failure;
    absl::Time locked_until = absl::InfinitePast();
  };
  void EvictIfFull(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  std::mutex mu_;  // std::mutex rather than absl::Mutex: see common/sync.h.
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace plantmon::auth

#endif  // PLANTMON_SERVICES_AUTH_LOGIN_THROTTLE_H_
