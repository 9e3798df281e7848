// WatchAlerts across server processes: readings go in through one server,
// the watch is open on another, and LISTEN/NOTIFY carries the change; and
// resumed watches (resume_after_event_id): replayed across a server restart,
// then live, with no gap and no duplicate, checked against alert_events.
#include <grpcpp/grpcpp.h>

#include <thread>
#include <vector>

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

// A user with a plant, a device and 20 threshold rules on it, made in SQL
// (the catalogue) and through the API (the rest).
class ResumeTest : public ::testing::Test {
 protected:
  static constexpr int kRules = 20;

  void SetUp() override {
    database_ = TestDatabase::CreateOrDie();
    server_ = StartServer(*database_);
    database_->Query(
        "INSERT INTO plant_types (id, name) VALUES (1, 'Fern'); "
        "INSERT INTO manufacturers (id, name) VALUES (1, 'Maker'); "
        "INSERT INTO device_types (id, manufacturer_id, name, device_type, data_unit) "
        "VALUES (1, 1, 'Probe', 'sensor', '%')");
    auto channel = ChannelTo(*server_);
    auto users = v1::UserService::NewStub(channel);
    token_ = SignUpAndLogin(*users, "resumer");
    user_id_ = database_->Query("SELECT id FROM users WHERE username = 'resumer'")
                   .front()
                   .front()
                   .as<int64_t>();
    database_->Query(absl::StrCat(
        "INSERT INTO plants (id, user_id, plant_type_id, plant_name) VALUES (1, ", user_id_,
        ", 1, 'Fern'); "
        "INSERT INTO alert_rules (id, user_id, plant_id, rule_name, rule_type, parameter_name, "
        "condition_operator, threshold_value) SELECT n, ",
        user_id_,
        ", 1, 'Dry ' || n, 'threshold', 'soil_moisture', '<', 30 "
        "FROM generate_series(1, ",
        kRules, ") AS n"));
  }

  // Opens an alert on rule `rule` through the API's alert writer path: an
  // INSERT as the engine's, then acknowledge and resolve through the API.
  void OpenAlert(int rule) {
    database_->Query(absl::StrCat(
        "BEGIN; SELECT lock_alert_events(ARRAY[", user_id_,
        "]); INSERT INTO alerts (user_id, plant_id, rule_id, severity, message, triggered_at) "
        "VALUES (",
        user_id_, ", 1, ", rule, ", 'warning', 'dry', now()); COMMIT"));
  }

  // Every event of the user after `after`, from the table.
  std::vector<int64_t> EventsAfter(int64_t after) {
    std::vector<int64_t> ids;
    for (const auto& row :
         database_->Query(absl::StrCat("SELECT id FROM alert_events WHERE user_id = ", user_id_,
                                       " AND id > ", after, " ORDER BY id"))) {
      ids.push_back(row[0].as<int64_t>());
    }
    return ids;
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<services::PlantmonServer> server_;
  std::string token_;
  int64_t user_id_ = 0;
};

TEST_F(ResumeTest, AResumedWatchReplaysAcrossARestartThenGoesLiveWithoutGapOrDuplicate) {
  auto alerts = v1::AlertService::NewStub(ChannelTo(*server_));
  // A watch sees the first alert open; its client remembers the event id.
  auto first_context = Context(token_, 20);
  auto first_watch = alerts->WatchAlerts(first_context.get(), v1::WatchAlertsRequest());
  first_watch->WaitForInitialMetadata();
  OpenAlert(1);
  v1::WatchAlertsResponse seen;
  ASSERT_TRUE(first_watch->Read(&seen));
  ASSERT_GT(seen.event_id(), 0);
  EXPECT_EQ(seen.alert().status(), v1::ALERT_STATUS_ACTIVE);
  const int64_t last_seen = seen.event_id();
  first_context->TryCancel();
  first_watch->Finish();

  // The server goes away; changes go on meanwhile (here, in SQL and through
  // a second server), and the server comes back on a new port.
  server_->Shutdown(absl::Seconds(1));
  server_.reset();
  auto other = StartServer(*database_);
  auto other_alerts = v1::AlertService::NewStub(ChannelTo(*other));
  for (int rule = 2; rule <= 5; ++rule) OpenAlert(rule);
  v1::AcknowledgeAlertsRequest acknowledge_all;
  v1::AcknowledgeAlertsResponse acknowledged;
  ASSERT_TRUE(
      other_alerts->AcknowledgeAlerts(Context(token_).get(), acknowledge_all, &acknowledged).ok());
  EXPECT_EQ(acknowledged.acknowledged_count(), 5);
  server_ = StartServer(*database_);
  alerts = v1::AlertService::NewStub(ChannelTo(*server_));

  // Resumed: while it replays, a writer on the other server keeps changing
  // alerts (opening and resolving them), so replay and live meet mid-stream.
  v1::WatchAlertsRequest resume;
  resume.set_resume_after_event_id(last_seen);
  auto context = Context(token_, 60);
  auto watch = alerts->WatchAlerts(context.get(), resume);
  std::thread writer([&] {
    for (int round = 0; round < 3; ++round) {
      for (int rule = 6; rule <= kRules; ++rule) OpenAlert(rule);
      v1::ResolveAlertsRequest resolve_all;
      v1::ResolveAlertsResponse resolved;
      EXPECT_TRUE(other_alerts->ResolveAlerts(Context(token_).get(), resolve_all, &resolved).ok());
    }
  });

  // 4 opened + 5 acknowledged while away, then 3 rounds of 15 opened and
  // 15 (or 20, the first time) resolved. Read while the writer writes (the
  // count is known, so the reader never waits on a change that will not
  // come).
  constexpr size_t kChanges = 4 + 5 + 15 + 20 + 15 + 15 + 15 + 15;
  std::vector<int64_t> delivered;
  std::vector<v1::Alert> delivered_alerts;
  while (delivered.size() < kChanges) {
    v1::WatchAlertsResponse change;
    if (!watch->Read(&change)) break;
    delivered.push_back(change.event_id());
    delivered_alerts.push_back(change.alert());
  }
  writer.join();
  ASSERT_EQ(delivered.size(), kChanges) << watch->Finish().error_message();
  // Exactly the table's events after the last one seen, in order: none
  // missing, none twice, the replayed and the live ones alike.
  EXPECT_EQ(delivered, EventsAfter(last_seen));
  // Replayed events carry the alert as that change left it: the first four
  // are alerts 2 to 5 opening, ACTIVE, though they are RESOLVED by now.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(delivered_alerts[i].status(), v1::ALERT_STATUS_ACTIVE) << i;
    EXPECT_EQ(delivered_alerts[i].rule_id(), i + 2);
  }
  EXPECT_EQ(delivered_alerts[4].status(), v1::ALERT_STATUS_ACKNOWLEDGED);
  EXPECT_EQ(delivered_alerts.back().status(), v1::ALERT_STATUS_RESOLVED);

  // And a fresh watch (no resume) starts at now: it sees the next change
  // only.
  auto fresh_context = Context(token_, 20);
  auto fresh = alerts->WatchAlerts(fresh_context.get(), v1::WatchAlertsRequest());
  fresh->WaitForInitialMetadata();
  OpenAlert(1);
  v1::WatchAlertsResponse next;
  ASSERT_TRUE(fresh->Read(&next));
  EXPECT_EQ(next.event_id(), EventsAfter(0).back());
  ASSERT_TRUE(watch->Read(&next));
  EXPECT_EQ(next.event_id(), EventsAfter(0).back());
  context->TryCancel();
  watch->Finish();
  fresh_context->TryCancel();
  fresh->Finish();
}

TEST_F(ResumeTest, ConcurrentWritersOfOneUserNeverLeaveALiveWatchAGap) {
  // Four writers on their own connections change the user's alerts as fast
  // as they can while a watch reads live: events must reach it in the order
  // of their ids, all of them. (Without the per-user event lock, a later id
  // that commits first moves the watch's cursor past an earlier one.)
  auto alerts = v1::AlertService::NewStub(ChannelTo(*server_));
  auto context = Context(token_, 60);
  auto watch = alerts->WatchAlerts(context.get(), v1::WatchAlertsRequest());
  watch->WaitForInitialMetadata();
  const int64_t before = EventsAfter(0).empty() ? 0 : EventsAfter(0).back();
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto connection = database_->Connect();
      for (int i = 0; i < 100; ++i) {
        const int rule = 1 + w * 5 + i % 5;
        pqxx::work transaction(*connection);
        transaction.exec(absl::StrCat("SELECT lock_alert_events(ARRAY[", user_id_, "])"));
        transaction.exec(absl::StrCat(
            "INSERT INTO alerts (user_id, plant_id, rule_id, severity, message, triggered_at, "
            "status, resolved_at) VALUES (",
            user_id_, ", 1, ", rule, ", 'warning', 'dry', now(), 'resolved', now())"));
        // A little work between drawing the id and committing.
        transaction.exec("SELECT pg_sleep(0.002)");
        transaction.commit();
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  const std::vector<int64_t> expected = EventsAfter(before);
  ASSERT_EQ(expected.size(), 400u);
  std::vector<int64_t> delivered;
  while (delivered.size() < expected.size()) {
    v1::WatchAlertsResponse change;
    ASSERT_TRUE(watch->Read(&change)) << delivered.size();
    delivered.push_back(change.event_id());
  }
  EXPECT_EQ(delivered, expected);
  context->TryCancel();
  watch->Finish();
}

TEST_F(ResumeTest, ResumingFromWhatIsNoLongerKeptOrFromTheFutureIsOutOfRange) {
  auto alerts = v1::AlertService::NewStub(ChannelTo(*server_));
  for (int rule = 1; rule <= 3; ++rule) OpenAlert(rule);
  const std::vector<int64_t> events = EventsAfter(0);
  ASSERT_EQ(events.size(), 3u);

  auto status_of = [&](int64_t after) {
    v1::WatchAlertsRequest request;
    request.set_resume_after_event_id(after);
    auto context = Context(token_, 5);
    auto watch = alerts->WatchAlerts(context.get(), request);
    v1::WatchAlertsResponse change;
    while (watch->Read(&change)) {
    }
    return watch->Finish();
  };
  grpc::Status negative = status_of(-1);
  EXPECT_EQ(negative.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << negative.error_message();
  grpc::Status future = status_of(events.back() + 1);
  EXPECT_EQ(future.error_code(), grpc::StatusCode::OUT_OF_RANGE) << future.error_message();
  EXPECT_NE(future.error_message().find("beyond the newest"), std::string::npos);
  // Resuming after the last one is fine: nothing to replay yet (the watch
  // ends at its deadline).
  EXPECT_EQ(status_of(events.back()).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);

  // The first two events age past the retention; a server that keeps them
  // an hour prunes them on its first round.
  database_->Query(
      absl::StrCat("UPDATE alert_events SET occurred_at = now() - interval '2 hours' "
                   "WHERE id <= ",
                   events[1]));
  server_->Shutdown(absl::Seconds(1));
  services::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.database = database_->Config(4, 4);
  options.bcrypt_cost = 10;
  options.alert_event_retention = absl::Hours(1);
  auto restarted = services::PlantmonServer::Start(options);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  server_ = *std::move(restarted);
  alerts = v1::AlertService::NewStub(ChannelTo(*server_));
  for (int i = 0; i < 100 && EventsAfter(0).size() != 1; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(EventsAfter(0), std::vector<int64_t>{events[2]});

  grpc::Status gone = status_of(events[0]);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::OUT_OF_RANGE) << gone.error_message();
  EXPECT_NE(gone.error_message().find("ListAlerts"), std::string::npos) << gone.error_message();
  EXPECT_EQ(status_of(0).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  // After the last pruned event nothing is missing: the kept one replays.
  v1::WatchAlertsRequest request;
  request.set_resume_after_event_id(events[1]);
  auto context = Context(token_, 20);
  auto watch = alerts->WatchAlerts(context.get(), request);
  v1::WatchAlertsResponse change;
  ASSERT_TRUE(watch->Read(&change));
  EXPECT_EQ(change.event_id(), events[2]);
  EXPECT_EQ(change.alert().rule_id(), 3);
  context->TryCancel();
  watch->Finish();
}

}  // namespace
}  // namespace plantmon
