#ifndef PLANTMON_STORAGE_USER_REPOSITORY_H_
#define PLANTMON_STORAGE_USER_REPOSITORY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/field_mask.pb.h"
#include "plantmon/v1/user.pb.h"
#include "postgres/connection_pool_fwd.h"
#include "storage/models.h"

namespace plantmon::storage {

// A sign-in session; the token itself is never stored, only its SHA-256.
struct Session {
  int64_t id = 0;
  int64_t user_id = 0;
  absl::Time expires_at;
};

// A user with the password hash the API never shows.
struct UserRecord {
  v1::User user;
  std::string password_hash;
};

struct SessionUser {
  Session session;
  UserRecord account;
};

struct UserFilter {
  std::optional<bool> is_active;
};

// The `users` table. Errors: NOT_FOUND for a missing id, ALREADY_EXISTS for a
// taken email or username (message says which), UNAVAILABLE and friends from
// the pool.
class UserRepository {
 public:
  explicit UserRepository(postgres::ConnectionPool& pool) : pool_(pool) {}

  // Rows are v1::User messages (the column table is in user_repository.cc).
  // Create writes the writable fields of `user` and `password_hash`.
  absl::StatusOr<v1::User> Create(const v1::User& user, const std::string& password_hash);
  absl::StatusOr<v1::User> Get(int64_t id);
  // Finds a user by email or username (either one signs in).
  absl::StatusOr<UserRecord> FindByLogin(const std::string& email_or_username);
  absl::StatusOr<std::vector<v1::User>> List(const UserFilter& filter, const PageRequest& page);
  // Sets the fields `mask` names (writable ones, checked by the caller).
  absl::StatusOr<v1::User> Update(int64_t id, const v1::User& values,
                                  const google::protobuf::FieldMask& mask);
  absl::StatusOr<v1::User> SetPasswordHash(int64_t id, const std::string& password_hash);
  static const std::vector<std::string>& UpdatableFields();
  // Sets last_login to now.
  absl::Status RecordLogin(int64_t id);
  // Grants or takes away administrator rights.
  absl::Status SetAdmin(const std::string& email, bool is_admin);
  // Records a session for `token_sha256` (32 raw bytes).
  absl::StatusOr<Session> CreateSession(int64_t user_id, const std::string& token_sha256,
                                        absl::Time expires_at);
  // The session and user behind a token: NOT_FOUND when the token is
  // unknown, expired or revoked, or its user is disabled.
  absl::StatusOr<SessionUser> FindSession(const std::string& token_sha256);
  absl::Status RevokeSession(int64_t session_id);
  // Revokes every session of the user except `keep_session_id`.
  absl::Status RevokeOtherSessions(int64_t user_id, int64_t keep_session_id);

  // Deletes the user and, by cascade, everything the user owns.
  absl::Status Delete(int64_t id);

 private:
  postgres::ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_USER_REPOSITORY_H_
