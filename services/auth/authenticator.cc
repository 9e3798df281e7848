#include "services/auth/authenticator.h"

#include <openssl/rand.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/sha256.h"

namespace plantmon::auth {
namespace {

constexpr size_t kTokenBytes = 32;
constexpr size_t kMaxTokenLength = 128;

absl::Status Unauthenticated() {
  return absl::UnauthenticatedError(
      "a valid access token is required: send `authorization: Bearer <token>` "
      "from UserService.Login");
}

// The header's value; valid while the call's context is.
absl::string_view AuthorizationView(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

// The token of a `Bearer <token>` header, or nullopt when there is none.
std::optional<absl::string_view> BearerToken(absl::string_view authorization) {
  absl::string_view value = absl::StripAsciiWhitespace(authorization);
  if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
    return std::nullopt;
  }
  absl::string_view token = absl::StripAsciiWhitespace(value.substr(7));
  if (token.empty() || token.size() > kMaxTokenLength) return std::nullopt;
  return token;
}

absl::StatusOr<Caller> Permitted(const Caller& caller, bool allow_api_key) {
  if (caller.api_key_id != 0 && !allow_api_key) {
    return absl::PermissionDeniedError(
        "API keys can only upload readings; log in for everything else");
  }
  return caller;
}

}  // namespace

absl::StatusOr<std::string> NewRandomToken() {
  unsigned char bytes[kTokenBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("cannot draw random bytes for a token");
  }
  std::string token;
  absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)),
                            &token);
  return token;
}

absl::StatusOr<MintedApiKey> MintApiKey() {
  constexpr size_t kPrefixLength = 12;
  absl::StatusOr<std::string> random = NewRandomToken();
  if (!random.ok()) return random.status();
  MintedApiKey key;
  key.secret = absl::StrCat(kApiKeyPrefix, *random);
  key.prefix = key.secret.substr(0, kPrefixLength);
  key.secret_sha256 = common::Sha256(key.secret);
  return key;
}

absl::StatusOr<Caller> Authenticator::Authenticate(const grpc::ServerContextBase& context) {
  return AuthenticateHeader(AuthorizationView(context), /*allow_api_key=*/false);
}

absl::StatusOr<Caller> Authenticator::AuthenticateForIngestion(
    const grpc::ServerContextBase& context) {
  return AuthenticateHeader(AuthorizationView(context), /*allow_api_key=*/true);
}

std::string Authenticator::AuthorizationOf(const grpc::ServerContextBase& context) {
  return std::string(AuthorizationView(context));
}

std::optional<absl::StatusOr<Caller>> Authenticator::AuthenticateWithoutDatabase(
    const grpc::ServerContextBase& context, bool allow_api_key) {
  std::optional<absl::string_view> token = BearerToken(AuthorizationView(context));
  if (!token.has_value()) return Unauthenticated();
  if (std::optional<Caller> cached = cache_.Find(common::Sha256(*token), absl::Now())) {
    return Permitted(*cached, allow_api_key);
  }
  return std::nullopt;
}

absl::StatusOr<Caller> Authenticator::AuthenticateHeader(absl::string_view authorization,
                                                         bool allow_api_key) {
  std::optional<absl::string_view> token = BearerToken(authorization);
  if (!token.has_value()) return Unauthenticated();
  const bool is_api_key = absl::StartsWith(*token, kApiKeyPrefix);
  const std::string token_sha256 = common::Sha256(*token);
  const absl::Time now = absl::Now();
  if (std::optional<Caller> cached = cache_.Find(token_sha256, now)) {
    return Permitted(*cached, allow_api_key);
  }
  const uint64_t generation = cache_.generation();

  if (is_api_key) {
    absl::StatusOr<storage::ApiKey> key = api_keys_.FindActive(token_sha256);
    if (!key.ok()) {
      return key.status().code() == absl::StatusCode::kNotFound ? Unauthenticated() : key.status();
    }
    absl::StatusOr<v1::User> owner = users_.Get(key->user_id);
    if (!owner.ok() || !owner->is_active()) return Unauthenticated();
    Caller caller{*std::move(owner), "", 0, key->id};
    cache_.Put(generation, token_sha256, caller, absl::InfiniteFuture(), now);
    return Permitted(caller, allow_api_key);
  }

  absl::StatusOr<storage::SessionUser> found = users_.FindSession(token_sha256);
  if (!found.ok()) {
    if (found.status().code() == absl::StatusCode::kNotFound) {
      return Unauthenticated();
    }
    return found.status();  // e.g. UNAVAILABLE: not the caller's fault
  }
  Caller caller{std::move(found->account.user), std::move(found->account.password_hash),
                found->session.id, 0, found->session.expires_at};
  cache_.Put(generation, token_sha256, caller, found->session.expires_at, now);
  return caller;
}

absl::StatusOr<IssuedToken> Authenticator::IssueToken(int64_t user_id) {
  absl::StatusOr<std::string> token = NewRandomToken();
  if (!token.ok()) return token.status();
  absl::Time expires_at = absl::Now() + token_lifetime_;
  absl::StatusOr<storage::Session> session =
      users_.CreateSession(user_id, common::Sha256(*token), expires_at);
  if (!session.ok()) return session.status();
  // The database keeps microseconds; report what it stored.
  return IssuedToken{*std::move(token), absl::FromUnixMicros(absl::ToUnixMicros(expires_at))};
}

}  // namespace plantmon::auth
