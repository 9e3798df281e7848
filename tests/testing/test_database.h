#ifndef PLANTMON_TESTS_TESTING_TEST_DATABASE_H_
#define PLANTMON_TESTS_TESTING_TEST_DATABASE_H_

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "postgres/connection_pool.h"
#include "postgres/database_config.h"

namespace plantmon::testing {

// A fresh, uniquely named database on the PostgreSQL that tools/test starts
// (PLANTMON_TEST_PG{HOST,PORT,USER,PASSWORD}), dropped when destroyed. There is
// no fallback: without a server the suite fails, it never skips.
class TestDatabase {
 public:
  // Creates the database and, if `migrate`, applies the built-in migrations.
  // Terminates the test binary with a clear message when it cannot.
  static std::unique_ptr<TestDatabase> CreateOrDie(bool migrate = true);

  ~TestDatabase();

  // Settings for this database, with a small pool by default.
  postgres::DatabaseConfig Config(int pool_size = 4, int max_overflow = 4) const;
  std::unique_ptr<postgres::ConnectionPool> NewPool(int pool_size = 4, int max_overflow = 4) const;
  // The same database on tools/test's streaming hot standby
  // (PLANTMON_TEST_PG_STANDBY_PORT), which has it once replay reaches it.
  postgres::DatabaseConfig StandbyConfig(int pool_size = 4, int max_overflow = 4) const;

  // A direct superuser connection to this database, for inspecting state
  // independently of the code under test.
  std::unique_ptr<pqxx::connection> Connect() const;
  // Runs one statement on a fresh direct connection and returns its rows.
  pqxx::result Query(const std::string& sql) const;
  // User 1 owning device 1 (of device type 1, of manufacturer 1), written by
  // SQL for tests of the schema below the API; any migrated version has the
  // columns it fills.
  void AddUserWithDevice() const;

  const std::string& name() const { return name_; }

 private:
  TestDatabase(postgres::DatabaseConfig admin, std::string name);

  postgres::DatabaseConfig admin_;  // points at the `postgres` database
  std::string name_;
};

}  // namespace plantmon::testing

#endif  // PLANTMON_TESTS_TESTING_TEST_DATABASE_H_
