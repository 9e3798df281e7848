#ifndef PLANTMON_SERVICES_AUTH_CREDENTIAL_CACHE_H_
#define PLANTMON_SERVICES_AUTH_CREDENTIAL_CACHE_H_

// Verified credentials kept in memory for a short time, so that a warm
// authenticated call does not look its token up in PostgreSQL.
//
// Safe only while every change to a credential reaches it at once: migration
// 0008 announces logouts, revoked keys and account changes on the
// `plantmon_credentials` channel, the server's listener forwards them here
// (Forget), and while the listener is not connected the cache is off
// (SetTrusted(false)), since changes made meanwhile would be missed. Entries
// also lapse after `ttl` and at the token's own expiry.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "services/auth/caller.h"

namespace plantmon::auth {

class CredentialCache {
 public:
  CredentialCache(size_t max_entries, absl::Duration ttl) : max_entries_(max_entries), ttl_(ttl) {}

  // A lookup's ticket: Put() stores only if nothing was forgotten since, so a
  // revocation that lands while the database is being read is never undone.
  uint64_t generation() const;

  std::optional<Caller> Find(const std::string& token_sha256, absl::Time now) const;
  void Put(uint64_t generation, const std::string& token_sha256, const Caller& caller,
           absl::Time expires_at, absl::Time now);

  // Drops every entry that depends on the account, session or key `id`.
  void Forget(CredentialKind kind, int64_t id);
  // Empties the cache; untrusted, it also stores nothing until trusted again.
  void SetTrusted(bool trusted);

  size_t size() const;

 private:
  struct Entry {
    Caller caller;
    absl::Time valid_until;
  };
  const size_t max_entries_;
  const absl::Duration ttl_;
  mutable std::mutex mu_;  // std::mutex rather than absl::Mutex: see common/sync.h.
  absl::flat_hash_map<std::string, Entry> entries_;  // guarded by mu_
  uint64_t generation_ = 0;                          // guarded by mu_
  bool trusted_ = false;                             // guarded by mu_
};

}  // namespace plantmon::auth

#endif  // PLANTMON_SERVICES_AUTH_CREDENTIAL_CACHE_H_
