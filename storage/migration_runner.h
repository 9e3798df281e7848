#ifndef PLANTMON_STORAGE_MIGRATION_RUNNER_H_
#define PLANTMON_STORAGE_MIGRATION_RUNNER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "postgres/connection_pool_fwd.h"
#include "storage/embedded_file.h"

namespace plantmon::storage {

// One versioned SQL file, named NNNN_description.sql.
struct Migration {
  int version = 0;
  std::string name;  // the file name
  std::string sql;
  std::string checksum;  // SHA-256 of `sql`
};

struct AppliedMigration {
  int version = 0;
  std::string name;
  std::string checksum;
  absl::Time applied_at;
};

struct MigrationStatus {
  std::vector<AppliedMigration> applied;
  std::vector<Migration> pending;
};

// Turns files into migrations sorted by version; names must look like
// 0001_description.sql and versions must be unique.
absl::StatusOr<std::vector<Migration>> MigrationsFromFiles(const std::vector<EmbeddedFile>& files);

// The migrations compiled into this binary from migrations/.
const std::vector<Migration>& BuiltInMigrations();
// The built-in migrations older than `version`: a schema as it was, for
// tests of what a migration does to existing rows.
std::vector<Migration> BuiltInMigrationsBefore(int version);

// Applies pending migrations in order, one transaction each, recording them
// in schema_migrations with their checksums. Holds a PostgreSQL advisory lock
// for the whole run so that concurrent runners (two servers starting at once)
// apply each migration exactly once. FAILED_PRECONDITION when an applied file
// was edited or the database knows a version this binary does not. Returns
// the migrations applied by this call.
absl::StatusOr<std::vector<Migration>> ApplyMigrations(postgres::ConnectionPool& pool,
                                                       const std::vector<Migration>& migrations);

// Applied and pending migrations, with the same consistency checks.
absl::StatusOr<MigrationStatus> GetMigrationStatus(postgres::ConnectionPool& pool,
                                                   const std::vector<Migration>& migrations);

// OK when every migration is applied unchanged; FAILED_PRECONDITION naming
// what is pending otherwise. The server calls this at start-up.
absl::Status CheckSchemaIsCurrent(postgres::ConnectionPool& pool,
                                  const std::vector<Migration>& migrations);

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_MIGRATION_RUNNER_H_
