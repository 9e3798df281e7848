#include "services/auth/credential_cache.h"

#include <algorithm>

namespace plantmon::auth {

uint64_t CredentialCache::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

std::optional<Caller> CredentialCache::Find(const std::string& token_sha256, absl::Time now) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!trusted_) return std::nullopt;
  auto it = entries_.find(token_sha256);
  if (it == entries_.end() || it->second.valid_until <= now) return std::nullopt;
  return it->second.caller;
}

void CredentialCache::Put(uint64_t generation, const std::string& token_sha256,
                          const Caller& caller, absl::Time expires_at, absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!trusted_ || generation != generation_) return;
  if (entries_.size() >= max_entries_) {
    // Full: drop what has lapsed, and if that frees nothing, everything (a
    // miss costs one lookup; a bound that holds costs nothing more).
    absl::erase_if(entries_, [now](const auto& entry) { return entry.second.valid_until <= now; });
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[token_sha256] = Entry{caller, std::min(expires_at, now + ttl_)};
}

void CredentialCache::Forget(CredentialKind kind, int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  absl::erase_if(entries_,
                 [kind, id](const auto& entry) { return entry.second.caller.Uses(kind, id); });
}

void CredentialCache::SetTrusted(bool trusted) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  entries_.clear();
  trusted_ = trusted;
}

size_t CredentialCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace plantmon::auth
