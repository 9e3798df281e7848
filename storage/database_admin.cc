#include "storage/database_admin.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/embedded_file.h"
#include "storage/ingest_repository.h"

namespace plantmon::storage {

using postgres::ConnectionPool;
using postgres::DatabaseConfig;
using postgres::LibpqConnectionString;
using postgres::RunInTransaction;
using postgres::StatusFromException;

absl::StatusOr<bool> CreateDatabaseIfMissing(const DatabaseConfig& config) {
  DatabaseConfig maintenance = config;
  maintenance.dbname = "postgres";
  try {
    pqxx::connection connection(LibpqConnectionString(maintenance));
    pqxx::nontransaction session(connection);
    if (!session.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", config.dbname)
             .empty()) {
      return false;
    }
    // CREATE DATABASE takes no parameters; quote_name escapes the identifier.
    session.exec(absl::StrCat("CREATE DATABASE ", connection.quote_name(config.dbname)));
    return true;
  } catch (const std::exception& error) {
    return StatusFromException(error);
  }
}

absl::Status DropAllObjects(ConnectionPool& pool) {
  return RunInTransaction(pool, [](pqxx::work& transaction) {
    transaction.exec("DROP SCHEMA IF EXISTS public CASCADE");
    transaction.exec("CREATE SCHEMA public");
    return absl::OkStatus();
  });
}

absl::Status SeedDemoData(ConnectionPool& pool, const std::string& demo_password_hash) {
  const std::string& script = EmbeddedDemoDataFiles().front().contents;
  struct Loaded {
    int64_t user_id = 0;
    absl::Time at;  // the loading transaction's time: its readings' received_at
  };
  absl::StatusOr<Loaded> loaded =
      RunInTransaction(pool, [&](pqxx::work& transaction) -> absl::StatusOr<Loaded> {
        transaction.exec_params(
            "INSERT INTO users (email, username, password_hash, first_name, "
            "last_name, is_verified) VALUES ($1, $2, $3, 'Demo', 'Gardener', true) "
            "ON CONFLICT DO NOTHING",
            kDemoUserEmail, kDemoUserName, demo_password_hash);
        transaction.exec(script);
        const pqxx::row row = transaction.exec_params1(
            "SELECT id, (extract(epoch FROM now()) * 1000000)::bigint FROM users "
            "WHERE email = $1",
            kDemoUserEmail);
        return Loaded{row[0].as<int64_t>(), absl::FromUnixMicros(row[1].as<int64_t>())};
      });
  if (!loaded.ok()) return loaded.status();
  // The script's readings bypassed the alert engine; run it over them now, in
  // reading order, so that the demo's alerts are the ones live readings would
  // have raised (docs/telemetry.md, "Demo data"). A second seed loads no
  // readings, and this finds none.
  return IngestRepository(pool).EvaluateLoadedReadings(loaded->user_id, loaded->at).status();
}

}  // namespace plantmon::storage
