#ifndef PLANTMON_STORAGE_DATABASE_ADMIN_H_
#define PLANTMON_STORAGE_DATABASE_ADMIN_H_

// Whole-database operations behind the `plantmon_db` CLI.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "postgres/connection_pool_fwd.h"
#include "postgres/database_config.h"

namespace plantmon::storage {

// Creates `config.dbname` unless it exists, connecting to the server's
// `postgres` maintenance database with the same credentials. Returns whether
// it created the database.
absl::StatusOr<bool> CreateDatabaseIfMissing(const postgres::DatabaseConfig& config);

// Drops every object in the public schema (all tables, types, functions,
// schema_migrations). The caller migrates afterwards.
absl::Status DropAllObjects(postgres::ConnectionPool& pool);

// Loads the demo data (storage/demo_data.sql) in one transaction. The demo
// user demo@plantmon.dev is created with `demo_password_hash` unless present.
// Idempotent.
absl::Status SeedDemoData(postgres::ConnectionPool& pool, const std::string& demo_password_hash);

inline constexpr char kDemoUserEmail[] = "demo@plantmon.dev";
inline constexpr char kDemoUserName[] = "demo";

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_DATABASE_ADMIN_H_
