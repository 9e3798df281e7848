// Malformed and hostile requests: each gets a clear client-error code, never
// INTERNAL or UNKNOWN, and nothing is stored; SQL meta-characters are data.
#include <cmath>

#include "gtest/gtest.h"
#include "tests/testing/api_fixture.h"
#include "tests/testing/generic_calls.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

class HostileInputTest : public ApiTest {};

// A client can open a method that takes one request (unary, or WatchAlerts)
// as a stream and close it without sending the request, or send bytes that
// do not parse; gRPC's own handler answered UNIMPLEMENTED (callback API) or
// INTERNAL (synchronous API) with no message.
TEST_F(HostileInputTest, ACallWithoutARequestMessageIsInvalidArgument) {
  SignedInUser owner = SignUp("no-message");
  int checked = 0;
  for (const plantmon::testing::MethodInfo& method : plantmon::testing::PlantmonMethods()) {
    if (method.descriptor->client_streaming()) continue;
    ++checked;
    bool stuck = false;
    grpc::Status status = plantmon::testing::CallStreaming(
        channel_, method.path, "Bearer " + owner.token, {}, std::chrono::seconds(5), &stuck);
    EXPECT_FALSE(stuck) << method.path;
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT)
        << method.path << ": " << status.error_message();
    EXPECT_NE(status.error_message().find("no request message"), std::string::npos)
        << method.path << ": " << status.error_message();
  }
  EXPECT_GT(checked, 50);
}

TEST_F(HostileInputTest, AServerStreamRequestThatDoesNotParseIsInvalidArgument) {
  SignedInUser owner = SignUp("garbled-watch");
  bool stuck = false;
  // Field 1 (plant_id) as a varint that never ends.
  grpc::Status status = plantmon::testing::CallStreaming(
      channel_, "/plantmon.v1.AlertService/WatchAlerts", "Bearer " + owner.token,
      {std::string("\x08\xff\xff", 3)}, std::chrono::seconds(5), &stuck);
  EXPECT_FALSE(stuck);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("not a valid message"), std::string::npos)
      << status.error_message();
}

TEST_F(HostileInputTest, SqlMetaCharactersAreStoredAndReturnedVerbatim) {
  SignedInUser owner = SignUp("bobby");
  v1::PlantType species = MakePlantType("Tables");
  const std::string name = R"(Robert'); DROP TABLE plants;-- \ "quoted" $1 %s)";
  const std::string notes = "ünïcødé 🌱 'single' \"double\" \\backslash\\ ; -- /* */ E'\\x00'";
  v1::CreatePlantRequest request;
  request.mutable_plant()->set_plant_type_id(species.id());
  request.mutable_plant()->set_plant_name(name);
  request.mutable_plant()->set_notes(notes);
  v1::Plant plant;
  ASSERT_TRUE(plants_->CreatePlant(Context(owner.token).get(), request, &plant).ok());
  v1::GetPlantRequest get;
  get.set_id(plant.id());
  ASSERT_TRUE(plants_->GetPlant(Context(owner.token).get(), get, &plant).ok());
  EXPECT_EQ(plant.plant_name(), name);
  EXPECT_EQ(plant.notes(), notes);
  v1::ListPlantsRequest by_species;
  by_species.set_plant_type_name("x' OR '1'='1");
  v1::ListPlantsResponse listed;
  ASSERT_TRUE(plants_->ListPlants(Context(owner.token).get(), by_species, &listed).ok());
  EXPECT_EQ(listed.plants_size(), 0);
}

TEST_F(HostileInputTest, MessagesOverTheReceiveLimitAreResourceExhausted) {
  SignedInUser owner = SignUp("oversized");
  v1::CreatePlantRequest request;
  request.mutable_plant()->set_plant_type_id(1);
  request.mutable_plant()->set_plant_name("big");
  request.mutable_plant()->set_notes(std::string(5 << 20, 'x'));
  v1::Plant plant;
  EXPECT_EQ(plants_->CreatePlant(Context(owner.token).get(), request, &plant).error_code(),
            StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(HostileInputTest, MalformedFieldsAreInvalidArgumentNeverInternal) {
  SignedInUser owner = SignUp("malformed");
  v1::PlantType species = MakePlantType("Malformed fern");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Malformed probe").id(), "malformed-1");
  const std::string t = owner.token;
  struct Case {
    std::string label;
    std::function<grpc::Status()> call;
  };
  auto plant_with = [&](const std::function<void(v1::Plant&)>& mutate) {
    return [&, mutate] {
      v1::CreatePlantRequest request;
      request.mutable_plant()->set_plant_type_id(species.id());
      request.mutable_plant()->set_plant_name("ok");
      mutate(*request.mutable_plant());
      v1::Plant out;
      return plants_->CreatePlant(Context(t).get(), request, &out);
    };
  };
  auto reading_with = [&](const std::function<void(v1::SensorData&)>& mutate) {
    return [&, mutate] {
      v1::RecordReadingRequest request;
      request.mutable_sensor_data()->set_device_id(device.id());
      request.mutable_sensor_data()->set_measurement_value(1);
      request.mutable_sensor_data()->mutable_timestamp()->set_seconds(std::time(nullptr));
      mutate(*request.mutable_sensor_data());
      v1::SensorData out;
      return telemetry_->RecordReading(Context(t).get(), request, &out);
    };
  };
  std::vector<Case> cases = {
      {"name over 255 bytes", plant_with([](auto& p) { p.set_plant_name(std::string(256, 'n')); })},
      {"empty name", plant_with([](auto& p) { p.set_plant_name(""); })},
      {"blank name", plant_with([](auto& p) { p.set_plant_name("   "); })},
      {"NUL in name", plant_with([](auto& p) { p.set_plant_name(std::string("a\0b", 3)); })},
      {"location over 255", plant_with([](auto& p) { p.set_location(std::string(256, 'l')); })},
      {"health_status over 50",
       plant_with([](auto& p) { p.set_health_status(std::string(51, 'h')); })},
      {"zero species id", plant_with([](auto& p) { p.set_plant_type_id(0); })},
      {"negative species id", plant_with([](auto& p) { p.set_plant_type_id(-7); })},
      {"huge species id", plant_with([](auto& p) { p.set_plant_type_id(int64_t{1} << 50); })},
      {"timestamp before year 1",
       plant_with([](auto& p) { p.mutable_planting_date()->set_seconds(-70000000000LL); })},
      {"timestamp after 9999",
       plant_with([](auto& p) { p.mutable_last_watered()->set_seconds(300000000000LL); })},
      {"negative nanos", plant_with([](auto& p) { p.mutable_last_watered()->set_nanos(-1); })},
      {"NaN value", reading_with([](auto& r) { r.set_measurement_value(std::nan("")); })},
      {"infinite value", reading_with([](auto& r) { r.set_measurement_value(-INFINITY); })},
      {"quality -1", reading_with([](auto& r) { r.set_data_quality(-1); })},
      {"unit over 50", reading_with([](auto& r) { r.set_measurement_unit(std::string(51, 'u')); })},
      {"unknown enum",
       [&] {
         v1::ListAlertsRequest request;
         request.set_severity(static_cast<v1::AlertSeverity>(12345));
         v1::ListAlertsResponse out;
         return alerts_->ListAlerts(Context(t).get(), request, &out);
       }},
      {"mask with an unknown field",
       [&] {
         v1::UpdateDeviceRequest request;
         request.mutable_device()->set_id(device.id());
         request.mutable_update_mask()->add_paths("no_such_field");
         v1::Device out;
         return devices_->UpdateDevice(Context(t).get(), request, &out);
       }},
      {"mask with a read-only field",
       [&] {
         v1::UpdateDeviceRequest request;
         request.mutable_device()->set_id(device.id());
         request.mutable_update_mask()->add_paths("user_id");
         v1::Device out;
         return devices_->UpdateDevice(Context(t).get(), request, &out);
       }},
      {"page token of garbage",
       [&] {
         v1::ListDevicesRequest request;
         request.set_page_token("\xff\xfe not base64 \x01");
         v1::ListDevicesResponse out;
         return devices_->ListDevices(Context(t).get(), request, &out);
       }},
      {"negative page size",
       [&] {
         v1::ListPlantsRequest request;
         request.set_page_size(-1);
         v1::ListPlantsResponse out;
         return plants_->ListPlants(Context(t).get(), request, &out);
       }},
      {"bucket width zero",
       [&] {
         v1::AggregateSensorDataRequest request;
         request.set_device_id(device.id());
         request.mutable_start_time()->set_seconds(0);
         request.mutable_end_time()->set_seconds(3600);
         v1::AggregateSensorDataResponse out;
         return telemetry_->AggregateSensorData(Context(t).get(), request, &out);
       }},
      {"too many latest devices",
       [&] {
         v1::GetLatestReadingsRequest request;
         for (int i = 0; i < 1001; ++i) request.add_device_ids(i + 1);
         v1::GetLatestReadingsResponse out;
         return telemetry_->GetLatestReadings(Context(t).get(), request, &out);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    grpc::Status status = c.call();
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_EQ(status.error_message().find("SELECT"), std::string::npos);
  }
  EXPECT_EQ(database_
                ->Query("SELECT count(*) FROM plants WHERE user_id = " +
                        std::to_string(owner.user.id()))[0][0]
                .as<int>(),
            0);
}

}  // namespace
}  // namespace plantmon
