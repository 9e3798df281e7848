// Readings that say what they measure (docs/telemetry.md, "Parameters"): the
// parameter catalogue, device types that declare several measurements, and
// one multi-sensor device feeding every rule of its plant.
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/api_fixture.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

class MeasurementsTest : public ApiTest {
 protected:
  // A Xiaomi Mi Flora (HHCCJCY01) as its documentation lists it.
  static v1::DeviceType MakeMiFlora(const std::string& name) {
    return MakeDeviceTypeMeasuring(
        name, {Measures("soil_moisture", 0, 100), Measures("temperature", -10, 60),
               Measures("light", 0, 100000), Measures("conductivity", 0, 10000),
               Measures("battery", 0, 100)});
  }

  static v1::IncomingReading Reading(int64_t device, std::optional<std::string> parameter,
                                     double value, int64_t seconds) {
    v1::IncomingReading reading;
    reading.set_device_id(device);
    if (parameter) reading.set_parameter_name(*parameter);
    reading.set_measurement_value(value);
    reading.mutable_timestamp()->set_seconds(seconds);
    return reading;
  }

  static int64_t MakeRule(const SignedInUser& owner, int64_t plant, const std::string& parameter,
                          const std::string& op, double threshold,
                          std::optional<int64_t> device = std::nullopt) {
    v1::CreateAlertRuleRequest request;
    v1::AlertRule* rule = request.mutable_alert_rule();
    rule->set_plant_id(plant);
    rule->set_rule_name(parameter + " rule");
    rule->set_rule_type("threshold");
    rule->set_parameter_name(parameter);
    rule->set_condition_operator(op);
    rule->set_threshold_value(threshold);
    if (device) rule->set_device_id(*device);
    v1::AlertRule made;
    grpc::Status status = alerts_->CreateAlertRule(Context(owner.token).get(), request, &made);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return made.id();
  }

  // An owner's Mi Flora assigned once, as soil_moisture, to a plant.
  struct FloraOnPlant {
    SignedInUser owner;
    int64_t device = 0;
    int64_t plant = 0;
  };
  static FloraOnPlant MakeFloraOnPlant(const std::string& name, const std::string& mac) {
    FloraOnPlant made;
    made.owner = SignUp(name + "_owner");
    made.device = MakeDevice(made.owner, MakeMiFlora("HHCCJCY01 " + name).id(), mac).id();
    made.plant = MakePlant(made.owner, MakePlantType(name + " species").id(), name).id();
    AssignDevice(made.owner, made.plant, made.device, "soil_moisture");
    return made;
  }

  static std::set<int64_t> RulesWithOpenAlerts(const SignedInUser& owner) {
    v1::ListAlertsResponse response;
    EXPECT_TRUE(alerts_->ListAlerts(Context(owner.token).get(), {}, &response).ok());
    std::set<int64_t> rules;
    for (const auto& alert : response.alerts()) {
      if (alert.status() == v1::ALERT_STATUS_ACTIVE) rules.insert(alert.rule_id());
    }
    return rules;
  }
};

TEST_F(MeasurementsTest, TheCatalogueListsTheSeededParametersAndAdministratorsAddMore) {
  SignedInUser user = SignUp("catalogue_reader");
  v1::ListMeasurementParametersResponse listed;
  ASSERT_TRUE(devices_->ListMeasurementParameters(Context(user.token).get(), {}, &listed).ok());
  std::map<std::string, v1::MeasurementParameter> by_name;
  for (const auto& parameter : listed.parameters()) by_name[parameter.name()] = parameter;
  for (const char* name : {"soil_moisture", "temperature", "humidity", "light", "conductivity",
                           "battery", "soil_temperature", "co2", "pressure"}) {
    ASSERT_TRUE(by_name.count(name)) << name;
  }
  EXPECT_EQ(by_name["conductivity"].unit(), "µS/cm");
  EXPECT_EQ(by_name["co2"].unit(), "ppm");
  EXPECT_EQ(by_name["pressure"].min_plausible(), 300);

  v1::CreateMeasurementParameterRequest create;
  create.mutable_parameter()->set_name("leaf_wetness");
  create.mutable_parameter()->set_unit("%");
  create.mutable_parameter()->set_min_plausible(0);
  create.mutable_parameter()->set_max_plausible(100);
  v1::MeasurementParameter made;
  EXPECT_EQ(
      devices_->CreateMeasurementParameter(Context(user.token).get(), create, &made).error_code(),
      StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      devices_->CreateMeasurementParameter(Context(admin_->token).get(), create, &made).ok());
  EXPECT_EQ(made.name(), "leaf_wetness");
  EXPECT_TRUE(made.has_created_at());
  EXPECT_EQ(devices_->CreateMeasurementParameter(Context(admin_->token).get(), create, &made)
                .error_code(),
            StatusCode::ALREADY_EXISTS);
  for (const char* bad : {"Leaf", "", "leaf wetness", "1leaf"}) {
    create.mutable_parameter()->set_name(bad);
    EXPECT_EQ(devices_->CreateMeasurementParameter(Context(admin_->token).get(), create, &made)
                  .error_code(),
              StatusCode::INVALID_ARGUMENT)
        << bad;
  }
  create.mutable_parameter()->set_name("no_unit");
  create.mutable_parameter()->clear_unit();
  EXPECT_EQ(devices_->CreateMeasurementParameter(Context(admin_->token).get(), create, &made)
                .error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(MeasurementsTest, DeviceTypesDeclareTheirMeasurementsAndAPrimaryOne) {
  v1::DeviceType flora = MakeMiFlora("HHCCJCY01 declare");
  ASSERT_EQ(flora.measurements_size(), 5);
  EXPECT_EQ(flora.measurements(1).parameter_name(), "temperature");
  EXPECT_EQ(flora.primary_parameter(), "soil_moisture") << "the first listed";
  // The seed's single measurement fields describe the primary one.
  EXPECT_EQ(flora.min_value(), 0);
  EXPECT_EQ(flora.max_value(), 100);
  v1::GetDeviceTypeRequest get;
  get.set_id(flora.id());
  v1::DeviceType fetched;
  ASSERT_TRUE(devices_->GetDeviceType(Context(admin_->token).get(), get, &fetched).ok());
  EXPECT_EQ(fetched.measurements_size(), 5);

  // Replacing the set: the primary must stay among it.
  v1::UpdateDeviceTypeRequest update;
  update.mutable_device_type()->set_id(flora.id());
  *update.mutable_device_type()->add_measurements() = Measures("temperature", -10, 60);
  update.mutable_update_mask()->add_paths("measurements");
  v1::DeviceType updated;
  EXPECT_EQ(devices_->UpdateDeviceType(Context(admin_->token).get(), update, &updated).error_code(),
            StatusCode::INVALID_ARGUMENT)
      << "soil_moisture is the primary measurement";
  update.mutable_device_type()->set_primary_parameter("temperature");
  update.mutable_update_mask()->add_paths("primary_parameter");
  ASSERT_TRUE(devices_->UpdateDeviceType(Context(admin_->token).get(), update, &updated).ok());
  ASSERT_EQ(updated.measurements_size(), 1);
  EXPECT_EQ(updated.primary_parameter(), "temperature");

  // What a type may declare.
  auto create_with = [&](const std::function<void(v1::DeviceType*)>& change) {
    v1::CreateDeviceTypeRequest request;
    request.mutable_device_type()->set_manufacturer_id(flora.manufacturer_id());
    request.mutable_device_type()->set_name("variant " + std::to_string(std::rand()));
    request.mutable_device_type()->set_device_type(v1::DEVICE_KIND_SENSOR);
    change(request.mutable_device_type());
    v1::DeviceType made;
    return devices_->CreateDeviceType(Context(admin_->token).get(), request, &made);
  };
  EXPECT_EQ(create_with([](v1::DeviceType* t) {
              *t->add_measurements() = Measures("temperature", 0, 1);
              *t->add_measurements() = Measures("temperature", 0, 1);
            }).error_code(),
            StatusCode::INVALID_ARGUMENT)
      << "twice";
  grpc::Status unknown =
      create_with([](v1::DeviceType* t) { *t->add_measurements() = Measures("mood", 0, 1); });
  EXPECT_EQ(unknown.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(unknown.error_message().find("not catalogued"), std::string::npos)
      << unknown.error_message();
  EXPECT_EQ(create_with([](v1::DeviceType* t) {
              *t->add_measurements() = Measures("temperature", 5, 1);
            }).error_code(),
            StatusCode::INVALID_ARGUMENT)
      << "min above max";
  EXPECT_EQ(create_with([](v1::DeviceType* t) {
              *t->add_measurements() = Measures("temperature", 0, 50);
              t->set_primary_parameter("humidity");
            }).error_code(),
            StatusCode::INVALID_ARGUMENT)
      << "a primary it does not measure";
  EXPECT_EQ(create_with([](v1::DeviceType* t) {
              *t->add_measurements() = Measures("temperature", 0, 50);
              t->set_data_unit("lux");
              t->mutable_measurements(0)->set_unit("°C");
            }).error_code(),
            StatusCode::INVALID_ARGUMENT)
      << "data_unit disagreeing with the primary measurement";
}

// One Mi Flora assigned once feeds the moisture and the temperature rules of
// its plant; a parameter its type does not declare is rejected alone; each
// parameter is judged by its own range.
TEST_F(MeasurementsTest, OneMultiSensorDeviceFeedsEveryRuleOfItsPlant) {
  const FloraOnPlant flora = MakeFloraOnPlant("feeds", "C4:7C:8D:6A:00:01");
  const SignedInUser& owner = flora.owner;
  const int64_t device = flora.device;
  const int64_t plant = flora.plant;
  const int64_t dry = MakeRule(owner, plant, "soil_moisture", "<", 20);
  const int64_t hot = MakeRule(owner, plant, "temperature", ">", 30);
  const int64_t salty = MakeRule(owner, plant, "conductivity", ">", 2000);
  const int64_t now = std::time(nullptr);

  v1::UploadReadingsResponse response = UploadOneBatch(
      owner.token, {Reading(device, std::nullopt, 15, now - 50),   // soil_moisture: dry
                    Reading(device, "temperature", 35, now - 40),  // hot
                    Reading(device, "conductivity", 350, now - 30),
                    Reading(device, "humidity", 50, now - 20),  // not measured
                    Reading(device, "temperature", 75, now - 10)});
  EXPECT_EQ(response.accepted_count(), 4);
  ASSERT_EQ(response.rejected_readings_size(), 1);
  EXPECT_EQ(response.rejected_readings(0).index(), 3);
  EXPECT_NE(response.rejected_readings(0).reason().find("humidity is not one device type"),
            std::string::npos)
      << response.rejected_readings(0).reason();
  EXPECT_EQ(RulesWithOpenAlerts(owner), (std::set<int64_t>{dry, hot}))
      << "moisture and temperature from one device, once assigned; conductivity is fine";
  EXPECT_FALSE(RulesWithOpenAlerts(owner).count(salty));

  // Stored as what they are, each flagged by its own range: 75 °C is beyond
  // the type's -10..60, 15 % moisture is not.
  pqxx::result rows = database_->Query(
      "SELECT parameter_name, measurement_value, is_anomaly FROM sensor_data WHERE device_id = " +
      std::to_string(device) + " ORDER BY \"timestamp\"");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "soil_moisture") << "unset: the primary measurement";
  EXPECT_FALSE(rows[0][2].as<bool>());
  EXPECT_EQ(rows[2][0].as<std::string>(), "conductivity");
  EXPECT_EQ(rows[3][0].as<std::string>(), "temperature");
  EXPECT_TRUE(rows[3][2].as<bool>());

  // RecordReading refuses an undeclared parameter with INVALID_ARGUMENT.
  v1::RecordReadingRequest record;
  record.mutable_sensor_data()->set_device_id(device);
  record.mutable_sensor_data()->set_parameter_name("co2");
  record.mutable_sensor_data()->set_measurement_value(400);
  record.mutable_sensor_data()->mutable_timestamp()->set_seconds(now);
  v1::SensorData stored;
  grpc::Status status = telemetry_->RecordReading(Context(owner.token).get(), record, &stored);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << status.error_message();
  record.mutable_sensor_data()->set_parameter_name("light");
  record.mutable_sensor_data()->set_measurement_value(1200);
  ASSERT_TRUE(telemetry_->RecordReading(Context(owner.token).get(), record, &stored).ok());
  EXPECT_EQ(stored.parameter_name(), "light");
  EXPECT_EQ(stored.measurement_unit(), "lux") << "the catalogue's unit";
}

// A rule may pin one device when the plant has two sources of a parameter.
TEST_F(MeasurementsTest, APinnedRuleWatchesOnlyItsDevice) {
  SignedInUser owner = SignUp("pin_owner");
  const v1::DeviceType flora = MakeMiFlora("HHCCJCY01 pin");
  const int64_t near = MakeDevice(owner, flora.id(), "C4:7C:8D:6A:00:02").id();
  const int64_t far = MakeDevice(owner, flora.id(), "C4:7C:8D:6A:00:03").id();
  const int64_t elsewhere = MakeDevice(owner, flora.id(), "C4:7C:8D:6A:00:04").id();
  const int64_t plant = MakePlant(owner, MakePlantType("Fern pin").id(), "Fern").id();
  AssignDevice(owner, plant, near, "soil_moisture");
  AssignDevice(owner, plant, far, "temperature");
  const int64_t pinned = MakeRule(owner, plant, "temperature", ">", 30, near);
  const int64_t unpinned = MakeRule(owner, plant, "temperature", ">", 30);

  v1::CreateAlertRuleRequest bad;
  bad.mutable_alert_rule()->set_plant_id(plant);
  bad.mutable_alert_rule()->set_rule_name("not assigned");
  bad.mutable_alert_rule()->set_rule_type("threshold");
  bad.mutable_alert_rule()->set_parameter_name("temperature");
  bad.mutable_alert_rule()->set_condition_operator(">");
  bad.mutable_alert_rule()->set_threshold_value(30);
  bad.mutable_alert_rule()->set_device_id(elsewhere);
  v1::AlertRule made;
  EXPECT_EQ(alerts_->CreateAlertRule(Context(owner.token).get(), bad, &made).error_code(),
            StatusCode::FAILED_PRECONDITION);
  bad.mutable_alert_rule()->clear_device_id();
  bad.mutable_alert_rule()->set_parameter_name("mood");
  EXPECT_EQ(alerts_->CreateAlertRule(Context(owner.token).get(), bad, &made).error_code(),
            StatusCode::INVALID_ARGUMENT)
      << "a parameter the catalogue does not have";

  const int64_t now = std::time(nullptr);
  UploadOneBatch(owner.token, {Reading(far, "temperature", 35, now - 10)});
  EXPECT_EQ(RulesWithOpenAlerts(owner), (std::set<int64_t>{unpinned}));
  UploadOneBatch(owner.token, {Reading(near, "temperature", 36, now - 5)});
  EXPECT_EQ(RulesWithOpenAlerts(owner), (std::set<int64_t>{pinned, unpinned}));
}

TEST_F(MeasurementsTest, QueriesFilterByParameterAndLatestIsPerParameter) {
  const FloraOnPlant flora = MakeFloraOnPlant("queries", "C4:7C:8D:6A:00:05");
  const SignedInUser& owner = flora.owner;
  const int64_t device = flora.device;
  const int64_t plant = flora.plant;
  const int64_t now = std::time(nullptr);
  std::vector<v1::IncomingReading> readings;
  for (int i = 0; i < 10; ++i) {
    readings.push_back(Reading(device, "soil_moisture", 40 + i, now - 600 + i * 10));
    readings.push_back(Reading(device, "temperature", 20 + i, now - 595 + i * 10));
  }
  readings.push_back(Reading(device, "battery", 97, now - 700));
  EXPECT_EQ(UploadOneBatch(owner.token, readings).accepted_count(), 21);

  // A listing of one parameter, and of all of them in time order across
  // parameters, walked in pages both ways.
  for (const bool newest_first : {false, true}) {
    for (const std::optional<std::string>& parameter :
         {std::optional<std::string>("temperature"), std::optional<std::string>()}) {
      v1::ListSensorDataRequest list;
      list.set_device_id(device);
      list.mutable_start_time()->set_seconds(now - 3600);
      list.mutable_end_time()->set_seconds(now);
      list.set_page_size(3);
      list.set_newest_first(newest_first);
      if (parameter) list.set_parameter_name(*parameter);
      std::vector<v1::SensorData> seen;
      do {
        v1::ListSensorDataResponse page;
        ASSERT_TRUE(telemetry_->ListSensorData(Context(owner.token).get(), list, &page).ok());
        for (const auto& reading : page.sensor_data()) seen.push_back(reading);
        list.set_page_token(page.next_page_token());
      } while (!list.page_token().empty());
      ASSERT_EQ(seen.size(), parameter ? 10u : 21u);
      for (size_t i = 1; i < seen.size(); ++i) {
        const bool ordered =
            newest_first ? seen[i].timestamp().seconds() < seen[i - 1].timestamp().seconds()
                         : seen[i].timestamp().seconds() > seen[i - 1].timestamp().seconds();
        EXPECT_TRUE(ordered) << i;
        if (parameter) {
          EXPECT_EQ(seen[i].parameter_name(), *parameter);
        }
      }
    }
  }

  // The newest of each (device, parameter), and the plant's per parameter.
  v1::GetLatestReadingsRequest latest;
  latest.add_device_ids(device);
  v1::GetLatestReadingsResponse newest;
  ASSERT_TRUE(telemetry_->GetLatestReadings(Context(owner.token).get(), latest, &newest).ok());
  ASSERT_EQ(newest.readings_size(), 3);
  EXPECT_EQ(newest.readings(0).parameter_name(), "battery");
  EXPECT_EQ(newest.readings(0).measurement_value(), 97);
  EXPECT_EQ(newest.readings(1).parameter_name(), "soil_moisture");
  EXPECT_EQ(newest.readings(1).measurement_value(), 49);
  EXPECT_EQ(newest.readings(2).parameter_name(), "temperature");
  EXPECT_EQ(newest.readings(2).measurement_value(), 29);
  v1::GetPlantOverviewRequest overview_request;
  overview_request.set_id(plant);
  v1::PlantOverview overview;
  ASSERT_TRUE(
      plants_->GetPlantOverview(Context(owner.token).get(), overview_request, &overview).ok());
  ASSERT_EQ(overview.latest_by_parameter_size(), 3);
  EXPECT_EQ(overview.latest_by_parameter(2).parameter_name(), "temperature");
  EXPECT_EQ(overview.assigned_devices(0).latest_reading().parameter_name(), "temperature")
      << "the device's newest reading of any parameter";

  // Aggregates: of one parameter; unset means the primary measurement.
  v1::AggregateSensorDataRequest aggregate;
  aggregate.set_device_id(device);
  aggregate.mutable_start_time()->set_seconds(now - 3600);
  aggregate.mutable_end_time()->set_seconds(now);
  aggregate.mutable_bucket_width()->set_seconds(86400);
  v1::AggregateSensorDataResponse buckets;
  ASSERT_TRUE(
      telemetry_->AggregateSensorData(Context(owner.token).get(), aggregate, &buckets).ok());
  ASSERT_EQ(buckets.buckets_size(), 1);
  EXPECT_EQ(buckets.buckets(0).count(), 10);
  EXPECT_EQ(buckets.buckets(0).min_value(), 40) << "soil moisture, the primary";
  aggregate.set_parameter_name("temperature");
  ASSERT_TRUE(
      telemetry_->AggregateSensorData(Context(owner.token).get(), aggregate, &buckets).ok());
  EXPECT_EQ(buckets.buckets(0).max_value(), 29);
}

// The seed's "all active devices with their latest readings" and "delete all
// inactive devices", each in one call.
TEST_F(MeasurementsTest, ListDevicesWithLatestReadingsAndDeleteDevicesByFilter) {
  const FloraOnPlant flora = MakeFloraOnPlant("seedcalls", "C4:7C:8D:6A:00:06");
  const SignedInUser& owner = flora.owner;
  const int64_t quiet = MakeDevice(owner, MakeDeviceType("seedcalls quiet").id(), "quiet-1").id();
  const int64_t old = MakeDevice(owner, MakeDeviceType("seedcalls old").id(), "old-1").id();
  SignedInUser other = SignUp("seedcalls_other");
  const int64_t others =
      MakeDevice(other, MakeDeviceType("seedcalls theirs").id(), "theirs-1").id();
  const int64_t now = std::time(nullptr);
  UploadOneBatch(owner.token, {Reading(flora.device, "soil_moisture", 33, now - 20),
                               Reading(flora.device, "battery", 91, now - 10)});

  v1::ListDevicesRequest list;
  list.set_include_latest_readings(true);
  v1::ListDevicesResponse listed;
  ASSERT_TRUE(devices_->ListDevices(Context(owner.token).get(), list, &listed).ok());
  ASSERT_EQ(listed.devices_size(), 3);
  ASSERT_EQ(listed.latest_readings().size(), 3u) << "devices without readings too";
  const auto& readings = listed.latest_readings().at(flora.device).readings();
  ASSERT_EQ(readings.size(), 2);
  EXPECT_EQ(readings[0].parameter_name(), "battery");
  EXPECT_EQ(readings[1].measurement_value(), 33);
  EXPECT_TRUE(listed.latest_readings().at(quiet).readings().empty());
  list.set_include_latest_readings(false);
  ASSERT_TRUE(devices_->ListDevices(Context(owner.token).get(), list, &listed).ok());
  EXPECT_TRUE(listed.latest_readings().empty()) << "only when asked";

  // Deleting the inactive ones: the owner's only, with their readings.
  v1::UpdateDeviceRequest deactivate;
  deactivate.mutable_device()->set_id(old);
  deactivate.mutable_device()->set_is_active(false);
  deactivate.mutable_update_mask()->add_paths("is_active");
  v1::Device updated;
  ASSERT_TRUE(devices_->UpdateDevice(Context(owner.token).get(), deactivate, &updated).ok());
  deactivate.mutable_device()->set_id(others);
  ASSERT_TRUE(devices_->UpdateDevice(Context(other.token).get(), deactivate, &updated).ok());
  v1::DeleteDevicesRequest remove;
  v1::DeleteDevicesResponse removed;
  EXPECT_EQ(devices_->DeleteDevices(Context(owner.token).get(), remove, &removed).error_code(),
            StatusCode::INVALID_ARGUMENT)
      << "an empty filter";
  remove.set_is_active(false);
  ASSERT_TRUE(devices_->DeleteDevices(Context(owner.token).get(), remove, &removed).ok());
  EXPECT_EQ(removed.deleted_count(), 1);
  v1::GetDeviceRequest get;
  get.set_id(old);
  v1::Device device;
  EXPECT_EQ(devices_->GetDevice(Context(owner.token).get(), get, &device).error_code(),
            StatusCode::NOT_FOUND);
  get.set_id(others);
  EXPECT_TRUE(devices_->GetDevice(Context(other.token).get(), get, &device).ok())
      << "another user's inactive device stays";
  ASSERT_TRUE(devices_->DeleteDevices(Context(owner.token).get(), remove, &removed).ok());
  EXPECT_EQ(removed.deleted_count(), 0);
  remove.clear_is_active();
  remove.set_device_type_id(MakeDeviceType("seedcalls unused").id());
  ASSERT_TRUE(devices_->DeleteDevices(Context(owner.token).get(), remove, &removed).ok());
  EXPECT_EQ(removed.deleted_count(), 0);
}

}  // namespace
}  // namespace plantmon
