#include "storage/user_repository.h"

#include "absl/strings/escaping.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/row_reader.h"

namespace plantmon::storage {

using postgres::ExecuteUpdate;
using postgres::RunInTransaction;
using postgres::RunReadOnly;
using postgres::ViolatedConstraint;
namespace {

constexpr char kColumns[] =
    "id, email, username, password_hash, first_name, last_name, phone_number, "
    "is_active, is_verified, " PLANTMON_EPOCH_US("created_at") ", " PLANTMON_EPOCH_US(
        "updated_at") ", " PLANTMON_EPOCH_US("last_login") ", is_admin";

User ReadUser(const pqxx::row& row) {
  RowReader reader(row);
  User user;
  user.id = reader.Next<int64_t>();
  user.email = reader.Next<std::string>();
  user.username = reader.Next<std::string>();
  user.password_hash = reader.Next<std::string>();
  user.first_name = reader.NextOptional<std::string>();
  user.last_name = reader.NextOptional<std::string>();
  user.phone_number = reader.NextOptional<std::string>();
  user.is_active = reader.Next<bool>();
  user.is_verified = reader.Next<bool>();
  user.created_at = reader.NextTime();
  user.updated_at = reader.NextTime();
  user.last_login = reader.NextOptionalTime();
  user.is_admin = reader.Next<bool>();
  return user;
}

// Names the column behind a unique violation, for a message people can act on.
absl::Status ExplainUserConflict(absl::Status status) {
  if (status.code() != absl::StatusCode::kAlreadyExists) return status;
  std::optional<std::string> constraint = ViolatedConstraint(status);
  if (constraint == "users_email_key") {
    return absl::AlreadyExistsError("a user with this email already exists");
  }
  if (constraint == "users_username_key") {
    return absl::AlreadyExistsError("a user with this username already exists");
  }
  return status;
}

}  // namespace

absl::StatusOr<User> UserRepository::Create(const User& user) {
  absl::StatusOr<User> created =
      QueryOne<User>(pool_, "user", 0, ReadUser,
                     std::string("INSERT INTO users (email, username, password_hash, "
                                 "first_name, last_name, phone_number, is_active, "
                                 "is_verified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                                 "RETURNING ") +
                         kColumns,
                     user.email, user.username, user.password_hash, user.first_name, user.last_name,
                     user.phone_number, user.is_active, user.is_verified);
  if (!created.ok()) return ExplainUserConflict(created.status());
  return created;
}

absl::StatusOr<User> UserRepository::Get(int64_t id) {
  return QueryOne<User>(pool_, "user", id, ReadUser,
                        std::string("SELECT ") + kColumns + " FROM users WHERE id = $1", id);
}

absl::StatusOr<User> UserRepository::FindByLogin(const std::string& email_or_username) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<User> {
    // Emails contain '@' and usernames may not (validated at sign-up),
    // so at most one row matches.
    pqxx::result rows = transaction.exec_params(
        std::string("SELECT ") + kColumns + " FROM users WHERE email = $1 OR username = $1 LIMIT 1",
        email_or_username);
    if (rows.empty()) return absl::NotFoundError("user not found");
    return ReadUser(rows[0]);
  });
}

absl::StatusOr<std::vector<User>> UserRepository::List(const UserFilter& filter,
                                                       const PageRequest& page) {
  return QueryMany<User>(pool_, ReadUser,
                         std::string("SELECT ") + kColumns +
                             " FROM users WHERE id > $1 AND ($2::boolean IS NULL OR "
                             "is_active = $2) ORDER BY id LIMIT $3",
                         page.after_id, filter.is_active, page.limit);
}

absl::StatusOr<User> UserRepository::Update(int64_t id, const UserUpdate& update) {
  absl::StatusOr<User> updated = QueryOne<User>(
      pool_, "user", id, ReadUser,
      std::string("UPDATE users SET "
                  "email = CASE WHEN $2 THEN $3 ELSE email END, "
                  "username = CASE WHEN $4 THEN $5 ELSE username END, "
                  "first_name = CASE WHEN $6 THEN $7 ELSE first_name END, "
                  "last_name = CASE WHEN $8 THEN $9 ELSE last_name END, "
                  "phone_number = CASE WHEN $10 THEN $11 ELSE phone_number "
                  "END, "
                  "is_active = CASE WHEN $12 THEN $13::boolean ELSE "
                  "is_active END, "
                  "is_verified = CASE WHEN $14 THEN $15::boolean ELSE "
                  "is_verified END "
                  "WHERE id = $1 RETURNING ") +
          kColumns,
      id, IsSet(update.email), ValueOf(update.email), IsSet(update.username),
      ValueOf(update.username), IsSet(update.first_name), ValueOf(update.first_name),
      IsSet(update.last_name), ValueOf(update.last_name), IsSet(update.phone_number),
      ValueOf(update.phone_number), IsSet(update.is_active), ValueOf(update.is_active),
      IsSet(update.is_verified), ValueOf(update.is_verified));
  if (!updated.ok()) return ExplainUserConflict(updated.status());
  return updated;
}

absl::StatusOr<User> UserRepository::SetPasswordHash(int64_t id, const std::string& password_hash) {
  return QueryOne<User>(
      pool_, "user", id, ReadUser,
      std::string("UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING ") + kColumns, id,
      password_hash);
}

absl::Status UserRepository::RecordLogin(int64_t id) {
  return UpdateById(pool_, "user", "UPDATE users SET last_login = now() WHERE id = $1", id);
}

absl::Status UserRepository::SetAdmin(const std::string& email, bool is_admin) {
  absl::StatusOr<int64_t> affected =
      ExecuteUpdate(pool_, "UPDATE users SET is_admin = $2 WHERE email = $1", email, is_admin);
  if (!affected.ok()) return affected.status();
  if (*affected == 0) {
    return absl::NotFoundError(absl::StrCat("no user has email ", email));
  }
  return absl::OkStatus();
}

absl::StatusOr<Session> UserRepository::CreateSession(int64_t user_id,
                                                      const std::string& token_sha256,
                                                      absl::Time expires_at) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<Session> {
    pqxx::row row = transaction.exec_params1(
        "INSERT INTO user_sessions (user_id, token_hash, expires_at) "
        "VALUES ($1, decode($2, 'hex'), "
        "'epoch'::timestamptz + $3 * interval '1 microsecond') RETURNING id",
        user_id, absl::BytesToHexString(token_sha256), absl::ToUnixMicros(expires_at));
    return Session{row[0].as<int64_t>(), user_id, expires_at};
  });
}

absl::StatusOr<SessionUser> UserRepository::FindSession(const std::string& token_sha256) {
  // Runs on every authenticated call: one autocommit statement.
  return RunReadOnly(pool_,
                     [&](pqxx::transaction_base& transaction) -> absl::StatusOr<SessionUser> {
                       pqxx::result rows = transaction.exec_params(
            std::string("SELECT ") + kColumns +
                ", session_id, " PLANTMON_EPOCH_US("session_expires_at") " FROM ("
                "SELECT u.*, s.id AS session_id, s.expires_at AS session_expires_at "
                "FROM user_sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.token_hash = decode($1, 'hex') AND s.revoked_at IS NULL "
                "AND s.expires_at > now() AND u.is_active) AS found",
            absl::BytesToHexString(token_sha256));
                       if (rows.empty()) return absl::NotFoundError("no such session");
                       SessionUser found;
                       found.user = ReadUser(rows[0]);
                       found.session.id = rows[0][13].as<int64_t>();
                       found.session.user_id = found.user.id;
                       found.session.expires_at = absl::FromUnixMicros(rows[0][14].as<int64_t>());
                       return found;
                     });
}

absl::Status UserRepository::RevokeSession(int64_t session_id) {
  return UpdateById(pool_, "session",
                    "UPDATE user_sessions SET revoked_at = now() "
                    "WHERE id = $1 AND revoked_at IS NULL",
                    session_id);
}

absl::Status UserRepository::RevokeOtherSessions(int64_t user_id, int64_t keep_session_id) {
  return ExecuteUpdate(pool_,
                       "UPDATE user_sessions SET revoked_at = now() "
                       "WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL",
                       user_id, keep_session_id)
      .status();
}

absl::Status UserRepository::Delete(int64_t id) {
  return UpdateById(pool_, "user", "DELETE FROM users WHERE id = $1", id);
}

}  // namespace plantmon::storage
