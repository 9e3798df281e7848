#ifndef PLANTMON_SERVICES_AUTH_PASSWORD_HASHER_H_
#define PLANTMON_SERVICES_AUTH_PASSWORD_HASHER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace plantmon::auth {

// bcrypt ($2b$) through libxcrypt. Cost 12 by default; never below 10.
class PasswordHasher {
 public:
  static constexpr int kDefaultCost = 12;
  static constexpr int kMinimumCost = 10;
  static constexpr int kMaximumCost = 31;
  // bcrypt reads at most 72 bytes; longer passwords would be silently cut.
  static constexpr size_t kMinimumLength = 8;
  static constexpr size_t kMaximumLength = 72;

  // INVALID_ARGUMENT for a cost outside [kMinimumCost, kMaximumCost].
  static absl::StatusOr<PasswordHasher> Create(int cost = kDefaultCost);

  // INVALID_ARGUMENT naming the rule for a password that is too short, too
  // long or contains a NUL byte.
  static absl::Status ValidatePassword(absl::string_view password);

  // A salted bcrypt hash of `password` (validated first).
  absl::StatusOr<std::string> Hash(absl::string_view password) const;

  // True if `password` matches `hash`. The bcrypt computation takes the same
  // time whatever the input, and the final comparison is constant-time.
  static bool Verify(absl::string_view password, const std::string& hash);

  int cost() const { return cost_; }

  // True when `hash` was made at another cost than this hasher's (or is not
  // a bcrypt hash it can read): a successful login then stores a new hash, so
  // that every account's cost converges to the configured one, and with it
  // the time a login takes (a login naming no account costs a hash at the
  // configured cost).
  bool NeedsRehash(absl::string_view hash) const;

 private:
  explicit PasswordHasher(int cost) : cost_(cost) {}
  int cost_;
};

}  // namespace plantmon::auth

#endif  // PLANTMON_SERVICES_AUTH_PASSWORD_HASHER_H_
