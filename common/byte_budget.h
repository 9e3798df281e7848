#ifndef PLANTMON_COMMON_BYTE_BUDGET_H_
#define PLANTMON_COMMON_BYTE_BUDGET_H_

// Bytes held on behalf of callers, bounded in all and per key (for the
// server, a client connection). A reservation either fits both bounds or is
// refused whole; it is returned with Release.

#include <cstdint>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace plantmon::common {

class ByteBudget {
 public:
  ByteBudget(int64_t total_limit, int64_t per_key_limit)
      : total_limit_(total_limit), per_key_limit_(per_key_limit) {}

  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  int64_t total_limit() const { return total_limit_; }
  int64_t per_key_limit() const { return per_key_limit_; }

  // Reserves `bytes` for `key`; false (and nothing reserved) when that would
  // take the key or the whole past its limit.
  bool TryReserve(absl::string_view key, int64_t bytes);
  // Gives back what TryReserve(key, bytes) took.
  void Release(absl::string_view key, int64_t bytes);

  int64_t total() const;
  int64_t held_by(absl::string_view key) const;

 private:
  const int64_t total_limit_;
  const int64_t per_key_limit_;
  mutable std::mutex mu_;
  int64_t total_ = 0;                               // guarded by mu_
  absl::flat_hash_map<std::string, int64_t> held_;  // guarded by mu_; no zero entries
};

}  // namespace plantmon::common

#endif  // PLANTMON_COMMON_BYTE_BUDGET_H_
