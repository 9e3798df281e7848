#ifndef PLANTMON_SERVICES_AUTH_AUTHENTICATOR_H_
#define PLANTMON_SERVICES_AUTH_AUTHENTICATOR_H_

#include <grpcpp/server_context.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/auth/caller.h"
#include "services/auth/credential_cache.h"
#include "storage/api_key_repository.h"
#include "storage/models.h"
#include "storage/user_repository.h"

namespace plantmon::auth {

struct IssuedToken {
  std::string access_token;
  absl::Time expires_at;
};

// Access tokens: 256 random bits, sent as `authorization: Bearer <token>`.
// Only their SHA-256 is stored (user_sessions).
class Authenticator {
 public:
  Authenticator(storage::UserRepository& users, storage::ApiKeyRepository& api_keys,
                absl::Duration token_lifetime)
      : users_(users), api_keys_(api_keys), token_lifetime_(token_lifetime) {}

  // Verified credentials, looked up before the database (off until the
  // server's listener says it hears credential changes).
  CredentialCache& cache() { return cache_; }

  // UNAUTHENTICATED (one message for every cause, so that callers learn
  // nothing about tokens they do not hold) unless the call carries a valid,
  // unexpired, unrevoked login token of an active user. An API key is
  // PERMISSION_DENIED here: keys only upload readings.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context);

  // Like Authenticate, but an active API key of an active user is accepted
  // too (the ingestion methods).
  absl::StatusOr<Caller> AuthenticateForIngestion(const grpc::ServerContextBase& context);

  // The same for a call's `authorization` header kept beyond the call's
  // context (an open stream's credential is verified again when it
  // changes). "" when the call had none.
  static std::string AuthorizationOf(const grpc::ServerContextBase& context);
  absl::StatusOr<Caller> AuthenticateHeader(absl::string_view authorization, bool allow_api_key);

  // The answer Authenticate (or, with `allow_api_key`,
  // AuthenticateForIngestion) would give, when it needs no database: a
  // header that is no credential, or one the cache holds. nullopt when only
  // the database can tell.
  std::optional<absl::StatusOr<Caller>> AuthenticateWithoutDatabase(
      const grpc::ServerContextBase& context, bool allow_api_key);

  // Starts a session for `user_id`.
  absl::StatusOr<IssuedToken> IssueToken(int64_t user_id);

 private:
  storage::UserRepository& users_;
  storage::ApiKeyRepository& api_keys_;
  const absl::Duration token_lifetime_;
  // 30 s: an entry is refreshed (and an API key's last_used_at written) at
  // most that often; revocations do not wait for it, they are pushed.
  CredentialCache cache_{/*max_entries=*/10000, /*ttl=*/absl::Seconds(30)};
};

// 32 bytes from the OpenSSL CSPRNG, base64url without padding (43 chars).
absl::StatusOr<std::string> NewRandomToken();

// API key secrets carry this prefix, so the server tells them from tokens.
inline constexpr absl::string_view kApiKeyPrefix = "pmk_";

// A new API key: the secret (shown to its owner once), the prefix kept to
// recognise it ("pmk_" and eight characters of the secret), and the SHA-256
// of the secret, which is all that is stored. UserService.CreateApiKey and
// `plantmon_db api-key` both mint keys here.
struct MintedApiKey {
  std::string secret;
  std::string prefix;
  std::string secret_sha256;
};
absl::StatusOr<MintedApiKey> MintApiKey();

}  // namespace plantmon::auth

#endif  // PLANTMON_SERVICES_AUTH_AUTHENTICATOR_H_
