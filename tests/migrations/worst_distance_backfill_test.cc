// Migration 0006 gives open alerts that predate it the distance the alert
// engine would have stored (alerting::Distance), so that extending them keeps
// the worst value they already had.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "postgres/transaction.h"
#include "storage/migration_runner.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

using ::plantmon::testing::TestDatabase;

TEST(WorstDistanceBackfillTest, OpenAlertsGetTheDistanceOfTheirWorstValue) {
  std::unique_ptr<TestDatabase> database = TestDatabase::CreateOrDie(/*migrate=*/false);
  std::unique_ptr<postgres::ConnectionPool> pool = database->NewPool();
  ASSERT_OK(storage::ApplyMigrations(*pool, storage::BuiltInMigrationsBefore(6)));

  // A plant of a species with a 22 °C optimum, and one open alert per rule type.
  database->Query(
      "INSERT INTO users (id, email, username, password_hash) VALUES (1, 'a@b.c', 'a', 'h');"
      "INSERT INTO plant_types (id, name, optimal_temperature) VALUES (1, 'Fern', 22);"
      "INSERT INTO plants (id, user_id, plant_type_id, plant_name) VALUES (1, 1, 1, 'P');"
      "INSERT INTO alert_rules (id, user_id, plant_id, rule_name, rule_type, parameter_name, "
      "condition_operator, threshold_value, threshold_high) VALUES "
      "(1, 1, 1, 'dry', 'threshold', 'soil_moisture', '<', 25, NULL),"
      "(2, 1, 1, 'band', 'range', 'temperature', '>', 18, 26),"
      "(3, 1, 1, 'off', 'deviation', 'temperature', '>', 3, NULL),"
      "(4, 1, 1, 'old', 'threshold', 'soil_moisture', '<', 25, NULL);"
      "INSERT INTO alerts (user_id, plant_id, rule_id, severity, message, worst_value, status, "
      "triggered_at) VALUES "
      "(1, 1, 1, 'warning', 'm', 18, 'active', now()),"
      "(1, 1, 2, 'warning', 'm', 29.5, 'acknowledged', now()),"
      "(1, 1, 3, 'warning', 'm', 17, 'active', now()),"
      "(1, 1, 4, 'warning', 'm', 10, 'resolved', now())");

  ASSERT_OK(storage::ApplyMigrations(*pool, storage::BuiltInMigrations()));
  pqxx::result rows =
      database->Query("SELECT rule_id, worst_distance FROM alerts ORDER BY rule_id");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_DOUBLE_EQ(rows[0][1].as<double>(), 7) << "threshold: 25 - 18";
  EXPECT_DOUBLE_EQ(rows[1][1].as<double>(), 3.5) << "range: 29.5 beyond 26";
  EXPECT_DOUBLE_EQ(rows[2][1].as<double>(), 5) << "deviation: 17 from the optimum 22";
  EXPECT_TRUE(rows[3][1].is_null()) << "resolved alerts are never extended again";
}

}  // namespace
}  // namespace plantmon
