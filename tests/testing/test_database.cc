#include "tests/testing/test_database.h"

#include <cstdio>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "storage/migration_runner.h"

namespace plantmon::testing {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "test database: %s\n", message.c_str());
  std::exit(1);
}

std::string RequiredEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    Die(absl::StrCat(name,
                     " is not set: run the tests through tools/test, which "
                     "starts PostgreSQL and passes its settings"));
  }
  return value;
}

std::string RandomSuffix() {
  std::random_device device;
  std::mt19937_64 generator(device());
  return absl::StrCat(absl::Hex(generator(), absl::kZeroPad16));
}

}  // namespace

TestDatabase::TestDatabase(postgres::DatabaseConfig admin, std::string name)
    : admin_(std::move(admin)), name_(std::move(name)) {}

std::unique_ptr<TestDatabase> TestDatabase::CreateOrDie(bool migrate) {
  postgres::DatabaseConfig admin;
  admin.host = RequiredEnv("PLANTMON_TEST_PGHOST");
  admin.port = std::atoi(RequiredEnv("PLANTMON_TEST_PGPORT").c_str());
  admin.user = RequiredEnv("PLANTMON_TEST_PGUSER");
  admin.password = RequiredEnv("PLANTMON_TEST_PGPASSWORD");
  admin.dbname = "postgres";
  std::string name = absl::StrCat("plantmon_test_", RandomSuffix());
  try {
    pqxx::connection connection(postgres::LibpqConnectionString(admin));
    pqxx::nontransaction create(connection);
    create.exec(absl::StrCat("CREATE DATABASE ", connection.quote_name(name)));
  } catch (const std::exception& error) {
    Die(absl::StrCat("cannot create ", name, " on ", postgres::DatabaseUrl(admin), ": ",
                     error.what()));
  }
  auto database = std::unique_ptr<TestDatabase>(new TestDatabase(admin, std::move(name)));
  if (migrate) {
    std::unique_ptr<postgres::ConnectionPool> pool = database->NewPool(1, 0);
    absl::StatusOr<std::vector<storage::Migration>> applied =
        storage::ApplyMigrations(*pool, storage::BuiltInMigrations());
    if (!applied.ok()) Die(applied.status().ToString());
  }
  return database;
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection connection(postgres::LibpqConnectionString(admin_));
    pqxx::nontransaction drop(connection);
    drop.exec(
        absl::StrCat("DROP DATABASE IF EXISTS ", connection.quote_name(name_), " WITH (FORCE)"));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "test database: cannot drop %s: %s\n", name_.c_str(), error.what());
  }
}

postgres::DatabaseConfig TestDatabase::Config(int pool_size, int max_overflow) const {
  postgres::DatabaseConfig config = admin_;
  config.dbname = name_;
  config.pool_size = pool_size;
  config.max_overflow = max_overflow;
  config.acquire_timeout = absl::Seconds(10);
  return config;
}

postgres::DatabaseConfig TestDatabase::StandbyConfig(int pool_size, int max_overflow) const {
  postgres::DatabaseConfig config = Config(pool_size, max_overflow);
  config.port = std::atoi(RequiredEnv("PLANTMON_TEST_PG_STANDBY_PORT").c_str());
  return config;
}

std::unique_ptr<postgres::ConnectionPool> TestDatabase::NewPool(int pool_size,
                                                                int max_overflow) const {
  absl::StatusOr<std::unique_ptr<postgres::ConnectionPool>> pool =
      postgres::ConnectionPool::Create(Config(pool_size, max_overflow));
  if (!pool.ok()) Die(pool.status().ToString());
  return *std::move(pool);
}

std::unique_ptr<pqxx::connection> TestDatabase::Connect() const {
  postgres::DatabaseConfig config = Config();
  return std::make_unique<pqxx::connection>(postgres::LibpqConnectionString(config));
}

pqxx::result TestDatabase::Query(const std::string& sql) const {
  std::unique_ptr<pqxx::connection> connection = Connect();
  pqxx::nontransaction query(*connection);
  return query.exec(sql);
}

void TestDatabase::AddUserWithDevice() const {
  Query(
      "INSERT INTO users (id, email, username, password_hash) VALUES (1, 'a@b.c', 'a', 'h');"
      "INSERT INTO manufacturers (id, name) VALUES (1, 'm');"
      "INSERT INTO device_types (id, manufacturer_id, name, device_type) "
      "VALUES (1, 1, 'probe', 'sensor');"
      "INSERT INTO devices (id, user_id, device_type_id, unique_identifier, device_name) "
      "VALUES (1, 1, 1, 'u1', 'd1')");
}

}  // namespace plantmon::testing
