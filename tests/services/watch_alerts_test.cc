// WatchAlerts across server processes: readings go in through one server,
// the watch is open on another, and LISTEN/NOTIFY carries the change.
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plantmon/v1/alert.grpc.pb.h"
#include "plantmon/v1/device.grpc.pb.h"
#include "plantmon/v1/plant.grpc.pb.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "services/server.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

using ::plantmon::testing::TestDatabase;

std::unique_ptr<services::PlantmonServer> StartServer(const TestDatabase& database) {
  services::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.database = database.Config(4, 4);
  options.bcrypt_cost = 10;
  auto server = services::PlantmonServer::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  return *std::move(server);
}

std::shared_ptr<grpc::Channel> ChannelTo(const services::PlantmonServer& server) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()),
                             grpc::InsecureChannelCredentials());
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token, int seconds = 10) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

std::string SignUpAndLogin(v1::UserService::Stub& users, const std::string& name) {
  v1::CreateUserRequest create;
  create.mutable_user()->set_email(name + "@example.com");
  create.mutable_user()->set_username(name);
  create.set_password("password-" + name);
  v1::User user;
  grpc::ClientContext signup;
  EXPECT_TRUE(users.CreateUser(&signup, create, &user).ok());
  v1::LoginRequest login;
  login.set_login(name);
  login.set_password("password-" + name);
  v1::LoginResponse response;
  grpc::ClientContext context;
  EXPECT_TRUE(users.Login(&context, login, &response).ok());
  return response.access_token();
}

TEST(WatchAlertsTest, ChangesMadeThroughOneServerReachWatchersOnAnother) {
  auto database = TestDatabase::CreateOrDie();
  auto ingest_server = StartServer(*database);
  auto watch_server = StartServer(*database);
  auto ingest_channel = ChannelTo(*ingest_server);
  auto users = v1::UserService::NewStub(ingest_channel);
  auto plants = v1::PlantService::NewStub(ingest_channel);
  auto devices = v1::DeviceService::NewStub(ingest_channel);
  auto alerts = v1::AlertService::NewStub(ingest_channel);
  auto telemetry = v1::TelemetryService::NewStub(ingest_channel);
  auto watcher = v1::AlertService::NewStub(ChannelTo(*watch_server));

  const std::string token = SignUpAndLogin(*users, "watcher");
  const std::string stranger = SignUpAndLogin(*users, "stranger");
  // Catalogue rows and the plant straight in SQL: this test is about alerts.
  database->Query(
      "INSERT INTO plant_types (id, name) VALUES (1, 'Fern'); "
      "INSERT INTO manufacturers (id, name) VALUES (1, 'Maker'); "
      "INSERT INTO device_types (id, manufacturer_id, name, device_type, data_unit) "
      "VALUES (1, 1, 'Probe', 'sensor', '%')");
  v1::CreatePlantRequest create_plant;
  create_plant.mutable_plant()->set_plant_type_id(1);
  create_plant.mutable_plant()->set_plant_name("Watched fern");
  v1::Plant plant;
  ASSERT_TRUE(plants->CreatePlant(Context(token).get(), create_plant, &plant).ok());
  v1::CreateDeviceRequest create_device;
  create_device.mutable_device()->set_device_type_id(1);
  create_device.mutable_device()->set_unique_identifier("watched-probe");
  create_device.mutable_device()->set_device_name("Probe");
  v1::Device device;
  ASSERT_TRUE(devices->CreateDevice(Context(token).get(), create_device, &device).ok());
  v1::CreatePlantDeviceAssignmentRequest assign;
  assign.mutable_plant_device_assignment()->set_plant_id(plant.id());
  assign.mutable_plant_device_assignment()->set_device_id(device.id());
  assign.mutable_plant_device_assignment()->set_assignment_type("soil_moisture");
  v1::PlantDeviceAssignment assignment;
  ASSERT_TRUE(plants->CreatePlantDeviceAssignment(Context(token).get(), assign, &assignment).ok());
  v1::CreateAlertRuleRequest rule;
  rule.mutable_alert_rule()->set_plant_id(plant.id());
  rule.mutable_alert_rule()->set_rule_name("Dry");
  rule.mutable_alert_rule()->set_rule_type("threshold");
  rule.mutable_alert_rule()->set_parameter_name("soil_moisture");
  rule.mutable_alert_rule()->set_condition_operator("<");
  rule.mutable_alert_rule()->set_threshold_value(25);
  v1::AlertRule created_rule;
  ASSERT_TRUE(alerts->CreateAlertRule(Context(token).get(), rule, &created_rule).ok());

  auto watch_context = Context(token, 20);
  auto watch = watcher->WatchAlerts(watch_context.get(), v1::WatchAlertsRequest());
  watch->WaitForInitialMetadata();
  auto stranger_context = Context(stranger, 3);
  auto stranger_watch = watcher->WatchAlerts(stranger_context.get(), v1::WatchAlertsRequest());
  stranger_watch->WaitForInitialMetadata();

  v1::RecordReadingRequest dry;
  dry.mutable_sensor_data()->set_device_id(device.id());
  dry.mutable_sensor_data()->set_measurement_value(18);
  dry.mutable_sensor_data()->set_data_quality(100);
  dry.mutable_sensor_data()->mutable_timestamp()->set_seconds(std::time(nullptr));
  v1::SensorData stored;
  ASSERT_TRUE(telemetry->RecordReading(Context(token).get(), dry, &stored).ok());

  v1::WatchAlertsResponse change;
  ASSERT_TRUE(watch->Read(&change));
  EXPECT_EQ(change.alert().rule_id(), created_rule.id());
  EXPECT_EQ(change.alert().status(), v1::ALERT_STATUS_ACTIVE);
  EXPECT_EQ(change.alert().message(), "Soil moisture dropped to 18% (threshold: 25%)");

  v1::AcknowledgeAlertRequest acknowledge;
  acknowledge.set_id(change.alert().id());
  v1::Alert acknowledged;
  ASSERT_TRUE(alerts->AcknowledgeAlert(Context(token).get(), acknowledge, &acknowledged).ok());
  ASSERT_TRUE(watch->Read(&change));
  EXPECT_EQ(change.alert().status(), v1::ALERT_STATUS_ACKNOWLEDGED);

  // The stranger's watch saw none of it and ends at its deadline.
  v1::WatchAlertsResponse nothing;
  EXPECT_FALSE(stranger_watch->Read(&nothing));
  EXPECT_EQ(stranger_watch->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);

  watch_context->TryCancel();
  watch->Finish();
}

}  // namespace
}  // namespace plantmon
