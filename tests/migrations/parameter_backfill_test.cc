// Migrations 0011-0013 give readings stored before readings named their
// parameter the one they meant (the device's assignment role, else its type's
// primary measurement, else 'unspecified'), in batches, then make the column
// NOT NULL and move the listing index to (device_id, parameter_name,
// timestamp).
#include <string>

#include "gtest/gtest.h"
#include "storage/migration_runner.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

using ::plantmon::testing::TestDatabase;

TEST(ParameterBackfillTest, ExistingReadingsGetTheParameterTheyMeant) {
  std::unique_ptr<TestDatabase> database = TestDatabase::CreateOrDie(/*migrate=*/false);
  std::unique_ptr<postgres::ConnectionPool> pool = database->NewPool();
  ASSERT_OK(storage::ApplyMigrations(*pool, storage::BuiltInMigrationsBefore(11)));

  // Type 1 ('%'): device 1 assigned as humidity, device 3 unassigned.
  // Type 2 ('°C'): device 2, unassigned. Type 3 ('%'): device 4, unassigned.
  // Device 5 (type 1) is assigned twice: inactive as light, active as
  // temperature. 45,000 readings of device 1 take three batches.
  database->Query(
      "INSERT INTO users (id, email, username, password_hash) VALUES (1, 'a@b.c', 'a', 'h');"
      "INSERT INTO manufacturers (id, name) VALUES (1, 'M');"
      "INSERT INTO device_types (id, manufacturer_id, name, device_type, data_unit, min_value, "
      "max_value) VALUES (1, 1, 'hygro', 'sensor', '%', 0, 100), "
      "(2, 1, 'thermo', 'sensor', '°C', -20, 60), (3, 1, 'mystery', 'sensor', '%', 0, 100);"
      "INSERT INTO devices (id, user_id, device_type_id, unique_identifier, device_name) VALUES "
      "(1, 1, 1, 'd1', 'd1'), (2, 1, 2, 'd2', 'd2'), (3, 1, 1, 'd3', 'd3'), "
      "(4, 1, 3, 'd4', 'd4'), (5, 1, 1, 'd5', 'd5');"
      "INSERT INTO plant_types (id, name) VALUES (1, 'Fern');"
      "INSERT INTO plants (id, user_id, plant_type_id, plant_name) VALUES (1, 1, 1, 'P'), "
      "(2, 1, 1, 'Q');"
      "INSERT INTO plant_device_assignments (plant_id, device_id, assignment_type, is_active) "
      "VALUES (1, 1, 'humidity', true), (1, 5, 'light', false), (2, 5, 'temperature', true);"
      "INSERT INTO alert_rules (user_id, plant_id, rule_name, rule_type, parameter_name, "
      "condition_operator, threshold_value) VALUES (1, 1, 'dry air', 'threshold', 'humidity', "
      "'<', 30);"
      "INSERT INTO sensor_data (device_id, measurement_value, \"timestamp\") "
      "SELECT 1, 50, now() - i * interval '1 second' FROM generate_series(1, 45000) i;"
      "INSERT INTO sensor_data (device_id, measurement_value, \"timestamp\") VALUES "
      "(2, 21, now()), (3, 40, now()), (4, 7, now()), (5, 19, now())");

  ASSERT_OK(storage::ApplyMigrations(*pool, storage::BuiltInMigrations()));

  pqxx::result rows = database->Query(
      "SELECT device_id, parameter_name, count(*) FROM sensor_data "
      "GROUP BY device_id, parameter_name ORDER BY device_id");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0][1].as<std::string>(), "humidity") << "device 1: its role";
  EXPECT_EQ(rows[0][2].as<int>(), 45000) << "every batch";
  EXPECT_EQ(rows[1][1].as<std::string>(), "temperature") << "device 2: its type's unit, °C";
  EXPECT_EQ(rows[2][1].as<std::string>(), "humidity")
      << "device 3: its type's primary, from how the type's devices are used";
  EXPECT_EQ(rows[3][1].as<std::string>(), "unspecified") << "device 4: nothing says";
  EXPECT_EQ(rows[4][1].as<std::string>(), "temperature") << "device 5: its active role";

  // The type got its primary measurement and declares it.
  EXPECT_EQ(database->Query("SELECT primary_parameter FROM device_types WHERE id = 1")[0][0]
                .as<std::string>(),
            "humidity");
  EXPECT_TRUE(
      database->Query("SELECT primary_parameter FROM device_types WHERE id = 3")[0][0].is_null());
  EXPECT_EQ(database
                ->Query("SELECT count(*) FROM device_type_measurements WHERE device_type_id = 2 "
                        "AND parameter_name = 'temperature' AND min_value = -20")[0][0]
                .as<int>(),
            1);

  // NOT NULL, and the index leads with what listings filter on.
  EXPECT_EQ(
      database
          ->Query("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'sensor_data'::regclass "
                  "AND attname = 'parameter_name'")[0][0]
          .as<bool>(),
      true);
  EXPECT_EQ(database
                ->Query("SELECT count(*) FROM pg_indexes WHERE tablename = 'sensor_data' AND "
                        "indexdef LIKE '%(device_id, parameter_name, \"timestamp\")%'")[0][0]
                .as<int>(),
            1);
  EXPECT_EQ(database
                ->Query("SELECT count(*) FROM pg_indexes WHERE indexname = "
                        "'sensor_data_device_id_timestamp_idx'")[0][0]
                .as<int>(),
            0);
  EXPECT_EQ(database
                ->Query("SELECT count(*) FROM pg_class WHERE relname = "
                        "'sensor_data_parameter_backfill'")[0][0]
                .as<int>(),
            0)
      << "the helper table is gone";
}

}  // namespace
}  // namespace plantmon
