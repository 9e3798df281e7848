#include "common/byte_budget.h"

namespace plantmon::common {

bool ByteBudget::TryReserve(absl::string_view key, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (total_ + bytes > total_limit_) return false;
  auto it = held_.find(key);
  const int64_t held = it == held_.end() ? 0 : it->second;
  if (held + bytes > per_key_limit_) return false;
  total_ += bytes;
  if (it == held_.end()) {
    held_.emplace(key, bytes);
  } else {
    it->second += bytes;
  }
  return true;
}

void ByteBudget::Release(absl::string_view key, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  total_ -= bytes;
  auto it = held_.find(key);
  if (it == held_.end()) return;
  it->second -= bytes;
  // Keys are connections, which come and go: forget a key that holds
  // nothing, so the map stays as small as what is held.
  if (it->second <= 0) held_.erase(it);
}

int64_t ByteBudget::total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

int64_t ByteBudget::held_by(absl::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_.find(key);
  return it == held_.end() ? 0 : it->second;
}

}  // namespace plantmon::common
