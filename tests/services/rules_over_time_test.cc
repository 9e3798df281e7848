// Rules over time (docs/telemetry.md, "Rules over time"): no_data,
// battery_below and watering_overdue, judged by the alert sweeper of one of
// two servers on one database, and taken over by the other when the
// sweeping one stops. Real servers, real PostgreSQL, real clients.
#include <grpcpp/grpcpp.h>

#include <ctime>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plantmon/v1/alert.grpc.pb.h"
#include "plantmon/v1/device.grpc.pb.h"
#include "plantmon/v1/plant.grpc.pb.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "services/server.h"
#include "tests/testing/eventually.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

using ::plantmon::testing::Eventually;

using ::plantmon::testing::TestDatabase;

std::unique_ptr<services::PlantmonServer> StartServer(const TestDatabase& database) {
  services::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.database = database.Config(4, 4);
  options.bcrypt_cost = 10;
  options.access_log = false;
  options.sweep_interval = absl::Milliseconds(250);
  options.sweep_takeover_interval = absl::Milliseconds(250);
  auto server = services::PlantmonServer::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  return *std::move(server);
}

std::shared_ptr<grpc::Channel> ChannelTo(const services::PlantmonServer& server) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()),
                             grpc::InsecureChannelCredentials());
}

class RulesOverTimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = TestDatabase::CreateOrDie();
    first_ = StartServer(*database_);
    second_ = StartServer(*database_);
    database_->Query(
        "INSERT INTO plant_types (id, name, water_frequency_days) VALUES (1, 'Fern', 7), "
        "(2, 'Cactus', NULL); "
        "INSERT INTO manufacturers (id, name) VALUES (1, 'Maker'); "
        "INSERT INTO device_types (id, manufacturer_id, name, device_type, data_unit) "
        "VALUES (1, 1, 'Probe', 'sensor', '%')");
    Connect(*first_);
    v1::CreateUserRequest create;
    create.mutable_user()->set_email("timer@example.com");
    create.mutable_user()->set_username("timer");
    create.set_password("password-timer");
    v1::User user;
    grpc::ClientContext signup;
    ASSERT_TRUE(users_->CreateUser(&signup, create, &user).ok());
    v1::LoginRequest login;
    login.set_login("timer");
    login.set_password("password-timer");
    v1::LoginResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(users_->Login(&context, login, &response).ok());
    token_ = response.access_token();
  }

  void Connect(const services::PlantmonServer& server) {
    auto channel = ChannelTo(server);
    users_ = v1::UserService::NewStub(channel);
    plants_ = v1::PlantService::NewStub(channel);
    devices_ = v1::DeviceService::NewStub(channel);
    alerts_ = v1::AlertService::NewStub(channel);
    telemetry_ = v1::TelemetryService::NewStub(channel);
  }

  std::unique_ptr<grpc::ClientContext> Context() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    context->AddMetadata("authorization", "Bearer " + token_);
    return context;
  }

  int64_t MakePlant(int64_t species) {
    v1::CreatePlantRequest request;
    request.mutable_plant()->set_plant_type_id(species);
    request.mutable_plant()->set_plant_name(absl::StrCat("Plant of species ", species));
    v1::Plant plant;
    EXPECT_TRUE(plants_->CreatePlant(Context().get(), request, &plant).ok());
    return plant.id();
  }

  grpc::Status CreateRule(v1::AlertRule rule, v1::AlertRule* created) {
    v1::CreateAlertRuleRequest request;
    if (rule.rule_name().empty()) rule.set_rule_name(rule.rule_type());
    *request.mutable_alert_rule() = std::move(rule);
    return alerts_->CreateAlertRule(Context().get(), request, created);
  }

  // The rule's alerts, oldest first.
  std::vector<v1::Alert> AlertsOf(int64_t rule_id) {
    v1::ListAlertsResponse response;
    EXPECT_TRUE(alerts_->ListAlerts(Context().get(), {}, &response).ok());
    std::vector<v1::Alert> alerts;
    for (const v1::Alert& alert : response.alerts()) {
      if (alert.rule_id() == rule_id) alerts.insert(alerts.begin(), alert);
    }
    return alerts;
  }

  bool NewestIs(int64_t rule_id, size_t count, v1::AlertStatus status) {
    std::vector<v1::Alert> alerts = AlertsOf(rule_id);
    return alerts.size() == count && alerts.back().status() == status;
  }

  void Reading(int64_t device, double value) {
    v1::RecordReadingRequest request;
    request.mutable_sensor_data()->set_device_id(device);
    request.mutable_sensor_data()->set_measurement_value(value);
    request.mutable_sensor_data()->mutable_timestamp()->set_seconds(std::time(nullptr));
    v1::SensorData stored;
    grpc::Status status = telemetry_->RecordReading(Context().get(), request, &stored);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void Heartbeat(int64_t device, double battery) {
    v1::RecordHeartbeatRequest request;
    request.set_device_id(device);
    request.set_battery_level(battery);
    v1::Device updated;
    grpc::Status status = devices_->RecordHeartbeat(Context().get(), request, &updated);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<services::PlantmonServer> first_;
  std::unique_ptr<services::PlantmonServer> second_;
  std::unique_ptr<v1::UserService::Stub> users_;
  std::unique_ptr<v1::PlantService::Stub> plants_;
  std::unique_ptr<v1::DeviceService::Stub> devices_;
  std::unique_ptr<v1::AlertService::Stub> alerts_;
  std::unique_ptr<v1::TelemetryService::Stub> telemetry_;
  std::string token_;
};

TEST_F(RulesOverTimeTest, EachTimeRuleOpensAndResolvesAndTheSweeperFailsOver) {
  const int64_t plant = MakePlant(1);
  v1::CreateDeviceRequest create_device;
  create_device.mutable_device()->set_device_type_id(1);
  create_device.mutable_device()->set_unique_identifier("timed-probe");
  create_device.mutable_device()->set_device_name("Probe");
  v1::Device device;
  ASSERT_TRUE(devices_->CreateDevice(Context().get(), create_device, &device).ok());
  v1::CreatePlantDeviceAssignmentRequest assign;
  assign.mutable_plant_device_assignment()->set_plant_id(plant);
  assign.mutable_plant_device_assignment()->set_device_id(device.id());
  assign.mutable_plant_device_assignment()->set_assignment_type("soil_moisture");
  v1::PlantDeviceAssignment assignment;
  ASSERT_TRUE(plants_->CreatePlantDeviceAssignment(Context().get(), assign, &assignment).ok());
  Reading(device.id(), 40);

  v1::AlertRule no_data;
  no_data.set_plant_id(plant);
  no_data.set_rule_type("no_data");
  no_data.set_parameter_name("soil_moisture");
  no_data.mutable_interval()->set_seconds(2);
  v1::AlertRule silent;
  ASSERT_TRUE(CreateRule(no_data, &silent).ok());
  v1::AlertRule battery;
  battery.set_plant_id(plant);
  battery.set_rule_type("battery_below");
  battery.set_threshold_value(20);
  battery.set_hysteresis(5);
  v1::AlertRule low_battery;
  ASSERT_TRUE(CreateRule(battery, &low_battery).ok());
  EXPECT_EQ(low_battery.parameter_name(), "battery");  // bound, though not named
  v1::AlertRule watering;
  watering.set_plant_id(plant);
  watering.set_rule_type("watering_overdue");
  watering.mutable_interval()->set_seconds(3);
  v1::AlertRule thirsty;
  ASSERT_TRUE(CreateRule(watering, &thirsty).ok());

  // Exactly one server sweeps.
  ASSERT_TRUE(
      Eventually([&] { return first_->sweeping() || second_->sweeping(); }, absl::Seconds(5)));
  EXPECT_NE(first_->sweeping(), second_->sweeping());

  // battery_below: a heartbeat at 10 % opens it; 22 % is inside the band
  // (20 + 5) and leaves it; 30 % resolves it.
  Heartbeat(device.id(), 10);
  ASSERT_TRUE(Eventually([&] { return NewestIs(low_battery.id(), 1, v1::ALERT_STATUS_ACTIVE); },
                         absl::Seconds(5)));
  EXPECT_EQ(AlertsOf(low_battery.id())[0].message(), "Battery at 10% (threshold: 20%)");
  EXPECT_EQ(AlertsOf(low_battery.id())[0].triggered_value(), 10);

  // no_data: two silent seconds open it ...
  ASSERT_TRUE(Eventually([&] { return NewestIs(silent.id(), 1, v1::ALERT_STATUS_ACTIVE); },
                         absl::Seconds(6)));
  EXPECT_TRUE(absl::StartsWith(AlertsOf(silent.id())[0].message(), "No soil moisture reading for"))
      << AlertsOf(silent.id())[0].message();
  // ... and the next reading resolves it at once, in its own transaction.
  Reading(device.id(), 41);
  EXPECT_TRUE(NewestIs(silent.id(), 1, v1::ALERT_STATUS_RESOLVED));

  // watering_overdue: three seconds without a watering open it; a watering
  // resolves it.
  ASSERT_TRUE(Eventually([&] { return NewestIs(thirsty.id(), 1, v1::ALERT_STATUS_ACTIVE); },
                         absl::Seconds(6)));
  EXPECT_TRUE(absl::StartsWith(AlertsOf(thirsty.id())[0].message(), "No watering recorded in"));
  v1::RecordWateringRequest water;
  water.set_plant_id(plant);
  v1::WateringEvent watered;
  ASSERT_TRUE(plants_->RecordWatering(Context().get(), water, &watered).ok());
  ASSERT_TRUE(Eventually([&] { return NewestIs(thirsty.id(), 1, v1::ALERT_STATUS_RESOLVED); },
                         absl::Seconds(5)));

  Heartbeat(device.id(), 22);
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(NewestIs(low_battery.id(), 1, v1::ALERT_STATUS_ACTIVE));

  // The sweeping server stops; the other takes over within seconds and
  // goes on judging: the battery resolves, the silence opens a new alert.
  std::unique_ptr<services::PlantmonServer>& sweeping = first_->sweeping() ? first_ : second_;
  std::unique_ptr<services::PlantmonServer>& other = first_->sweeping() ? second_ : first_;
  Connect(*other);
  const absl::Time stopped = absl::Now();
  sweeping->Shutdown(absl::Seconds(1));
  sweeping.reset();
  ASSERT_TRUE(Eventually([&] { return other->sweeping(); }, absl::Seconds(5)));
  std::fprintf(stderr, "the other server swept after %s\n",
               absl::FormatDuration(absl::Now() - stopped).c_str());
  Heartbeat(device.id(), 30);
  ASSERT_TRUE(Eventually([&] { return NewestIs(low_battery.id(), 1, v1::ALERT_STATUS_RESOLVED); },
                         absl::Seconds(5)));
  ASSERT_TRUE(Eventually([&] { return NewestIs(silent.id(), 2, v1::ALERT_STATUS_ACTIVE); },
                         absl::Seconds(6)));
}

TEST_F(RulesOverTimeTest, NonsenseTimeRulesAreRefused) {
  const int64_t fern = MakePlant(1);
  const int64_t cactus = MakePlant(2);
  v1::AlertRule created;
  auto code = [&](const std::function<void(v1::AlertRule&)>& shape) {
    v1::AlertRule rule;
    rule.set_plant_id(fern);
    shape(rule);
    return CreateRule(rule, &created).error_code();
  };
  // A no_data rule needs an interval above 0.
  EXPECT_EQ(code([](v1::AlertRule& r) {
              r.set_rule_type("no_data");
              r.set_parameter_name("soil_moisture");
            }),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code([](v1::AlertRule& r) {
              r.set_rule_type("no_data");
              r.set_parameter_name("soil_moisture");
              r.mutable_interval()->set_seconds(-60);
            }),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A battery level is from above 0 to 100.
  EXPECT_EQ(code([](v1::AlertRule& r) {
              r.set_rule_type("battery_below");
              r.set_threshold_value(120);
            }),
            grpc::StatusCode::INVALID_ARGUMENT);
  // Watering by the species' frequency needs a species that has one.
  EXPECT_EQ(code([](v1::AlertRule& r) { r.set_rule_type("watering_overdue"); }),
            grpc::StatusCode::OK);
  EXPECT_EQ(code([&](v1::AlertRule& r) {
              r.set_plant_id(cactus);
              r.set_rule_type("watering_overdue");
            }),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(code([&](v1::AlertRule& r) {
              r.set_plant_id(cactus);
              r.set_rule_type("watering_overdue");
              r.mutable_interval()->set_seconds(86400 * 30);
            }),
            grpc::StatusCode::OK);
  // An update cannot take a no_data rule's interval to 0 either.
  ASSERT_EQ(code([](v1::AlertRule& r) {
              r.set_rule_type("no_data");
              r.set_parameter_name("soil_moisture");
              r.mutable_interval()->set_seconds(600);
            }),
            grpc::StatusCode::OK);
  v1::UpdateAlertRuleRequest update;
  update.mutable_alert_rule()->set_id(created.id());
  update.mutable_update_mask()->add_paths("interval");
  v1::AlertRule updated;
  grpc::Status zero = alerts_->UpdateAlertRule(Context().get(), update, &updated);
  EXPECT_EQ(zero.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << zero.error_message();
  EXPECT_NE(zero.error_message().find("interval"), std::string::npos) << zero.error_message();
}

}  // namespace
}  // namespace plantmon
