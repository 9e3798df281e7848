#include "services/auth/login_throttle.h"

#include "absl/strings/str_cat.h"

namespace plantmon::auth {
absl::Status LoginThrottle::Check(const std::string& login, absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(login);
  if (it == entries_.end() || it->second.locked_until <= now) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "too many failed logins for this name; try again in ",
      absl::ToInt64Seconds(absl::Ceil(it->second.locked_until - now, absl::Seconds(1))), " s"));
}

void LoginThrottle::RecordFailure(const std::string& login, absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  EvictIfFull(now);
  Entry& entry = entries_[login];
  if (entry.failures == 0 || now - entry.first_failure > options_.window) {
    entry.failures = 0;
    entry.first_failure = now;
  }
  if (++entry.failures >= options_.max_failures) {
    entry.locked_until = now + options_.lockout;
    entry.failures = 0;
  }
}

void LoginThrottle::RecordSuccess(const std::string& login) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(login);
}

void LoginThrottle::EvictIfFull(absl::Time now) {
  if (entries_.size() < options_.max_tracked) return;
  // Drop what no longer matters; if everything still does, start over
  // rather than grow without bound.
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& entry = it->second;
    bool stale = entry.locked_until <= now && now - entry.first_failure > options_.window;
    if (stale) {
      entries_.erase(it++);
    } else {
      ++it;
    }
  }
  if (entries_.size() >= options_.max_tracked) entries_.clear();
}

}  // namespace plantmon::auth
