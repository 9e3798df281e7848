#include "storage/api_key_repository.h"

#include "absl/strings/escaping.h"
#include "postgres/transaction.h"
#include "storage/row_reader.h"

namespace plantmon::storage {
namespace {

constexpr char kColumns[] = "id, user_id, name, key_prefix, " PLANTMON_EPOCH_US(
    "created_at") ", " PLANTMON_EPOCH_US("last_used_at") ", " PLANTMON_EPOCH_US("revoked_at");

ApiKey ReadApiKey(const pqxx::row& row) {
  RowReader reader(row);
  ApiKey key;
  key.id = reader.Next<int64_t>();
  key.user_id = reader.Next<int64_t>();
  key.name = reader.Next<std::string>();
  key.key_prefix = reader.Next<std::string>();
  key.created_at = reader.NextTime();
  key.last_used_at = reader.NextOptionalTime();
  key.revoked_at = reader.NextOptionalTime();
  return key;
}

}  // namespace

absl::StatusOr<ApiKey> ApiKeyRepository::Create(int64_t owner_id, const std::string& name,
                                                const std::string& key_prefix,
                                                const std::string& secret_sha256) {
  return QueryOne<ApiKey>(pool_, "user", owner_id, ReadApiKey,
                          std::string("INSERT INTO api_keys (user_id, name, key_prefix, key_hash) "
                                      "VALUES ($1, $2, $3, decode($4, 'hex')) RETURNING ") +
                              kColumns,
                          owner_id, name, key_prefix, absl::BytesToHexString(secret_sha256));
}

absl::StatusOr<std::vector<ApiKey>> ApiKeyRepository::List(int64_t owner_id,
                                                           const PageRequest& page) {
  return ReadMany<ApiKey>(pool_, ReadApiKey,
                          std::string("SELECT ") + kColumns +
                              " FROM api_keys WHERE user_id = $1 AND id > $2 "
                              "ORDER BY id LIMIT $3",
                          owner_id, page.after_id, page.limit);
}

absl::StatusOr<ApiKey> ApiKeyRepository::Revoke(int64_t owner_id, int64_t id) {
  return QueryOne<ApiKey>(
      pool_, "api key", id, ReadApiKey,
      std::string("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) "
                  "WHERE id = $1 AND user_id = $2 RETURNING ") +
          kColumns,
      id, owner_id);
}

absl::StatusOr<int64_t> ApiKeyRepository::RevokeNamed(int64_t owner_id, const std::string& name) {
  return postgres::ExecuteUpdate(pool_,
                                 "UPDATE api_keys SET revoked_at = now() "
                                 "WHERE user_id = $1 AND name = $2 AND revoked_at IS NULL",
                                 owner_id, name);
}

absl::StatusOr<ApiKey> ApiKeyRepository::FindActive(const std::string& secret_sha256) {
  return QueryOne<ApiKey>(pool_, "api key", 0, ReadApiKey,
                          std::string("UPDATE api_keys SET last_used_at = now() "
                                      "WHERE key_hash = decode($1, 'hex') AND revoked_at IS NULL "
                                      "RETURNING ") +
                              kColumns,
                          absl::BytesToHexString(secret_sha256));
}

}  // namespace plantmon::storage
