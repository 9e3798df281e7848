#ifndef PLANTMON_SERVICES_AUTH_CALLER_H_
#define PLANTMON_SERVICES_AUTH_CALLER_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "plantmon/v1/user.pb.h"

namespace plantmon::auth {

// What a credential change names (migration 0008's announcements).
enum class CredentialKind { kUser, kSession, kApiKey };

// Who is calling: the account, and the session or API key that proved it.
struct Caller {
  v1::User user;
  std::string password_hash;  // empty for an API key
  int64_t session_id = 0;     // 0 for an API key
  int64_t api_key_id = 0;     // 0 for a login session
  // When the login session ends by itself; never for an API key.
  absl::Time expires_at = absl::InfiniteFuture();

  int64_t user_id() const { return user.id(); }
  bool is_admin() const { return user.is_admin(); }
  // True when this caller's proof depends on the account, session or key `id`.
  bool Uses(CredentialKind kind, int64_t id) const {
    switch (kind) {
      case CredentialKind::kUser:
        return user_id() == id;
      case CredentialKind::kSession:
        return session_id == id;
      case CredentialKind::kApiKey:
        return api_key_id == id;
    }
    return false;
  }
};

}  // namespace plantmon::auth

#endif  // PLANTMON_SERVICES_AUTH_CALLER_H_
