#include "tests/testing/api_fixture.h"

#include <atomic>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "metrics/registry.h"
#include "tests/testing/eventually.h"

namespace plantmon::testing {

TestDatabase* ApiTest::database_ = nullptr;
services::PlantmonServer* ApiTest::server_ = nullptr;
services::ServerOptions* ApiTest::options_ = nullptr;
std::shared_ptr<grpc::Channel> ApiTest::channel_;
std::unique_ptr<v1::UserService::Stub> ApiTest::users_;
std::unique_ptr<v1::DeviceService::Stub> ApiTest::devices_;
std::unique_ptr<v1::PlantService::Stub> ApiTest::plants_;
std::unique_ptr<v1::AlertService::Stub> ApiTest::alerts_;
std::unique_ptr<v1::TelemetryService::Stub> ApiTest::telemetry_;
SignedInUser* ApiTest::admin_ = nullptr;

void ApiTest::StartSuite(bool access_log) { StartSuite(access_log, nullptr); }

void ApiTest::StartSuite(bool access_log,
                         const std::function<void(services::ServerOptions&)>& adjust) {
  database_ = TestDatabase::CreateOrDie().release();
  options_ = new services::ServerOptions();
  options_->access_log = access_log;
  options_->listen_address = "127.0.0.1:0";
  options_->database = database_->Config(/*pool_size=*/4, /*max_overflow=*/8);
  options_->bcrypt_cost = 10;  // the minimum: keeps sign-ups fast in tests
  if (adjust) adjust(*options_);
  RestartServer();
  admin_ = new SignedInUser(SignUpAdmin("admin"));
}

void ApiTest::StopServer() {
  users_.reset();
  devices_.reset();
  plants_.reset();
  alerts_.reset();
  telemetry_.reset();
  channel_.reset();
  delete server_;
  server_ = nullptr;
}

void ApiTest::RestartServer() {
  StopServer();
  absl::StatusOr<std::unique_ptr<services::PlantmonServer>> server =
      services::PlantmonServer::Start(*options_);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = server->release();
  channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                 grpc::InsecureChannelCredentials());
  users_ = v1::UserService::NewStub(channel_);
  devices_ = v1::DeviceService::NewStub(channel_);
  plants_ = v1::PlantService::NewStub(channel_);
  alerts_ = v1::AlertService::NewStub(channel_);
  telemetry_ = v1::TelemetryService::NewStub(channel_);
}

void ApiTest::TearDownTestSuite() {
  delete admin_;
  admin_ = nullptr;
  StopServer();
  delete options_;
  options_ = nullptr;
  delete database_;
  database_ = nullptr;
}

std::unique_ptr<grpc::ClientContext> ApiTest::Context(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

std::string ApiTest::LoginToken(const std::string& login, const std::string& password) {
  v1::LoginRequest request;
  request.set_login(login);
  request.set_password(password);
  v1::LoginResponse response;
  grpc::Status status = users_->Login(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.access_token();
}

bool ApiTest::TokenWorks(const std::string& token) {
  v1::User user;
  return users_->GetCurrentUser(Context(token).get(), {}, &user).ok();
}

SignedInUser ApiTest::SignUp(const std::string& name) {
  v1::CreateUserRequest request;
  request.mutable_user()->set_email(name + "@example.com");
  request.mutable_user()->set_username(name);
  request.set_password("password-" + name);
  SignedInUser signed_in;
  grpc::Status status = users_->CreateUser(Context().get(), request, &signed_in.user);
  EXPECT_TRUE(status.ok()) << name << ": " << status.error_message();
  signed_in.token = LoginToken(name, "password-" + name);
  return signed_in;
}

SignedInUser ApiTest::SignUpAdmin(const std::string& name) {
  SignedInUser admin = SignUp(name);
  database_->Query("UPDATE users SET is_admin = true WHERE id = " +
                   std::to_string(admin.user.id()));
  admin.user.set_is_admin(true);
  return admin;
}

namespace {
std::string UniqueSuffix() {
  static std::atomic<int> counter{0};
  return std::to_string(++counter);
}
}  // namespace

v1::DeviceType ApiTest::MakeDeviceType(const std::string& name) {
  v1::CreateManufacturerRequest maker;
  maker.mutable_manufacturer()->set_name(name + " Inc. " + UniqueSuffix());
  v1::Manufacturer manufacturer;
  grpc::Status status =
      devices_->CreateManufacturer(Context(admin_->token).get(), maker, &manufacturer);
  EXPECT_TRUE(status.ok()) << status.error_message();
  v1::CreateDeviceTypeRequest request;
  request.mutable_device_type()->set_manufacturer_id(manufacturer.id());
  request.mutable_device_type()->set_name(name);
  request.mutable_device_type()->set_device_type(v1::DEVICE_KIND_SENSOR);
  request.mutable_device_type()->set_data_unit("%");
  request.mutable_device_type()->set_min_value(0);
  request.mutable_device_type()->set_max_value(100);
  v1::DeviceType device_type;
  status = devices_->CreateDeviceType(Context(admin_->token).get(), request, &device_type);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return device_type;
}

v1::DeviceType ApiTest::MakeDeviceTypeMeasuring(
    const std::string& name, const std::vector<v1::DeviceMeasurement>& measurements) {
  v1::CreateManufacturerRequest maker;
  maker.mutable_manufacturer()->set_name("Maker of " + name + " " + UniqueSuffix());
  v1::Manufacturer manufacturer;
  grpc::Status status =
      devices_->CreateManufacturer(Context(admin_->token).get(), maker, &manufacturer);
  EXPECT_TRUE(status.ok()) << status.error_message();
  v1::CreateDeviceTypeRequest request;
  v1::DeviceType* type = request.mutable_device_type();
  type->set_manufacturer_id(manufacturer.id());
  type->set_name(name);
  type->set_device_type(v1::DEVICE_KIND_SENSOR);
  for (const v1::DeviceMeasurement& measurement : measurements) {
    *type->add_measurements() = measurement;
  }
  v1::DeviceType made;
  status = devices_->CreateDeviceType(Context(admin_->token).get(), request, &made);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return made;
}

v1::DeviceMeasurement ApiTest::Measures(const std::string& parameter, std::optional<double> min,
                                        std::optional<double> max) {
  v1::DeviceMeasurement measurement;
  measurement.set_parameter_name(parameter);
  if (min) measurement.set_min_value(*min);
  if (max) measurement.set_max_value(*max);
  return measurement;
}

v1::PlantType ApiTest::MakePlantType(const std::string& name) {
  v1::CreatePlantTypeRequest request;
  request.mutable_plant_type()->set_name(name);
  request.mutable_plant_type()->set_optimal_temperature(22);
  request.mutable_plant_type()->set_optimal_humidity(60);
  v1::PlantType plant_type;
  grpc::Status status =
      plants_->CreatePlantType(Context(admin_->token).get(), request, &plant_type);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return plant_type;
}

v1::Device ApiTest::MakeDevice(const SignedInUser& owner, int64_t device_type_id,
                               const std::string& unique_identifier) {
  v1::CreateDeviceRequest request;
  request.mutable_device()->set_device_type_id(device_type_id);
  request.mutable_device()->set_unique_identifier(unique_identifier);
  request.mutable_device()->set_device_name("Device " + unique_identifier);
  v1::Device device;
  grpc::Status status = devices_->CreateDevice(Context(owner.token).get(), request, &device);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return device;
}

v1::StreamReadingsResponse ApiTest::SendOneBatch(const SignedInUser& owner,
                                                 const v1::StreamReadingsRequest& batch) {
  auto context = Context(owner.token);
  auto stream = telemetry_->StreamReadings(context.get());
  v1::StreamReadingsResponse ack;
  EXPECT_TRUE(stream->Write(batch));
  EXPECT_TRUE(stream->Read(&ack));
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return ack;
}

v1::UploadReadingsResponse ApiTest::UploadOneBatch(
    const std::string& token, const std::vector<v1::IncomingReading>& readings) {
  auto context = Context(token);
  v1::UploadReadingsResponse response;
  auto writer = telemetry_->UploadReadings(context.get(), &response);
  v1::UploadReadingsRequest request;
  for (const auto& reading : readings) *request.add_readings() = reading;
  EXPECT_TRUE(writer->Write(request));
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

v1::Plant ApiTest::MakePlant(const SignedInUser& owner, int64_t plant_type_id,
                             const std::string& name) {
  v1::CreatePlantRequest request;
  request.mutable_plant()->set_plant_type_id(plant_type_id);
  request.mutable_plant()->set_plant_name(name);
  v1::Plant plant;
  grpc::Status status = plants_->CreatePlant(Context(owner.token).get(), request, &plant);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return plant;
}

v1::PlantDeviceAssignment ApiTest::AssignDevice(const SignedInUser& owner, int64_t plant_id,
                                                int64_t device_id, const std::string& role) {
  v1::CreatePlantDeviceAssignmentRequest request;
  request.mutable_plant_device_assignment()->set_plant_id(plant_id);
  request.mutable_plant_device_assignment()->set_device_id(device_id);
  request.mutable_plant_device_assignment()->set_assignment_type(role);
  v1::PlantDeviceAssignment assignment;
  grpc::Status status =
      plants_->CreatePlantDeviceAssignment(Context(owner.token).get(), request, &assignment);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return assignment;
}

v1::AlertRule ApiTest::MakeDryRule(const SignedInUser& owner, int64_t plant_id, double below) {
  v1::CreateAlertRuleRequest request;
  request.mutable_alert_rule()->set_plant_id(plant_id);
  request.mutable_alert_rule()->set_rule_name("Dry");
  request.mutable_alert_rule()->set_rule_type("threshold");
  request.mutable_alert_rule()->set_parameter_name("soil_moisture");
  request.mutable_alert_rule()->set_condition_operator("<");
  request.mutable_alert_rule()->set_threshold_value(below);
  v1::AlertRule rule;
  grpc::Status status = alerts_->CreateAlertRule(Context(owner.token).get(), request, &rule);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return rule;
}

ApiTest::DeviceRowLock::DeviceRowLock(int64_t device_id)
    : connection_(database_->Connect()), transaction_(*connection_) {
  transaction_.exec(absl::StrCat("SELECT 1 FROM devices WHERE id = ", device_id, " FOR UPDATE"));
}

bool ApiTest::WaitForABlockedBatch() {
  return Eventually(
      [] {
        return database_
                   ->Query(
                       "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                       "current_database() AND wait_event_type = 'Lock' "
                       "AND query LIKE 'COPY%'")[0][0]
                   .as<int64_t>() > 0;
      },
      absl::Seconds(10));
}

int64_t ApiTest::TransactionsOf(int64_t device_id) {
  return database_
      ->Query(absl::StrCat("SELECT count(DISTINCT xmin::text) FROM sensor_data WHERE device_id = ",
                           device_id))[0][0]
      .as<int64_t>();
}

double ApiTest::MetricSample(const std::string& name_and_labels) {
  for (absl::string_view line : absl::StrSplit(metrics::DefaultRegistry().Render(), '\n')) {
    double value = 0;
    if (absl::ConsumePrefix(&line, name_and_labels + " ") && absl::SimpleAtod(line, &value)) {
      return value;
    }
  }
  return 0;
}

}  // namespace plantmon::testing
