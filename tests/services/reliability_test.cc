// Faults a long-running server meets: clients with deadlines, clients that
// vanish mid-stream, and more calls than database connections.
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/testing/api_fixture.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

class ReliabilityTest : public ApiTest {
 protected:
  // Server backends of the test database waiting on a lock.
  static int WaitingOnLocks() {
    return database_
        ->Query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")[0][0]
        .as<int>();
  }

  static v1::ListSensorDataRequest DayOf(int64_t device_id) {
    v1::ListSensorDataRequest request;
    request.set_device_id(device_id);
    request.mutable_start_time()->set_seconds(std::time(nullptr) - 86400);
    request.mutable_end_time()->set_seconds(std::time(nullptr));
    return request;
  }
};

TEST_F(ReliabilityTest, TheClientsDeadlineCancelsTheQueryOnTheServer) {
  SignedInUser owner = SignUp("deadline_owner");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Deadline probe").id(), "deadline-1");
  // Another session holds a lock that the listing must wait for.
  std::unique_ptr<pqxx::connection> blocker = database_->Connect();
  pqxx::work lock(*blocker);
  lock.exec("LOCK TABLE sensor_data IN ACCESS EXCLUSIVE MODE");

  auto context = Context(owner.token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  v1::ListSensorDataResponse response;
  grpc::Status status = telemetry_->ListSensorData(context.get(), DayOf(device.id()), &response);
  EXPECT_EQ(status.error_code(), StatusCode::DEADLINE_EXCEEDED);
  // statement_timeout cancels the server's query; without it the query
  // would wait for the lock as long as the lock is held.
  absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (WaitingOnLocks() > 0 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(WaitingOnLocks(), 0);
  lock.abort();

  // The connection went back clean: the next call works.
  ASSERT_TRUE(telemetry_->ListSensorData(Context(owner.token).get(), DayOf(device.id()),
                                         &response).ok());
}

TEST_F(ReliabilityTest, ClientsVanishingMidStreamLeaveNoHalfBatchesOrLeakedConnections) {
  SignedInUser owner = SignUp("vanishing");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Vanishing probe").id(), "vanish-1");
  const int64_t now = std::time(nullptr);
  auto connections = [] {
    return database_
        ->Query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'plantmon'")[0][0]
        .as<int>();
  };
  const int before = connections();
  constexpr int kDisconnects = 1000;
  for (int i = 0; i < kDisconnects; ++i) {
    auto context = Context(owner.token);
    auto stream = telemetry_->StreamReadings(context.get());
    v1::StreamReadingsRequest request;
    request.set_gateway_id("vanishing-gateway");
    request.set_sequence(i + 1);
    for (int r = 0; r < 10; ++r) {
      v1::IncomingReading* reading = request.add_readings();
      reading->set_device_id(device.id());
      reading->set_measurement_value(r);
      reading->mutable_timestamp()->set_seconds(now - 10000 + i * 10 + r);
    }
    stream->Write(request);
    context->TryCancel();
    stream->Finish();
  }
  // Let the server finish the calls it was still handling when their
  // clients left; a leaked transaction would stay "idle in transaction".
  auto busy = [] {
    return database_
        ->Query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'plantmon' AND state <> 'idle' AND pid <> pg_backend_pid()")[0][0]
        .as<int>();
  };
  // Quiet means no busy backend for half a second in a row: calls still
  // queued in the server start their transactions between samples.
  absl::Time give_up = absl::Now() + absl::Seconds(30);
  int quiet_samples = 0;
  while (quiet_samples < 25 && absl::Now() < give_up) {
    quiet_samples = busy() == 0 ? quiet_samples + 1 : 0;
    absl::SleepFor(absl::Milliseconds(20));
  }
  // Every batch is all or nothing, and stored exactly when its key is.
  const std::string id = std::to_string(device.id());
  const int64_t rows =
      database_->Query("SELECT count(*) FROM sensor_data WHERE device_id = " + id)[0][0].as<int64_t>();
  const int64_t keys = database_
                           ->Query("SELECT coalesce(sum(accepted), 0) FROM ingest_batches "
                                   "WHERE gateway_id = 'vanishing-gateway'")[0][0]
                           .as<int64_t>();
  EXPECT_EQ(rows % 10, 0);
  EXPECT_EQ(rows, keys);
  EXPECT_EQ(database_
                ->Query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND state LIKE 'idle in transaction%'")[0][0]
                .as<int>(),
            0);
  EXPECT_LE(connections(), std::max(before, 12)) << "pool_size 4 + max_overflow 8";
  v1::User me;
  EXPECT_TRUE(users_->GetCurrentUser(Context(owner.token).get(), {}, &me).ok());
}

TEST(PoolExhaustionTest, ExcessCallsGetResourceExhaustedWhileTheOthersAreServed) {
  auto database = plantmon::testing::TestDatabase::CreateOrDie();
  services::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.database = database->Config(/*pool_size=*/2, /*max_overflow=*/0);
  options.database.acquire_timeout = absl::Milliseconds(300);
  options.bcrypt_cost = 10;
  auto server = services::PlantmonServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                     grpc::InsecureChannelCredentials());
  auto users = v1::UserService::NewStub(channel);
  auto telemetry = v1::TelemetryService::NewStub(channel);
  v1::CreateUserRequest create;
  create.mutable_user()->set_email("pool@example.com");
  create.mutable_user()->set_username("pool");
  create.set_password("pool-password");
  v1::User user;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(users->CreateUser(&context, create, &user).ok());
  }
  v1::LoginRequest login;
  login.set_login("pool");
  login.set_password("pool-password");
  v1::LoginResponse session;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(users->Login(&context, login, &session).ok());
  }
  database->Query(absl::StrCat(
      "INSERT INTO manufacturers (id, name) VALUES (1, 'M'); "
      "INSERT INTO device_types (id, manufacturer_id, name, device_type) VALUES (1, 1, 'T', 'sensor'); "
      "INSERT INTO devices (id, user_id, device_type_id, unique_identifier, device_name) "
      "VALUES (1, ", user.id(), ", 1, 'pool-1', 'D')"));

  std::unique_ptr<pqxx::connection> blocker = database->Connect();
  pqxx::work lock(*blocker);
  lock.exec("LOCK TABLE sensor_data IN ACCESS EXCLUSIVE MODE");
  auto list = [&](grpc::Status* status) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + session.access_token());
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::ListSensorDataRequest request;
    request.set_device_id(1);
    request.mutable_start_time()->set_seconds(0);
    request.mutable_end_time()->set_seconds(std::time(nullptr));
    v1::ListSensorDataResponse response;
    *status = telemetry->ListSensorData(&context, request, &response);
  };
  // Two calls take both connections and wait on the lock.
  grpc::Status first, second;
  std::thread a([&] { list(&first); });
  std::thread b([&] { list(&second); });
  absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (absl::Now() < give_up &&
         database->Query("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                         "current_database() AND wait_event_type = 'Lock'")[0][0]
                 .as<int>() < 2) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  // A third finds no connection within the pool's wait limit.
  absl::Time start = absl::Now();
  grpc::Status third;
  list(&third);
  EXPECT_EQ(third.error_code(), StatusCode::RESOURCE_EXHAUSTED) << third.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  lock.abort();
  a.join();
  b.join();
  EXPECT_TRUE(first.ok()) << first.error_message();
  EXPECT_TRUE(second.ok()) << second.error_message();
}

TEST(GracefulShutdownTest, InFlightCallsFinishAndNewCallsAreRefused) {
  auto database = plantmon::testing::TestDatabase::CreateOrDie();
  services::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.database = database->Config(2, 2);
  options.bcrypt_cost = 10;
  auto server = services::PlantmonServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                     grpc::InsecureChannelCredentials());
  auto users = v1::UserService::NewStub(channel);
  auto telemetry = v1::TelemetryService::NewStub(channel);
  v1::CreateUserRequest create;
  create.mutable_user()->set_email("shutdown@example.com");
  create.mutable_user()->set_username("shutdown");
  create.set_password("shutdown-password");
  v1::User user;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(users->CreateUser(&context, create, &user).ok());
  }
  v1::LoginRequest login;
  login.set_login("shutdown");
  login.set_password("shutdown-password");
  v1::LoginResponse session;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(users->Login(&context, login, &session).ok());
  }
  database->Query(absl::StrCat(
      "INSERT INTO manufacturers (id, name) VALUES (1, 'M'); "
      "INSERT INTO device_types (id, manufacturer_id, name, device_type) VALUES (1, 1, 'T', 'sensor'); "
      "INSERT INTO devices (id, user_id, device_type_id, unique_identifier, device_name) "
      "VALUES (1, ", user.id(), ", 1, 'shutdown-1', 'D')"));
  auto list = [&](grpc::Status* status) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + session.access_token());
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::ListSensorDataRequest request;
    request.set_device_id(1);
    request.mutable_start_time()->set_seconds(0);
    request.mutable_end_time()->set_seconds(std::time(nullptr));
    v1::ListSensorDataResponse response;
    *status = telemetry->ListSensorData(&context, request, &response);
  };

  std::unique_ptr<pqxx::connection> blocker = database->Connect();
  pqxx::work lock(*blocker);
  lock.exec("LOCK TABLE sensor_data IN ACCESS EXCLUSIVE MODE");
  grpc::Status in_flight;
  std::thread call([&] { list(&in_flight); });
  absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (absl::Now() < give_up &&
         database->Query("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                         "current_database() AND wait_event_type = 'Lock'")[0][0]
                 .as<int>() < 1) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  std::thread shutdown([&] { (*server)->Shutdown(absl::Seconds(10)); });
  absl::SleepFor(absl::Milliseconds(300));
  grpc::Status late;
  list(&late);
  EXPECT_EQ(late.error_code(), StatusCode::UNAVAILABLE) << "no new calls after SIGTERM";
  lock.abort();  // the in-flight call can now finish, within the grace period
  call.join();
  shutdown.join();
  EXPECT_TRUE(in_flight.ok()) << in_flight.error_message();
}

}  // namespace
}  // namespace plantmon
