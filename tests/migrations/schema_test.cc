// Exercises every table of migrations/ with real statements: unique and
// composite-unique violations, NOT NULL, defaults, CHECKs, the CASCADE
// and RESTRICT rules, and updated_at moving on UPDATE.
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "postgres/transaction.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

using ::absl::StatusCode;
using ::plantmon::testing::TestDatabase;

class SchemaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { database_ = TestDatabase::CreateOrDie().release(); }
  static void TearDownTestSuite() { delete database_; }

  void SetUp() override {
    pool_ = database_->NewPool();
    // Each test starts from empty tables.
    ASSERT_OK(
        Exec("TRUNCATE users, manufacturers, device_types, devices, plant_types, plants, "
             "plant_device_assignments, sensor_data, alert_rules, alerts, user_sessions, api_keys, "
             "ingest_batches, ingest_source_receipts, alert_rule_sources, alert_rule_timers, "
             "watering_events, alert_events, notification_channels, notification_alert_states, "
             "webhook_deliveries, sensor_data_hourly, sensor_data_daily, sensor_data_daily_stale, "
             "device_type_measurements "
             "RESTART IDENTITY"));
  }

  absl::Status Exec(const std::string& sql) {
    return postgres::ExecuteUpdate(*pool_, sql).status();
  }
  int64_t Count(const std::string& table) {
    return database_->Query("SELECT count(*) FROM " + table).front().front().as<int64_t>();
  }

  // A user with a plant, a device assigned to it, readings, a rule and an alert.
  void InsertGraph(const std::string& suffix) {
    ASSERT_OK(Exec("INSERT INTO users (email, username, password_hash) VALUES ('u" + suffix +
                   "@example.com', 'u" + suffix + "', 'h')"));
    ASSERT_OK(
        Exec("INSERT INTO manufacturers (name) VALUES ('M" + suffix + "') ON CONFLICT DO NOTHING"));
    ASSERT_OK(
        Exec("INSERT INTO device_types (manufacturer_id, name, device_type) "
             "SELECT id, 'T', 'sensor' FROM manufacturers WHERE name = 'M" +
             suffix + "'"));
    ASSERT_OK(Exec("INSERT INTO plant_types (name) VALUES ('P" + suffix + "')"));
    ASSERT_OK(
        Exec("INSERT INTO devices (user_id, device_type_id, unique_identifier, device_name) "
             "SELECT u.id, t.id, 'dev" +
             suffix +
             "', 'Device' FROM users u, device_types t "
             "JOIN manufacturers m ON m.id = t.manufacturer_id "
             "WHERE u.username = 'u" +
             suffix + "' AND m.name = 'M" + suffix + "'"));
    ASSERT_OK(
        Exec("INSERT INTO plants (user_id, plant_type_id, plant_name) "
             "SELECT u.id, p.id, 'Plant' FROM users u, plant_types p "
             "WHERE u.username = 'u" +
             suffix + "' AND p.name = 'P" + suffix + "'"));
    ASSERT_OK(
        Exec("INSERT INTO plant_device_assignments (plant_id, device_id, assignment_type) "
             "SELECT p.id, d.id, 'temperature' FROM plants p JOIN devices d "
             "ON d.user_id = p.user_id JOIN users u ON u.id = p.user_id "
             "WHERE u.username = 'u" +
             suffix + "'"));
    ASSERT_OK(
        Exec("INSERT INTO sensor_data (device_id, measurement_value, \"timestamp\") "
             "SELECT d.id, g, now() - g * interval '1 minute' FROM devices d, "
             "generate_series(1, 3) g WHERE d.unique_identifier = 'dev" +
             suffix + "'"));
    ASSERT_OK(
        Exec("INSERT INTO alert_rules (user_id, plant_id, rule_name, rule_type, "
             "parameter_name, condition_operator, threshold_value) "
             "SELECT p.user_id, p.id, 'Hot', 'threshold', 'temperature', '>', 30 "
             "FROM plants p JOIN users u ON u.id = p.user_id WHERE u.username = 'u" +
             suffix + "'"));
    ASSERT_OK(
        Exec("INSERT INTO alerts (user_id, plant_id, rule_id, severity, message, "
             "triggered_at) SELECT r.user_id, r.plant_id, r.id, 'warning', 'hot', now() "
             "FROM alert_rules r JOIN users u ON u.id = r.user_id WHERE u.username = 'u" +
             suffix + "'"));
  }

  static TestDatabase* database_;
  std::unique_ptr<postgres::ConnectionPool> pool_;
};

TestDatabase* SchemaTest::database_ = nullptr;

TEST_F(SchemaTest, UsersEnforceUniqueEmailAndUsernameAndFillDefaults) {
  ASSERT_OK(Exec("INSERT INTO users (email, username, password_hash) VALUES ('a@x.io', 'a', 'h')"));
  EXPECT_CODE(
      Exec("INSERT INTO users (email, username, password_hash) VALUES ('a@x.io', 'b', 'h')"),
      StatusCode::kAlreadyExists);
  EXPECT_CODE(
      Exec("INSERT INTO users (email, username, password_hash) VALUES ('b@x.io', 'a', 'h')"),
      StatusCode::kAlreadyExists);
  EXPECT_CODE(Exec("INSERT INTO users (email, username) VALUES ('c@x.io', 'c')"),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(Exec("INSERT INTO users (email, username, password_hash) VALUES "
                   "('d@x.io', repeat('x', 101), 'h')"),
              StatusCode::kInvalidArgument);
  pqxx::result row = database_->Query(
      "SELECT is_active, is_verified, created_at IS NOT NULL, updated_at IS NOT NULL, "
      "last_login IS NULL FROM users");
  EXPECT_TRUE(row[0][0].as<bool>());
  EXPECT_FALSE(row[0][1].as<bool>());
  EXPECT_TRUE(row[0][2].as<bool>());
  EXPECT_TRUE(row[0][3].as<bool>());
  EXPECT_TRUE(row[0][4].as<bool>());
}

TEST_F(SchemaTest, ManufacturerNamesAreUnique) {
  ASSERT_OK(Exec("INSERT INTO manufacturers (name) VALUES ('Xiaomi')"));
  EXPECT_CODE(Exec("INSERT INTO manufacturers (name) VALUES ('Xiaomi')"),
              StatusCode::kAlreadyExists);
  EXPECT_FALSE(database_->Query("SELECT is_verified FROM manufacturers")[0][0].as<bool>());
}

TEST_F(SchemaTest, DeviceTypesAreUniquePerManufacturerWithAValidEnumAndRange) {
  ASSERT_OK(Exec("INSERT INTO manufacturers (id, name) VALUES (1, 'Xiaomi'), (2, 'Sonoff')"));
  ASSERT_OK(
      Exec("INSERT INTO device_types (manufacturer_id, name, device_type) "
           "VALUES (1, 'Thermo', 'sensor')"));
  EXPECT_CODE(Exec("INSERT INTO device_types (manufacturer_id, name, device_type) "
                   "VALUES (1, 'Thermo', 'actuator')"),
              StatusCode::kAlreadyExists);
  EXPECT_OK(
      Exec("INSERT INTO device_types (manufacturer_id, name, device_type) "
           "VALUES (2, 'Thermo', 'combined')"));
  EXPECT_FALSE(Exec("INSERT INTO device_types (manufacturer_id, name, device_type) "
                    "VALUES (1, 'Other', 'robot')")
                   .ok());
  EXPECT_CODE(Exec("INSERT INTO device_types (manufacturer_id, name, device_type) "
                   "VALUES (1, 'Null kind', NULL)"),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(Exec("INSERT INTO device_types (manufacturer_id, name, device_type, min_value, "
                   "max_value) VALUES (1, 'Backwards', 'sensor', 10, -10)"),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(Exec("INSERT INTO device_types (manufacturer_id, name, device_type) "
                   "VALUES (99, 'Orphan', 'sensor')"),
              StatusCode::kFailedPrecondition);
}

TEST_F(SchemaTest, DevicesHaveUniqueIdentifiersAndRangedBattery) {
  InsertGraph("1");
  EXPECT_CODE(Exec("INSERT INTO devices (user_id, device_type_id, unique_identifier, device_name) "
                   "SELECT user_id, device_type_id, 'dev1', 'Copy' FROM devices"),
              StatusCode::kAlreadyExists);
  EXPECT_CODE(Exec("UPDATE devices SET battery_level = 101"), StatusCode::kInvalidArgument);
  EXPECT_OK(Exec("UPDATE devices SET battery_level = 100, rssi = -45"));
  EXPECT_TRUE(database_->Query("SELECT is_active FROM devices")[0][0].as<bool>());
}

TEST_F(SchemaTest, PlantTypesHaveUniqueNamesAndSaneCareValues) {
  ASSERT_OK(Exec("INSERT INTO plant_types (name, optimal_humidity) VALUES ('Monstera', 72.5)"));
  EXPECT_CODE(Exec("INSERT INTO plant_types (name) VALUES ('Monstera')"),
              StatusCode::kAlreadyExists);
  EXPECT_CODE(Exec("INSERT INTO plant_types (name, optimal_humidity) VALUES ('Wet', 120)"),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(Exec("INSERT INTO plant_types (name, water_frequency_days) VALUES ('Never', 0)"),
              StatusCode::kInvalidArgument);
}

TEST_F(SchemaTest, PlantsDefaultToHealthyAndFollowTheirOpenAlerts) {
  InsertGraph("1");
  ASSERT_OK(
      Exec("INSERT INTO plants (user_id, plant_type_id, plant_name) "
           "SELECT user_id, plant_type_id, 'Second' FROM plants"));
  EXPECT_TRUE(database_->Query("SELECT is_healthy FROM plants WHERE plant_name = 'Second'")[0][0]
                  .as<bool>());
  // InsertGraph raised a WARNING alert on the first plant.
  pqxx::result first =
      database_->Query("SELECT is_healthy, health_status FROM plants WHERE plant_name = 'Plant'");
  EXPECT_FALSE(first[0][0].as<bool>());
  EXPECT_EQ(first[0][1].as<std::string>(), "warning alert open");
  ASSERT_OK(Exec("UPDATE alerts SET status = 'resolved', resolved_at = now()"));
  first =
      database_->Query("SELECT is_healthy, health_status FROM plants WHERE plant_name = 'Plant'");
  EXPECT_TRUE(first[0][0].as<bool>());
  EXPECT_EQ(first[0][1].as<std::string>(), "healthy");
  EXPECT_CODE(Exec("INSERT INTO plants (user_id, plant_type_id) SELECT user_id, plant_type_id "
                   "FROM plants"),
              StatusCode::kInvalidArgument);
}

TEST_F(SchemaTest, AssignmentsAreUniquePerPlantAndDeviceWithAKnownRole) {
  InsertGraph("1");
  EXPECT_CODE(Exec("INSERT INTO plant_device_assignments (plant_id, device_id, assignment_type) "
                   "SELECT plant_id, device_id, 'humidity' FROM plant_device_assignments"),
              StatusCode::kAlreadyExists);
  ASSERT_OK(Exec("DELETE FROM plant_device_assignments"));
  EXPECT_CODE(Exec("INSERT INTO plant_device_assignments (plant_id, device_id, assignment_type) "
                   "SELECT p.id, d.id, 'disco' FROM plants p, devices d"),
              StatusCode::kInvalidArgument);
}

TEST_F(SchemaTest, SensorDataDefaultsAndQualityRange) {
  InsertGraph("1");
  pqxx::result row = database_->Query(
      "SELECT data_quality, is_anomaly, received_at IS NOT NULL FROM sensor_data LIMIT 1");
  EXPECT_EQ(row[0][0].as<int>(), 100);
  EXPECT_FALSE(row[0][1].as<bool>());
  EXPECT_TRUE(row[0][2].as<bool>());
  EXPECT_CODE(Exec("UPDATE sensor_data SET data_quality = 101"), StatusCode::kInvalidArgument);
  EXPECT_CODE(Exec("INSERT INTO sensor_data (device_id, measurement_value) "
                   "SELECT id, 1 FROM devices"),
              StatusCode::kInvalidArgument);
}

TEST_F(SchemaTest, AlertRulesDefaultToWarningAndCheckTheirVocabulary) {
  InsertGraph("1");
  EXPECT_EQ(database_->Query("SELECT severity FROM alert_rules")[0][0].as<std::string>(),
            "warning");
  EXPECT_CODE(Exec("UPDATE alert_rules SET condition_operator = '=~'"),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(Exec("UPDATE alert_rules SET rule_type = 'vibes'"), StatusCode::kInvalidArgument);
  // Parameters are the catalogue's (migration 0011): a foreign key.
  EXPECT_CODE(Exec("UPDATE alert_rules SET parameter_name = 'mood'"),
              StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Exec("UPDATE alert_rules SET severity = 'apocalyptic'").ok());
}

TEST_F(SchemaTest, AlertsDefaultToActive) {
  InsertGraph("1");
  EXPECT_EQ(database_->Query("SELECT status FROM alerts")[0][0].as<std::string>(), "active");
  EXPECT_CODE(Exec("INSERT INTO alerts (user_id, plant_id, rule_id, severity, triggered_at) "
                   "SELECT user_id, plant_id, rule_id, severity, now() FROM alerts"),
              StatusCode::kInvalidArgument);
}

TEST_F(SchemaTest, DeletingAUserRemovesExactlyWhatItOwned) {
  InsertGraph("1");
  InsertGraph("2");
  EXPECT_EQ(Count("alert_events"), 2);  // each alert's insertion
  ASSERT_OK(Exec("DELETE FROM users WHERE username = 'u1'"));
  EXPECT_EQ(Count("users"), 1);
  EXPECT_EQ(Count("alert_events"), 1);  // migration 0017's trigger, not a foreign key
  EXPECT_EQ(Count("devices"), 1);
  EXPECT_EQ(Count("plants"), 1);
  EXPECT_EQ(Count("plant_device_assignments"), 1);
  EXPECT_EQ(Count("sensor_data"), 3);
  EXPECT_EQ(Count("alert_rules"), 1);
  EXPECT_EQ(Count("alerts"), 1);
  // Catalogs are shared and survive.
  EXPECT_EQ(Count("manufacturers"), 2);
  EXPECT_EQ(Count("device_types"), 2);
  EXPECT_EQ(Count("plant_types"), 2);
}

TEST_F(SchemaTest, DeletingADeviceRemovesItsReadingsAndAssignmentsOnly) {
  InsertGraph("1");
  ASSERT_OK(Exec("DELETE FROM devices"));
  EXPECT_EQ(Count("sensor_data"), 0);
  EXPECT_EQ(Count("plant_device_assignments"), 0);
  EXPECT_EQ(Count("plants"), 1);
  EXPECT_EQ(Count("alert_rules"), 1);
  EXPECT_EQ(Count("alerts"), 1);
}

TEST_F(SchemaTest, DeletingAPlantRemovesAssignmentsRulesAndAlertsButNotDevices) {
  InsertGraph("1");
  ASSERT_OK(Exec("DELETE FROM plants"));
  EXPECT_EQ(Count("plant_device_assignments"), 0);
  EXPECT_EQ(Count("alert_rules"), 0);
  EXPECT_EQ(Count("alerts"), 0);
  EXPECT_EQ(Count("devices"), 1);
  EXPECT_EQ(Count("sensor_data"), 3);
}

TEST_F(SchemaTest, DeletingARuleRemovesItsAlerts) {
  InsertGraph("1");
  ASSERT_OK(Exec("DELETE FROM alert_rules"));
  EXPECT_EQ(Count("alerts"), 0);
  EXPECT_EQ(Count("plants"), 1);
}

TEST_F(SchemaTest, CatalogEntriesInUseCannotBeDeleted) {
  InsertGraph("1");
  EXPECT_CODE(Exec("DELETE FROM plant_types"), StatusCode::kFailedPrecondition);
  EXPECT_CODE(Exec("DELETE FROM device_types"), StatusCode::kFailedPrecondition);
  // Manufacturer -> device types is CASCADE, but the device type is still
  // RESTRICTed by its device, so the whole delete fails.
  EXPECT_CODE(Exec("DELETE FROM manufacturers"), StatusCode::kFailedPrecondition);
  ASSERT_OK(Exec("DELETE FROM devices"));
  ASSERT_OK(Exec("DELETE FROM manufacturers"));
  EXPECT_EQ(Count("device_types"), 0);
  ASSERT_OK(Exec("DELETE FROM plants"));
  EXPECT_OK(Exec("DELETE FROM plant_types"));
}

TEST_F(SchemaTest, UpdatedAtMovesOnEveryUpdateOfEveryTable) {
  InsertGraph("1");
  for (const char* table : {"users", "manufacturers", "device_types", "devices", "plant_types",
                            "plants", "plant_device_assignments", "alert_rules", "alerts"}) {
    SCOPED_TRACE(table);
    const std::string t = table;
    ASSERT_OK(Exec("UPDATE " + t + " SET updated_at = '2000-01-01', created_at = '2000-01-01'"));
    // The trigger overrides any value a client writes.
    EXPECT_TRUE(
        database_->Query("SELECT bool_and(updated_at > '2001-01-01') FROM " + t)[0][0].as<bool>());
    auto before =
        database_->Query("SELECT max(updated_at)::text FROM " + t)[0][0].as<std::string>();
    ASSERT_OK(Exec("UPDATE " + t + " SET created_at = created_at"));
    EXPECT_TRUE(
        database_
            ->Query(absl::StrCat("SELECT bool_and(updated_at > '", before, "') FROM ", t))[0][0]
            .as<bool>());
  }
}

TEST_F(SchemaTest, EnumsHaveTheSeedsLowercaseValues) {
  auto values = [&](const std::string& type) {
    pqxx::result rows = database_->Query(
        "SELECT string_agg(v::text, ',' ORDER BY v) FROM "
        "unnest(enum_range(NULL::" +
        type + ")) v");
    return rows[0][0].as<std::string>();
  };
  EXPECT_EQ(values("device_type_enum"), "sensor,actuator,combined");
  EXPECT_EQ(values("alert_severity_enum"), "info,warning,critical");
  EXPECT_EQ(values("alert_status_enum"), "active,acknowledged,resolved");
}

TEST_F(SchemaTest, SeedQueryShapesAreServedByIndexes) {
  // Small tables make sequential scans cheapest; this asks the planner what it
  // would use if scans were expensive, i.e. whether an index exists at all.
  auto plan = [&](const std::string& query) {
    std::unique_ptr<pqxx::connection> connection = database_->Connect();
    pqxx::work transaction(*connection);
    transaction.exec("SET LOCAL enable_seqscan = off");
    std::string text;
    for (const pqxx::row& row : transaction.exec("EXPLAIN " + query)) {
      text += row[0].as<std::string>() + "\n";
    }
    return text;
  };
  for (const char* query : {
           "SELECT * FROM users WHERE email = 'a'",
           "SELECT * FROM users WHERE username = 'a'",
           "SELECT * FROM users WHERE is_active",
           "SELECT * FROM devices WHERE user_id = 1",
           "SELECT * FROM devices WHERE unique_identifier = 'x'",
           "SELECT * FROM devices WHERE device_type_id = 1",
           "SELECT * FROM plants WHERE user_id = 1 AND NOT is_healthy",
           "SELECT * FROM plants WHERE plant_type_id = 1",
           "SELECT * FROM sensor_data WHERE device_id = 3",
           // One query over two lines, not two queries:
           // NOLINTNEXTLINE(bugprone-suspicious-missing-comma)
           "SELECT * FROM sensor_data WHERE device_id = 3 AND \"timestamp\" >= now() - "
           "interval '24 hours' ORDER BY \"timestamp\" DESC",
           "SELECT * FROM sensor_data WHERE \"timestamp\" >= now() - interval '1 hour'",
           "SELECT * FROM sensor_data WHERE is_anomaly",
           "SELECT * FROM alerts WHERE user_id = 1 AND status <> 'resolved'",
           "SELECT * FROM alerts WHERE plant_id = 1 ORDER BY triggered_at DESC",
           "SELECT * FROM alerts WHERE rule_id = 1",
           "SELECT * FROM alert_rules WHERE plant_id = 1 AND is_active",
       }) {
    SCOPED_TRACE(query);
    std::string text = plan(query);
    EXPECT_EQ(text.find("Seq Scan"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace plantmon
