// Migration 0024 turns the existing sensor_data heap into the partition
// sensor_data_history of a table partitioned by week, without copying it:
// every reading keeps its id, the heap's indexes are adopted rather than
// built again, ids go on after the newest, and the hourly rollups (0023) go
// on being kept. Its steps can run again after an interruption.
#include <string>

#include "gtest/gtest.h"
#include "storage/migration_runner.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

using ::plantmon::testing::TestDatabase;

class PartitionConversionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = TestDatabase::CreateOrDie(/*migrate=*/false);
    pool_ = database_->NewPool();
    ASSERT_OK(storage::ApplyMigrations(*pool_, storage::BuiltInMigrationsBefore(24)));
    database_->AddUserWithDevice();
    database_->Query(
        "INSERT INTO sensor_data (device_id, measurement_value, \"timestamp\", parameter_name) "
        "SELECT 1, g, now() - g * interval '1 day', 'soil_moisture' "
        "FROM generate_series(1, 1000) g");
  }

  int64_t Number(const std::string& sql) { return database_->Query(sql)[0][0].as<int64_t>(); }
  std::string Text(const std::string& sql) { return database_->Query(sql)[0][0].as<std::string>(); }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<postgres::ConnectionPool> pool_;
};

TEST_F(PartitionConversionTest, TheHeapBecomesTheHistoryPartitionWithEveryReading) {
  const std::string before = Text(
      "SELECT string_agg(id || ':' || measurement_value || ':' || \"timestamp\", ',' ORDER BY id) "
      "FROM sensor_data");
  const int64_t newest_id = Number("SELECT max(id) FROM sensor_data");
  ASSERT_OK(storage::ApplyMigrations(*pool_, storage::BuiltInMigrations()));

  EXPECT_EQ(Text("SELECT relkind::text FROM pg_class WHERE relname = 'sensor_data'"), "p");
  EXPECT_EQ(Text("SELECT string_agg(id || ':' || measurement_value || ':' || \"timestamp\", ',' "
                 "ORDER BY id) FROM sensor_data_history"),
            before);
  // The heap's five indexes serve the parent's five (the key among them):
  // none was built a second time.
  EXPECT_EQ(
      Number("SELECT count(*) FROM pg_index WHERE indrelid = 'sensor_data_history'::regclass"), 5);
  EXPECT_EQ(Number("SELECT count(*) FROM pg_index WHERE indrelid = 'sensor_data_history'::regclass "
                   "AND indisprimary"),
            1);
  EXPECT_EQ(Number("SELECT count(*) FROM pg_constraint WHERE conname = "
                   "'sensor_data_history_bound'"),
            0);

  // New readings: ids after the newest, rolled up as before.
  const int64_t rolled_up = Number("SELECT sum(reading_count) FROM sensor_data_hourly");
  EXPECT_EQ(rolled_up, 1000);
  EXPECT_EQ(Number("INSERT INTO sensor_data (device_id, measurement_value, \"timestamp\") "
                   "VALUES (1, 7, now()) RETURNING id"),
            newest_id + 1);
  EXPECT_EQ(Number("SELECT sum(reading_count) FROM sensor_data_hourly"), rolled_up + 1);
  // Deleting the device still takes its readings (and rollups) with it.
  database_->Query("DELETE FROM devices WHERE id = 1");
  EXPECT_EQ(Number("SELECT count(*) FROM sensor_data"), 0);
}

TEST_F(PartitionConversionTest, ItsStepsRunAgainAfterAnInterruption) {
  ASSERT_OK(storage::ApplyMigrations(*pool_, storage::BuiltInMigrations()));
  const std::string partitions = Text(
      "SELECT string_agg(inhrelid::regclass::text, ',' ORDER BY inhrelid::regclass::text) "
      "FROM pg_inherits WHERE inhparent = 'sensor_data'::regclass");
  // As if the runner stopped after the last step and before recording it.
  database_->Query("DELETE FROM schema_migrations WHERE version = 24");
  ASSERT_OK(storage::ApplyMigrations(*pool_, storage::BuiltInMigrations()));
  EXPECT_EQ(Text("SELECT string_agg(inhrelid::regclass::text, ',' ORDER BY "
                 "inhrelid::regclass::text) FROM pg_inherits WHERE inhparent = "
                 "'sensor_data'::regclass"),
            partitions);
  EXPECT_EQ(Number("SELECT count(*) FROM sensor_data"), 1000);
}

}  // namespace
}  // namespace plantmon
