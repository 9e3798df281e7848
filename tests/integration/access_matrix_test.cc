// The authentication and isolation matrices: every non-public method refuses
// callers without a valid token, and a second user calling with the first
// user's ids gets exactly what a nonexistent id gets, while nothing changes.
#include <regex>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "storage/alert_repository.h"
#include "tests/testing/api_fixture.h"
#include "tests/testing/generic_calls.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

class AccessMatrixTest : public ApiTest {
 protected:
  static std::shared_ptr<grpc::Channel> channel() { return channel_; }
};

bool IsPublic(const std::string& method) {
  return method == "/plantmon.v1.UserService/CreateUser" ||
         method == "/plantmon.v1.UserService/Login";
}

// Calls `method` with an empty request.
grpc::Status CallEmpty(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                       const std::string& authorization) {
  return plantmon::testing::CallUnary(channel, method, authorization, "");
}

std::string Normalize(const grpc::Status& status, int64_t id) {
  return absl::StrCat(
      status.error_code(), ":",
      std::regex_replace(status.error_message(), std::regex(absl::StrCat("\\b", id, "\\b")), "ID"));
}

TEST_F(AccessMatrixTest, EveryNonPublicMethodNeedsAValidToken) {
  SignedInUser user = SignUp("matrix_auth");
  std::string expired = LoginToken("matrix_auth", "password-matrix_auth");
  database_->Query(
      "UPDATE user_sessions SET expires_at = now() - interval '1 minute' WHERE "
      "id = (SELECT max(id) FROM user_sessions)");
  std::string logged_out = LoginToken("matrix_auth", "password-matrix_auth");
  google::protobuf::Empty empty;
  ASSERT_TRUE(users_->Logout(Context(logged_out).get(), {}, &empty).ok());

  const std::vector<std::pair<std::string, std::string>> credentials = {
      {"no token", ""},
      {"not bearer", "Basic " + user.token},
      {"garbage", "Bearer not-a-real-token"},
      {"expired", "Bearer " + expired},
      {"logged out", "Bearer " + logged_out},
  };
  int checked = 0;
  for (const plantmon::testing::MethodInfo& info : plantmon::testing::PlantmonMethods()) {
    if (IsPublic(info.path) || info.streaming()) continue;
    for (const auto& [label, authorization] : credentials) {
      grpc::Status status = CallEmpty(channel(), info.path, authorization);
      EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED) << info.path << " " << label;
      ++checked;
    }
  }
  EXPECT_GE(checked, 5 * 45);
  // The valid token still works, so the refusals above were about the tokens.
  v1::User me;
  EXPECT_TRUE(users_->GetCurrentUser(Context(user.token).get(), {}, &me).ok());
}

TEST_F(AccessMatrixTest, StreamingMethodsNeedAValidTokenToo) {
  const std::vector<std::string> bad = {"", "Bearer not-a-real-token", "Basic abc"};
  for (const std::string& authorization : bad) {
    SCOPED_TRACE(authorization);
    {
      grpc::ClientContext context;
      if (!authorization.empty()) context.AddMetadata("authorization", authorization);
      v1::UploadReadingsResponse response;
      auto writer = telemetry_->UploadReadings(&context, &response);
      writer->WritesDone();
      EXPECT_EQ(writer->Finish().error_code(), StatusCode::UNAUTHENTICATED);
    }
    {
      grpc::ClientContext context;
      if (!authorization.empty()) context.AddMetadata("authorization", authorization);
      auto stream = telemetry_->StreamReadings(&context);
      stream->WritesDone();
      v1::StreamReadingsResponse ack;
      EXPECT_FALSE(stream->Read(&ack));
      EXPECT_EQ(stream->Finish().error_code(), StatusCode::UNAUTHENTICATED);
    }
    {
      grpc::ClientContext context;
      if (!authorization.empty()) context.AddMetadata("authorization", authorization);
      auto watch = alerts_->WatchAlerts(&context, v1::WatchAlertsRequest());
      v1::WatchAlertsResponse change;
      EXPECT_FALSE(watch->Read(&change));
      EXPECT_EQ(watch->Finish().error_code(), StatusCode::UNAUTHENTICATED);
    }
  }
  // Someone else's plant to watch behaves like a missing one.
  SignedInUser owner = SignUp("watched_owner");
  SignedInUser other = SignUp("watch_intruder");
  v1::Plant plant = MakePlant(owner, MakePlantType("Watched species").id(), "Watched");
  for (int64_t plant_id : {plant.id(), int64_t{2147480000}}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + other.token);
    v1::WatchAlertsRequest request;
    request.set_plant_id(plant_id);
    auto watch = alerts_->WatchAlerts(&context, request);
    v1::WatchAlertsResponse change;
    EXPECT_FALSE(watch->Read(&change));
    grpc::Status status = watch->Finish();
    EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND);
    EXPECT_EQ(Normalize(status, plant_id), "5:plant ID not found");
  }
}

TEST_F(AccessMatrixTest, PublicMethodsNeedNoToken) {
  for (const char* method :
       {"/plantmon.v1.UserService/CreateUser", "/plantmon.v1.UserService/Login"}) {
    EXPECT_EQ(CallEmpty(channel(), method, "").error_code(), StatusCode::INVALID_ARGUMENT)
        << method;
  }
}

// What the first user owns.
struct Owned {
  SignedInUser owner;
  int64_t device = 0;
  int64_t plant = 0;
  int64_t assignment = 0;
  int64_t rule = 0;
  int64_t alert = 0;
};

TEST_F(AccessMatrixTest, AnotherUsersIdsBehaveExactlyLikeMissingOnes) {
  Owned a;
  a.owner = SignUp("matrix_owner");
  v1::DeviceType type = MakeDeviceType("Matrix probe");
  v1::PlantType species = MakePlantType("Matrix fern");
  a.device = MakeDevice(a.owner, type.id(), "matrix-a").id();
  a.plant = MakePlant(a.owner, species.id(), "A's fern").id();
  {
    a.assignment = AssignDevice(a.owner, a.plant, a.device, "soil_moisture").id();
    a.rule = MakeDryRule(a.owner, a.plant, 25).id();
    ASSERT_NE(a.rule, 0);
    auto pool = database_->NewPool(1, 0);
    storage::AlertRepository repository(*pool);
    a.alert = repository.CreateAlert(a.owner.user.id(), a.rule, "dry", 10.0, absl::Now())->id();
    v1::RecordReadingRequest reading;
    reading.mutable_sensor_data()->set_device_id(a.device);
    reading.mutable_sensor_data()->set_measurement_value(30);
    reading.mutable_sensor_data()->set_data_quality(100);
    reading.mutable_sensor_data()->mutable_timestamp()->set_seconds(std::time(nullptr));
    v1::SensorData stored;
    ASSERT_TRUE(telemetry_->RecordReading(Context(a.owner.token).get(), reading, &stored).ok());
  }
  SignedInUser b = SignUp("matrix_intruder");
  const int64_t b_device = MakeDevice(b, type.id(), "matrix-b").id();
  const int64_t b_plant = MakePlant(b, species.id(), "B's fern").id();

  auto snapshot = [&] {
    std::string state;
    for (const char* query :
         {"SELECT string_agg(id || ':' || updated_at, ',' ORDER BY id) FROM users",
          "SELECT string_agg(id || ':' || updated_at || ':' || coalesce(last_heartbeat::text, ''), "
          "',' ORDER BY id) FROM devices",
          "SELECT string_agg(id || ':' || updated_at, ',' ORDER BY id) FROM plants",
          "SELECT string_agg(id || ':' || updated_at, ',' ORDER BY id) FROM "
          "plant_device_assignments",
          "SELECT string_agg(id || ':' || updated_at, ',' ORDER BY id) FROM alert_rules",
          "SELECT string_agg(id || ':' || updated_at || status, ',' ORDER BY id) FROM alerts",
          "SELECT count(*)::text FROM sensor_data"}) {
      state += database_->Query(query)[0][0].as<std::string>("") + "\n";
    }
    return state;
  };
  const std::string before = snapshot();

  using Call = std::function<grpc::Status(int64_t id)>;
  const std::string& t = b.token;
  const std::vector<std::tuple<std::string, int64_t, Call>> calls = {
      {"GetUser", a.owner.user.id(),
       [&](int64_t id) {
         v1::GetUserRequest r;
         r.set_id(id);
         v1::User o;
         return users_->GetUser(Context(t).get(), r, &o);
       }},
      {"UpdateUser", a.owner.user.id(),
       [&](int64_t id) {
         v1::UpdateUserRequest r;
         r.mutable_user()->set_id(id);
         r.mutable_user()->set_first_name("pwned");
         r.mutable_update_mask()->add_paths("first_name");
         v1::User o;
         return users_->UpdateUser(Context(t).get(), r, &o);
       }},
      {"DeleteUser", a.owner.user.id(),
       [&](int64_t id) {
         v1::DeleteUserRequest r;
         r.set_id(id);
         google::protobuf::Empty o;
         return users_->DeleteUser(Context(t).get(), r, &o);
       }},
      {"GetDevice", a.device,
       [&](int64_t id) {
         v1::GetDeviceRequest r;
         r.set_id(id);
         v1::Device o;
         return devices_->GetDevice(Context(t).get(), r, &o);
       }},
      {"UpdateDevice", a.device,
       [&](int64_t id) {
         v1::UpdateDeviceRequest r;
         r.mutable_device()->set_id(id);
         r.mutable_device()->set_device_name("pwned");
         r.mutable_update_mask()->add_paths("device_name");
         v1::Device o;
         return devices_->UpdateDevice(Context(t).get(), r, &o);
       }},
      {"DeleteDevice", a.device,
       [&](int64_t id) {
         v1::DeleteDeviceRequest r;
         r.set_id(id);
         google::protobuf::Empty o;
         return devices_->DeleteDevice(Context(t).get(), r, &o);
       }},
      {"RecordHeartbeat", a.device,
       [&](int64_t id) {
         v1::RecordHeartbeatRequest r;
         r.set_device_id(id);
         v1::Device o;
         return devices_->RecordHeartbeat(Context(t).get(), r, &o);
       }},
      {"GetPlant", a.plant,
       [&](int64_t id) {
         v1::GetPlantRequest r;
         r.set_id(id);
         v1::Plant o;
         return plants_->GetPlant(Context(t).get(), r, &o);
       }},
      {"UpdatePlant", a.plant,
       [&](int64_t id) {
         v1::UpdatePlantRequest r;
         r.mutable_plant()->set_id(id);
         r.mutable_plant()->set_plant_name("pwned");
         r.mutable_update_mask()->add_paths("plant_name");
         v1::Plant o;
         return plants_->UpdatePlant(Context(t).get(), r, &o);
       }},
      {"DeletePlant", a.plant,
       [&](int64_t id) {
         v1::DeletePlantRequest r;
         r.set_id(id);
         google::protobuf::Empty o;
         return plants_->DeletePlant(Context(t).get(), r, &o);
       }},
      {"CreatePlantDeviceAssignment(their plant)", a.plant,
       [&](int64_t id) {
         v1::CreatePlantDeviceAssignmentRequest r;
         r.mutable_plant_device_assignment()->set_plant_id(id);
         r.mutable_plant_device_assignment()->set_device_id(b_device);
         r.mutable_plant_device_assignment()->set_assignment_type("light");
         v1::PlantDeviceAssignment o;
         return plants_->CreatePlantDeviceAssignment(Context(t).get(), r, &o);
       }},
      {"CreatePlantDeviceAssignment(their device)", a.device,
       [&](int64_t id) {
         v1::CreatePlantDeviceAssignmentRequest r;
         r.mutable_plant_device_assignment()->set_plant_id(b_plant);
         r.mutable_plant_device_assignment()->set_device_id(id);
         r.mutable_plant_device_assignment()->set_assignment_type("light");
         v1::PlantDeviceAssignment o;
         return plants_->CreatePlantDeviceAssignment(Context(t).get(), r, &o);
       }},
      {"GetPlantDeviceAssignment", a.assignment,
       [&](int64_t id) {
         v1::GetPlantDeviceAssignmentRequest r;
         r.set_id(id);
         v1::PlantDeviceAssignment o;
         return plants_->GetPlantDeviceAssignment(Context(t).get(), r, &o);
       }},
      {"UpdatePlantDeviceAssignment", a.assignment,
       [&](int64_t id) {
         v1::UpdatePlantDeviceAssignmentRequest r;
         r.mutable_plant_device_assignment()->set_id(id);
         r.mutable_update_mask()->add_paths("is_active");
         v1::PlantDeviceAssignment o;
         return plants_->UpdatePlantDeviceAssignment(Context(t).get(), r, &o);
       }},
      {"DeletePlantDeviceAssignment", a.assignment,
       [&](int64_t id) {
         v1::DeletePlantDeviceAssignmentRequest r;
         r.set_id(id);
         google::protobuf::Empty o;
         return plants_->DeletePlantDeviceAssignment(Context(t).get(), r, &o);
       }},
      {"CreateAlertRule", a.plant,
       [&](int64_t id) {
         v1::CreateAlertRuleRequest r;
         r.mutable_alert_rule()->set_plant_id(id);
         r.mutable_alert_rule()->set_rule_name("x");
         r.mutable_alert_rule()->set_rule_type("threshold");
         r.mutable_alert_rule()->set_parameter_name("light");
         r.mutable_alert_rule()->set_condition_operator(">");
         v1::AlertRule o;
         return alerts_->CreateAlertRule(Context(t).get(), r, &o);
       }},
      {"GetAlertRule", a.rule,
       [&](int64_t id) {
         v1::GetAlertRuleRequest r;
         r.set_id(id);
         v1::AlertRule o;
         return alerts_->GetAlertRule(Context(t).get(), r, &o);
       }},
      {"UpdateAlertRule", a.rule,
       [&](int64_t id) {
         v1::UpdateAlertRuleRequest r;
         r.mutable_alert_rule()->set_id(id);
         r.mutable_update_mask()->add_paths("is_active");
         v1::AlertRule o;
         return alerts_->UpdateAlertRule(Context(t).get(), r, &o);
       }},
      {"DeleteAlertRule", a.rule,
       [&](int64_t id) {
         v1::DeleteAlertRuleRequest r;
         r.set_id(id);
         google::protobuf::Empty o;
         return alerts_->DeleteAlertRule(Context(t).get(), r, &o);
       }},
      {"GetAlert", a.alert,
       [&](int64_t id) {
         v1::GetAlertRequest r;
         r.set_id(id);
         v1::Alert o;
         return alerts_->GetAlert(Context(t).get(), r, &o);
       }},
      {"AcknowledgeAlert", a.alert,
       [&](int64_t id) {
         v1::AcknowledgeAlertRequest r;
         r.set_id(id);
         v1::Alert o;
         return alerts_->AcknowledgeAlert(Context(t).get(), r, &o);
       }},
      {"ResolveAlert", a.alert,
       [&](int64_t id) {
         v1::ResolveAlertRequest r;
         r.set_id(id);
         v1::Alert o;
         return alerts_->ResolveAlert(Context(t).get(), r, &o);
       }},
      {"AcknowledgeAlerts", a.plant,
       [&](int64_t id) {
         v1::AcknowledgeAlertsRequest r;
         r.set_plant_id(id);
         v1::AcknowledgeAlertsResponse o;
         return alerts_->AcknowledgeAlerts(Context(t).get(), r, &o);
       }},
      {"RecordWatering", a.plant,
       [&](int64_t id) {
         v1::RecordWateringRequest r;
         r.set_plant_id(id);
         v1::WateringEvent o;
         return plants_->RecordWatering(Context(t).get(), r, &o);
       }},
      {"ListWateringEvents", a.plant,
       [&](int64_t id) {
         v1::ListWateringEventsRequest r;
         r.set_plant_id(id);
         v1::ListWateringEventsResponse o;
         return plants_->ListWateringEvents(Context(t).get(), r, &o);
       }},
      {"ResolveAlerts", a.plant,
       [&](int64_t id) {
         v1::ResolveAlertsRequest r;
         r.set_plant_id(id);
         v1::ResolveAlertsResponse o;
         return alerts_->ResolveAlerts(Context(t).get(), r, &o);
       }},
      {"RecordReading", a.device,
       [&](int64_t id) {
         v1::RecordReadingRequest r;
         r.mutable_sensor_data()->set_device_id(id);
         r.mutable_sensor_data()->set_measurement_value(1);
         r.mutable_sensor_data()->mutable_timestamp()->set_seconds(std::time(nullptr));
         v1::SensorData o;
         return telemetry_->RecordReading(Context(t).get(), r, &o);
       }},
      {"ListSensorData", a.device,
       [&](int64_t id) {
         v1::ListSensorDataRequest r;
         r.set_device_id(id);
         r.mutable_start_time()->set_seconds(0);
         r.mutable_end_time()->set_seconds(std::time(nullptr) + 60);
         v1::ListSensorDataResponse o;
         return telemetry_->ListSensorData(Context(t).get(), r, &o);
       }},
  };
  constexpr int64_t kMissing = 2147480000;
  for (const auto& [name, foreign_id, call] : calls) {
    SCOPED_TRACE(name);
    grpc::Status foreign = call(foreign_id);
    grpc::Status missing = call(kMissing);
    EXPECT_EQ(foreign.error_code(), StatusCode::NOT_FOUND) << foreign.error_message();
    EXPECT_EQ(Normalize(foreign, foreign_id), Normalize(missing, kMissing));
  }

  // Lists and filters show none of the first user's rows.
  v1::ListDevicesResponse devices;
  ASSERT_TRUE(devices_->ListDevices(Context(t).get(), {}, &devices).ok());
  ASSERT_EQ(devices.devices_size(), 1);
  EXPECT_EQ(devices.devices(0).id(), b_device);
  v1::ListPlantsResponse plants;
  ASSERT_TRUE(plants_->ListPlants(Context(t).get(), {}, &plants).ok());
  ASSERT_EQ(plants.plants_size(), 1);
  v1::ListPlantDeviceAssignmentsRequest assignments_of_a;
  assignments_of_a.set_device_id(a.device);
  v1::ListPlantDeviceAssignmentsResponse assignments;
  ASSERT_TRUE(
      plants_->ListPlantDeviceAssignments(Context(t).get(), assignments_of_a, &assignments).ok());
  EXPECT_EQ(assignments.plant_device_assignments_size(), 0);
  v1::ListAlertRulesRequest rules_of_a;
  rules_of_a.set_plant_id(a.plant);
  v1::ListAlertRulesResponse rules;
  ASSERT_TRUE(alerts_->ListAlertRules(Context(t).get(), rules_of_a, &rules).ok());
  EXPECT_EQ(rules.alert_rules_size(), 0);
  v1::ListAlertsResponse alerts;
  ASSERT_TRUE(alerts_->ListAlerts(Context(t).get(), {}, &alerts).ok());
  EXPECT_EQ(alerts.alerts_size(), 0);
  v1::AcknowledgeAlertsResponse bulk;
  ASSERT_TRUE(alerts_->AcknowledgeAlerts(Context(t).get(), {}, &bulk).ok());
  EXPECT_EQ(bulk.acknowledged_count(), 0);
  v1::ResolveAlertsResponse bulk_resolve;
  ASSERT_TRUE(alerts_->ResolveAlerts(Context(t).get(), {}, &bulk_resolve).ok());
  EXPECT_EQ(bulk_resolve.resolved_count(), 0);

  EXPECT_EQ(snapshot(), before) << "the second user's calls changed something";
}

}  // namespace
}  // namespace plantmon
