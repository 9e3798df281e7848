#include "storage/user_repository.h"

#include "absl/strings/escaping.h"
#include "postgres/message_table.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/message_rows.h"
#include "storage/row_reader.h"

namespace plantmon::storage {

using postgres::ExecuteUpdate;
using postgres::RunInTransaction;
using postgres::RunReadOnly;
namespace {

// `users` (migrations 0001 and 0002) as v1::User; password_hash is read
// separately (UserRecord) and written only by Create and SetPasswordHash.
const postgres::MessageTable& Users() {
  static const auto* table =
      new postgres::MessageTable("users", v1::User::descriptor(),
                                 postgres::FieldColumns().ReadOnly(
                                     {"id", "created_at", "updated_at", "last_login", "is_admin"}));
  return *table;
}

v1::User ReadUser(const pqxx::row& row) { return Users().Read<v1::User>(row); }

// A row selected as Users().select_list() followed by password_hash.
UserRecord ReadRecord(const pqxx::row& row) {
  return {ReadUser(row), row[static_cast<int>(Users().column_count())].as<std::string>()};
}

// Names the column behind a unique violation, for a message people can act on.
absl::Status ExplainUserConflict(absl::Status status) {
  if (status.code() != absl::StatusCode::kAlreadyExists) return status;
  return postgres::ExplainConstraint(std::move(status),
                                     {{"users_email_key", absl::StatusCode::kAlreadyExists,
                                       "a user with this email already exists"},
                                      {"users_username_key", absl::StatusCode::kAlreadyExists,
                                       "a user with this username already exists"}});
}

}  // namespace

const std::vector<std::string>& UserRepository::UpdatableFields() { return Users().updatable(); }

absl::StatusOr<v1::User> UserRepository::Create(const v1::User& user,
                                                const std::string& password_hash) {
  absl::StatusOr<v1::User> created =
      InsertMessage(pool_, Users(), user, {{"password_hash", password_hash}});
  if (!created.ok()) return ExplainUserConflict(created.status());
  return created;
}

absl::StatusOr<v1::User> UserRepository::Get(int64_t id) {
  return ReadOne<v1::User>(pool_, "user", id, ReadUser,
                           "SELECT " + Users().select_list() + " FROM users WHERE id = $1", id);
}

absl::StatusOr<UserRecord> UserRepository::FindByLogin(const std::string& email_or_username) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<UserRecord> {
    // Emails contain '@' and usernames may not (validated at sign-up), and
    // both compare without regard to case (migration 0010), so one account
    // matches, except in a group that collided before that migration: there
    // the exact spelling wins, then the oldest account.
    pqxx::result rows = postgres::ExecPrepared(
        transaction,
        "SELECT " + Users().select_list() +
            ", password_hash FROM users WHERE email = $1 OR username = $1 "
            "ORDER BY (email = $1 COLLATE \"C\" OR username = $1 COLLATE \"C\") DESC, id "
            "LIMIT 1",
        email_or_username);
    if (rows.empty()) return absl::NotFoundError("user not found");
    return ReadRecord(rows[0]);
  });
}

absl::StatusOr<std::vector<v1::User>> UserRepository::List(const UserFilter& filter,
                                                           const PageRequest& page) {
  return ReadMany<v1::User>(pool_, ReadUser,
                            "SELECT " + Users().select_list() +
                                " FROM users WHERE id > $1 AND ($2::boolean IS NULL OR "
                                "is_active = $2) ORDER BY id LIMIT $3",
                            page.after_id, filter.is_active, page.limit);
}

absl::StatusOr<v1::User> UserRepository::Update(int64_t id, const v1::User& values,
                                                const google::protobuf::FieldMask& mask) {
  absl::StatusOr<v1::User> updated =
      UpdateMessage(pool_, Users(), "user", id, "id = $1", {std::to_string(id)}, values, mask);
  if (!updated.ok()) return ExplainUserConflict(updated.status());
  return updated;
}

absl::StatusOr<v1::User> UserRepository::SetPasswordHash(int64_t id,
                                                         const std::string& password_hash) {
  return QueryOne<v1::User>(
      pool_, "user", id, ReadUser,
      "UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING " + Users().select_list(), id,
      password_hash);
}

absl::Status UserRepository::RecordLogin(int64_t id) {
  return UpdateById(pool_, "user", "UPDATE users SET last_login = now() WHERE id = $1", id);
}

absl::Status UserRepository::SetAdmin(const std::string& email, bool is_admin) {
  absl::StatusOr<int64_t> affected =
      ExecuteUpdate(pool_,
                    "UPDATE users SET is_admin = $2 WHERE id = (SELECT id FROM users WHERE "
                    "email = normalize($1, NFC) ORDER BY email = $1 COLLATE \"C\" DESC, id "
                    "LIMIT 1)",
                    email, is_admin);
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
  return RunReadOnly(
      pool_, [&](pqxx::transaction_base& transaction) -> absl::StatusOr<SessionUser> {
        // The users columns with password_hash, then the session's.
        pqxx::result rows = postgres::ExecPrepared(transaction, 
                           "SELECT " + Users().SelectList("u") +
                               ", u.password_hash, s.id, " PLANTMON_EPOCH_US("s.expires_at") " "
                               "FROM user_sessions s JOIN users u ON u.id = s.user_id "
                               "WHERE s.token_hash = decode($1, 'hex') AND s.revoked_at IS NULL "
                               "AND s.expires_at > now() AND u.is_active",
                           absl::BytesToHexString(token_sha256));
        if (rows.empty()) return absl::NotFoundError("no such session");
        const int session_column = static_cast<int>(Users().column_count()) + 1;
        SessionUser found;
        found.account = ReadRecord(rows[0]);
        found.session.id = rows[0][session_column].as<int64_t>();
        found.session.user_id = found.account.user.id();
        found.session.expires_at = absl::FromUnixMicros(rows[0][session_column + 1].as<int64_t>());
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
