#ifndef PLANTMON_SERVICES_AUTH_AUTHENTICATOR_H_
#define PLANTMON_SERVICES_AUTH_AUTHENTICATOR_H_

#include <cstdint>
#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/models.h"
#include "storage/user_repository.h"

namespace plantmon::auth {

// Who is calling: the account and the session of the access token.
struct Caller {
  storage::User user;
  int64_t session_id = 0;

  int64_t user_id() const { return user.id; }
  bool is_admin() const { return user.is_admin; }
};

struct IssuedToken {
  std::string access_token;
  absl::Time expires_at;
};

// Access tokens: 256 random bits, sent as `authorization: Bearer <token>`.
// Only their SHA-256 is stored (user_sessions).
class Authenticator {
 public:
  Authenticator(storage::UserRepository& users, absl::Duration token_lifetime)
      : users_(users), token_lifetime_(token_lifetime) {}

  // UNAUTHENTICATED (one message for every cause, so that callers learn
  // nothing about tokens they do not hold) unless the call carries a valid,
  // unexpired, unrevoked token of an active user.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContext& context);

  // Starts a session for `user_id`.
  absl::StatusOr<IssuedToken> IssueToken(int64_t user_id);

 private:
  storage::UserRepository& users_;
  const absl::Duration token_lifetime_;
};

// 32 bytes from the OpenSSL CSPRNG, base64url without padding (43 chars).
absl::StatusOr<std::string> NewRandomToken();

}  // namespace plantmon::auth

#endif  // PLANTMON_SERVICES_AUTH_AUTHENTICATOR_H_
