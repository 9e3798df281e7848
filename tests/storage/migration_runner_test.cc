#include "storage/migration_runner.h"

#include <thread>

#include "gtest/gtest.h"
#include "postgres/transaction.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace plantmon::storage {
namespace {

using ::plantmon::testing::TestDatabase;

int CountRows(const TestDatabase& database, const std::string& table) {
  return database.Query("SELECT count(*) FROM " + table).front().front().as<int>();
}

TEST(MigrationRunnerTest, AppliesEverythingOnceAndASecondRunIsANoOp) {
  auto database = TestDatabase::CreateOrDie(/*migrate=*/false);
  auto pool = database->NewPool();
  const std::vector<Migration>& migrations = BuiltInMigrations();
  ASSERT_FALSE(migrations.empty());

  ASSERT_OK_AND_ASSIGN(MigrationStatus before, GetMigrationStatus(*pool, migrations));
  EXPECT_TRUE(before.applied.empty());
  EXPECT_EQ(before.pending.size(), migrations.size());
  EXPECT_CODE(CheckSchemaIsCurrent(*pool, migrations), absl::StatusCode::kFailedPrecondition);

  ASSERT_OK_AND_ASSIGN(std::vector<Migration> first, ApplyMigrations(*pool, migrations));
  EXPECT_EQ(first.size(), migrations.size());
  ASSERT_OK_AND_ASSIGN(std::vector<Migration> second, ApplyMigrations(*pool, migrations));
  EXPECT_TRUE(second.empty());

  ASSERT_OK_AND_ASSIGN(MigrationStatus after, GetMigrationStatus(*pool, migrations));
  EXPECT_TRUE(after.pending.empty());
  ASSERT_EQ(after.applied.size(), migrations.size());
  EXPECT_EQ(after.applied[0].checksum, migrations[0].checksum);
  EXPECT_OK(CheckSchemaIsCurrent(*pool, migrations));
  EXPECT_EQ(CountRows(*database, "schema_migrations"), static_cast<int>(migrations.size()));
}

TEST(MigrationRunnerTest, ConcurrentRunnersApplyEachMigrationOnce) {
  auto database = TestDatabase::CreateOrDie(/*migrate=*/false);
  const std::vector<Migration>& migrations = BuiltInMigrations();
  constexpr int kRunners = 4;
  std::vector<absl::StatusOr<std::vector<Migration>>> results(kRunners,
                                                              absl::UnknownError("not run"));
  std::vector<std::thread> runners;
  for (int i = 0; i < kRunners; ++i) {
    runners.emplace_back([&, i] {
      auto pool = database->NewPool(1, 0);
      results[i] = ApplyMigrations(*pool, migrations);
    });
  }
  for (std::thread& runner : runners) runner.join();
  size_t total_applied = 0;
  for (const auto& result : results) {
    ASSERT_OK(result);
    total_applied += result->size();
  }
  EXPECT_EQ(total_applied, migrations.size());
  EXPECT_EQ(CountRows(*database, "schema_migrations"), static_cast<int>(migrations.size()));
}

TEST(MigrationRunnerTest, RefusesAnAppliedMigrationThatWasEdited) {
  auto database = TestDatabase::CreateOrDie(/*migrate=*/false);
  auto pool = database->NewPool();
  std::vector<EmbeddedFile> files = {
      {"0001_create.sql", "CREATE TABLE edited_probe (a int);"},
  };
  ASSERT_OK_AND_ASSIGN(std::vector<Migration> original, MigrationsFromFiles(files));
  ASSERT_OK(ApplyMigrations(*pool, original));

  files[0].contents = "CREATE TABLE edited_probe (a int, b int);";
  files.push_back({"0002_more.sql", "CREATE TABLE never_applied (a int);"});
  ASSERT_OK_AND_ASSIGN(std::vector<Migration> edited, MigrationsFromFiles(files));
  absl::StatusOr<std::vector<Migration>> result = ApplyMigrations(*pool, edited);
  EXPECT_CODE(result, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(result.status().message().find("0001_create.sql"), std::string::npos);
  EXPECT_NE(result.status().message().find("edited"), std::string::npos);
  EXPECT_CODE(GetMigrationStatus(*pool, edited), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      database->Query("SELECT to_regclass('never_applied') IS NULL").front().front().as<bool>());
}

TEST(MigrationRunnerTest, FailedMigrationIsRolledBackAndNotRecorded) {
  auto database = TestDatabase::CreateOrDie(/*migrate=*/false);
  auto pool = database->NewPool();
  ASSERT_OK_AND_ASSIGN(
      std::vector<Migration> migrations,
      MigrationsFromFiles(
          {{"0001_ok.sql", "CREATE TABLE ok_probe (a int);"},
           {"0002_bad.sql", "CREATE TABLE half_done (a int); SELECT no_such_column;"}}));
  EXPECT_FALSE(ApplyMigrations(*pool, migrations).ok());
  EXPECT_EQ(CountRows(*database, "schema_migrations"), 1);
  EXPECT_TRUE(
      database->Query("SELECT to_regclass('half_done') IS NULL").front().front().as<bool>());
  // The lock died with the discarded connection: a later run is not blocked.
  EXPECT_CODE(ApplyMigrations(*pool, migrations), absl::StatusCode::kInternal);
}

TEST(MigrationRunnerTest, RefusesADatabaseFromANewerBuild) {
  auto database = TestDatabase::CreateOrDie(/*migrate=*/false);
  auto pool = database->NewPool();
  ASSERT_OK_AND_ASSIGN(
      std::vector<Migration> newer,
      MigrationsFromFiles({{"0001_a.sql", "SELECT 1;"}, {"0002_b.sql", "SELECT 2;"}}));
  ASSERT_OK(ApplyMigrations(*pool, newer));
  newer.pop_back();
  EXPECT_CODE(ApplyMigrations(*pool, newer), absl::StatusCode::kFailedPrecondition);
}

TEST(MigrationRunnerTest, RejectsBadFileNames) {
  EXPECT_CODE(MigrationsFromFiles({{"create.sql", ""}}), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(MigrationsFromFiles({{"0001_a.txt", ""}}), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(MigrationsFromFiles({{"0001_a.sql", ""}, {"1_b.sql", ""}}),
              absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto sorted, MigrationsFromFiles({{"0010_b.sql", ""}, {"0002_a.sql", ""}}));
  EXPECT_EQ(sorted[0].version, 2);
  EXPECT_EQ(sorted[1].version, 10);
}

}  // namespace
}  // namespace plantmon::storage
