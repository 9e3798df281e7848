#include "storage/database_admin.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/embedded_file.h"

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
  return RunInTransaction(pool, [&](pqxx::work& transaction) {
    transaction.exec_params(
        "INSERT INTO users (email, username, password_hash, first_name, "
        "last_name, is_verified) VALUES ($1, $2, $3, 'Demo', 'Gardener', true) "
        "ON CONFLICT DO NOTHING",
        kDemoUserEmail, kDemoUserName, demo_password_hash);
    transaction.exec(script);
    return absl::OkStatus();
  });
}

}  // namespace plantmon::storage
