#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/unicode_text.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "services/auth/login_throttle.h"
#include "services/auth/password_hasher.h"
#include "services/handler.h"
#include "services/pagination.h"
#include "services/plantmon_services.h"
#include "services/proto_mapping.h"
#include "services/status_macros.h"
#include "services/validation.h"

namespace plantmon::services {
namespace {

absl::Status CheckUsername(const std::string& username) {
  RETURN_IF_ERROR(CheckText(username, "user.username", 100, true));
  // '@' tells emails from usernames at login.
  if (username.find_first_of("@ \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError("user.username must not contain '@' or spaces");
  }
  RETURN_IF_ERROR(CheckVisibleCharacters(username, "user.username"));
  return CheckSingleScript(username, "user.username");
}

// Emails and usernames as they are stored and compared: in NFC (docs/api.md).
// Checks then look at what is stored.
template <typename Fields>
absl::Status NormalizeIdentities(const Fields& paths, v1::User* user) {
  for (const auto& path : paths) {
    if (path == "email") {
      ASSIGN_OR_RETURN(*user->mutable_email(), NormalizeIdentity(user->email(), "user.email"));
    } else if (path == "username") {
      ASSIGN_OR_RETURN(*user->mutable_username(),
                       NormalizeIdentity(user->username(), "user.username"));
    }
  }
  return absl::OkStatus();
}

// The check of one field a create or an update writes; fields without one
// (is_active, is_verified: booleans) always pass.
absl::Status CheckUserField(const v1::User& user, const std::string& path) {
  if (path == "email") return CheckEmail(user.email(), "user.email");
  if (path == "username") return CheckUsername(user.username());
  if (path == "first_name") {
    return CheckOptionalText(user.has_first_name(), user.first_name(), "user.first_name", 100);
  }
  if (path == "last_name") {
    return CheckOptionalText(user.has_last_name(), user.last_name(), "user.last_name", 100);
  }
  if (path == "phone_number") {
    return CheckOptionalText(user.has_phone_number(), user.phone_number(), "user.phone_number", 20);
  }
  return absl::OkStatus();
}

// The login throttle's key for an account.
std::string AccountThrottleKey(int64_t user_id) { return absl::StrCat("account:", user_id); }

// Callers see their own account; administrators see all. Anyone else's id
// behaves as if it did not exist.
absl::Status CheckCanSee(const auth::Caller& caller, int64_t user_id) {
  if (caller.user_id() == user_id || caller.is_admin()) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat("user ", user_id, " not found"));
}

v1::ApiKey ApiKeyToProto(const storage::ApiKey& key) {
  v1::ApiKey out;
  out.set_id(key.id);
  out.set_name(key.name);
  out.set_key_prefix(key.key_prefix);
  SetTimestamp(key.created_at, out.mutable_created_at());
  if (key.last_used_at) SetTimestamp(*key.last_used_at, out.mutable_last_used_at());
  if (key.revoked_at) SetTimestamp(*key.revoked_at, out.mutable_revoked_at());
  return out;
}

// plantmon.v1.UserService: sign-up, sign-in, sessions, accounts and API keys.
class UserService final : public RpcService {
 public:
  UserService(Backends& backends, CallRuntime& runtime)
      : RpcService(v1::UserService::service_full_name(), runtime),
        users_(backends.users),
        api_keys_(backends.api_keys),
        authenticator_(backends.authenticator),
        hasher_(backends.hasher) {
    absl::StatusOr<std::string> decoy = hasher_.Hash("decoy-password-never-used");
    decoy_hash_ = decoy.ok() ? *decoy : "";
    AddAccountMethods();
    AddSessionMethods();
    AddApiKeyMethods();
  }

 private:
  void AddAccountMethods();
  void AddSessionMethods();
  void AddApiKeyMethods();

  storage::UserRepository& users_;
  storage::ApiKeyRepository& api_keys_;
  auth::Authenticator& authenticator_;
  const auth::PasswordHasher& hasher_;
  auth::LoginThrottle throttle_;
  // A hash to verify against when the login names no account, so that an
  // unknown login costs as much time as a wrong password.
  std::string decoy_hash_;
};

void UserService::AddAccountMethods() {
  Public(
      "CreateUser",
      [this](const v1::CreateUserRequest& request, v1::User* response) -> absl::Status {
        v1::User row = request.user();
        const std::vector<std::string>& fields = storage::UserRepository::UpdatableFields();
        RETURN_IF_ERROR(NormalizeIdentities(fields, &row));
        RETURN_IF_ERROR(CheckFields(row, fields, CheckUserField));
        RETURN_IF_ERROR(auth::PasswordHasher::ValidatePassword(request.password()));
        ASSIGN_OR_RETURN(std::string hash, hasher_.Hash(request.password()));
        // Sign-up decides neither: accounts start active and unverified.
        row.set_is_active(true);
        row.set_is_verified(false);
        return Respond(users_.Create(row, hash), response);
      },
      Work::kPasswordHashing);

  SignedIn("GetUser",
           [this](const auth::Caller& caller, const v1::GetUserRequest& request,
                  v1::User* response) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             RETURN_IF_ERROR(CheckCanSee(caller, request.id()));
             return Respond(users_.Get(request.id()), response);
           });

  SignedIn("ListUsers",
           [this](const auth::Caller& caller, const v1::ListUsersRequest& request,
                  v1::ListUsersResponse* response) -> absl::Status {
             QueryFingerprint query("ListUsers");
             query.AddOptional("is_active", request.has_is_active(), int64_t{request.is_active()});
             RETURN_IF_ERROR(RequireAdmin(caller));
             storage::UserFilter filter;
             if (request.has_is_active()) filter.is_active = request.is_active();
             return PageById(
                 query, request.page_size(), request.page_token(),
                 [&](const storage::PageRequest& page) { return users_.List(filter, page); },
                 [&](v1::User& user) { response->add_users()->Swap(&user); },
                 response->mutable_next_page_token());
           });

  SignedIn(
      "UpdateUser",
      [this](const auth::Caller& caller, const v1::UpdateUserRequest& request,
             v1::User* response) -> absl::Status {
        v1::User user = request.user();
        RETURN_IF_ERROR(CheckId(user.id(), "user.id"));
        ASSIGN_OR_RETURN(
            std::set<std::string> paths,
            CheckUpdateMask(request.update_mask(), storage::UserRepository::UpdatableFields()));
        // Only what the mask names is validated, as docs/api.md says: other
        // fields are ignored, whatever they hold.
        RETURN_IF_ERROR(NormalizeIdentities(paths, &user));
        RETURN_IF_ERROR(CheckFields(user, paths, CheckUserField));
        RETURN_IF_ERROR(CheckCanSee(caller, user.id()));
        if ((paths.count("is_active") || paths.count("is_verified")) && !caller.is_admin()) {
          return absl::PermissionDeniedError(
              "only administrators can change is_active or is_verified");
        }
        RETURN_IF_ERROR(Respond(users_.Update(user.id(), user, request.update_mask()), response));
        // This server forgets at once; the others when told (migration 0008).
        authenticator_.cache().Forget(auth::CredentialKind::kUser, user.id());
        return absl::OkStatus();
      });

  SignedIn("DeleteUser",
           [this](const auth::Caller& caller, const v1::DeleteUserRequest& request,
                  google::protobuf::Empty* /*response*/) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             RETURN_IF_ERROR(CheckCanSee(caller, request.id()));
             RETURN_IF_ERROR(users_.Delete(request.id()));
             authenticator_.cache().Forget(auth::CredentialKind::kUser, request.id());
             return absl::OkStatus();
           });
}

void UserService::AddSessionMethods() {
  Public(
      "Login",
      [this](const v1::LoginRequest& request, v1::LoginResponse* response) -> absl::Status {
        RETURN_IF_ERROR(CheckText(request.login(), "login", 255, true));
        RETURN_IF_ERROR(
            CheckText(request.password(), "password", auth::PasswordHasher::kMaximumLength, true));
        ASSIGN_OR_RETURN(const std::string login, NormalizeIdentity(request.login(), "login"));
        absl::Status rejected = absl::UnauthenticatedError("invalid login or password");
        absl::StatusOr<storage::UserRecord> account = users_.FindByLogin(login);
        if (!account.ok() && account.status().code() != absl::StatusCode::kNotFound) {
          return account.status();
        }
        // One count per account, whichever of its names (email, username)
        // the guesses use, and one per unknown name, compared as names are
        // (NFC, without regard to case: docs/api.md).
        const std::string throttled = account.ok()
                                          ? AccountThrottleKey(account->user.id())
                                          : absl::StrCat("name:", unicode::CaseFold(login));
        RETURN_IF_ERROR(throttle_.Check(throttled, absl::Now()));
        if (!account.ok()) {
          // Spend the same bcrypt time as for a real account.
          auth::PasswordHasher::Verify(request.password(), decoy_hash_);
          throttle_.RecordFailure(throttled, absl::Now());
          return rejected;
        }
        const v1::User& user = account->user;
        if (!auth::PasswordHasher::Verify(request.password(), account->password_hash) ||
            !user.is_active()) {
          throttle_.RecordFailure(throttled, absl::Now());
          return rejected;
        }
        throttle_.RecordSuccess(throttled);
        if (hasher_.NeedsRehash(account->password_hash)) {
          // Hashed at another cost (PLANTMON_BCRYPT_COST changed since): store
          // it at this one, as password libraries do. A failure only delays
          // that to the next login.
          absl::StatusOr<std::string> rehashed = hasher_.Hash(request.password());
          if (rehashed.ok()) users_.SetPasswordHash(user.id(), *rehashed).status().IgnoreError();
        }
        ASSIGN_OR_RETURN(auth::IssuedToken token, authenticator_.IssueToken(user.id()));
        RETURN_IF_ERROR(users_.RecordLogin(user.id()));
        ASSIGN_OR_RETURN(*response->mutable_user(), users_.Get(user.id()));
        response->set_access_token(token.access_token);
        SetTimestamp(token.expires_at, response->mutable_expires_at());
        return absl::OkStatus();
      },
      Work::kPasswordHashing);

  SignedIn("Logout",
           [this](const auth::Caller& caller, const v1::LogoutRequest& /*request*/,
                  google::protobuf::Empty* /*response*/) -> absl::Status {
             RETURN_IF_ERROR(users_.RevokeSession(caller.session_id));
             authenticator_.cache().Forget(auth::CredentialKind::kSession, caller.session_id);
             return absl::OkStatus();
           });

  SignedIn(
      "ChangePassword",
      [this](const auth::Caller& caller, const v1::ChangePasswordRequest& request,
             google::protobuf::Empty* /*response*/) -> absl::Status {
        RETURN_IF_ERROR(CheckText(request.current_password(), "current_password",
                                  auth::PasswordHasher::kMaximumLength, true));
        RETURN_IF_ERROR(auth::PasswordHasher::ValidatePassword(request.new_password()));
        // Guessing the current password with a stolen token counts against
        // the account as failed logins do.
        const std::string throttled = AccountThrottleKey(caller.user_id());
        RETURN_IF_ERROR(throttle_.Check(throttled, absl::Now()));
        if (!auth::PasswordHasher::Verify(request.current_password(), caller.password_hash)) {
          throttle_.RecordFailure(throttled, absl::Now());
          return absl::PermissionDeniedError("current_password is not correct");
        }
        throttle_.RecordSuccess(throttled);
        ASSIGN_OR_RETURN(std::string hash, hasher_.Hash(request.new_password()));
        RETURN_IF_ERROR(users_.SetPasswordHash(caller.user_id(), hash).status());
        RETURN_IF_ERROR(users_.RevokeOtherSessions(caller.user_id(), caller.session_id));
        authenticator_.cache().Forget(auth::CredentialKind::kUser, caller.user_id());
        return absl::OkStatus();
      },
      Work::kPasswordHashing);

  SignedIn("GetCurrentUser",
           [this](const auth::Caller& caller, const v1::GetCurrentUserRequest& /*request*/,
                  v1::User* response) -> absl::Status {
             *response = caller.user;
             return absl::OkStatus();
           });
}

// API keys are managed with a login session, never with another API key
// (SignedIn refuses keys).
void UserService::AddApiKeyMethods() {
  SignedIn("CreateApiKey",
           [this](const auth::Caller& caller, const v1::CreateApiKeyRequest& request,
                  v1::CreateApiKeyResponse* response) -> absl::Status {
             RETURN_IF_ERROR(CheckText(request.name(), "name", 100, true));
             ASSIGN_OR_RETURN(auth::MintedApiKey minted, auth::MintApiKey());
             ASSIGN_OR_RETURN(storage::ApiKey key,
                              api_keys_.Create(caller.user_id(), request.name(), minted.prefix,
                                               minted.secret_sha256));
             *response->mutable_api_key() = ApiKeyToProto(key);
             response->set_secret(minted.secret);
             return absl::OkStatus();
           });

  SignedIn(
      "ListApiKeys",
      [this](const auth::Caller& caller, const v1::ListApiKeysRequest& request,
             v1::ListApiKeysResponse* response) -> absl::Status {
        return PageById(
            QueryFingerprint("ListApiKeys"), request.page_size(), request.page_token(),
            [&](const storage::PageRequest& page) {
              return api_keys_.List(caller.user_id(), page);
            },
            [&](const storage::ApiKey& key) { *response->add_api_keys() = ApiKeyToProto(key); },
            response->mutable_next_page_token());
      });

  SignedIn("RevokeApiKey",
           [this](const auth::Caller& caller, const v1::RevokeApiKeyRequest& request,
                  v1::ApiKey* response) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             ASSIGN_OR_RETURN(storage::ApiKey key,
                              api_keys_.Revoke(caller.user_id(), request.id()));
             authenticator_.cache().Forget(auth::CredentialKind::kApiKey, key.id);
             *response = ApiKeyToProto(key);
             return absl::OkStatus();
           });
}

}  // namespace

std::unique_ptr<RpcService> NewUserService(Backends& backends, CallRuntime& runtime) {
  return std::make_unique<UserService>(backends, runtime);
}

}  // namespace plantmon::services
