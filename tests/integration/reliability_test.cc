// Faults a long-running server meets: clients with deadlines, clients that
// vanish mid-stream, and more calls than database connections.
#include <thread>

#include "absl/strings/str_cat.h"
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
        ->Query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
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
  ASSERT_TRUE(
      telemetry_->ListSensorData(Context(owner.token).get(), DayOf(device.id()), &response).ok());
}

TEST_F(ReliabilityTest, ClientsVanishingMidStreamLeaveNoHalfBatchesOrLeakedConnections) {
  SignedInUser owner = SignUp("vanishing");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Vanishing probe").id(), "vanish-1");
  const int64_t now = std::time(nullptr);
  auto connections = [] {
    return database_
        ->Query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
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
        ->Query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'plantmon' AND state <> 'idle' AND pid <> pg_backend_pid()")[0]
                                                                                                [0]
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
  const auto rows =
      database_->Query("SELECT count(*) FROM sensor_data WHERE device_id = " + id)[0][0]
          .as<int64_t>();
  const auto keys = database_
                        ->Query(
                            "SELECT coalesce(sum(accepted), 0) FROM ingest_batches "
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

// A server of its own (the fixture's pool is too large for these tests)
// with one signed-in user who owns device 1, and a way to wait until the
// server's backends are blocked on a lock.
class LockedTableServer {
 public:
  explicit LockedTableServer(int pool_size, absl::Duration acquire_timeout = absl::Seconds(10),
                             const services::CallLimits& limits = {})
      : database_(plantmon::testing::TestDatabase::CreateOrDie()) {
    services::ServerOptions options;
    options.limits = limits;
    options.listen_address = "127.0.0.1:0";
    options.database = database_->Config(pool_size, /*max_overflow=*/0);
    options.database.acquire_timeout = acquire_timeout;
    options.bcrypt_cost = 10;
    auto server = services::PlantmonServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                       grpc::InsecureChannelCredentials());
    users_ = v1::UserService::NewStub(channel);
    telemetry_ = v1::TelemetryService::NewStub(channel);
    alerts_ = v1::AlertService::NewStub(channel);
    v1::LoginResponse session = SignUp("locked");
    token_ = session.access_token();
    const v1::User& user = session.user();
    database_->Query(absl::StrCat(
        "INSERT INTO manufacturers (id, name) VALUES (1, 'M'); "
        "INSERT INTO device_types (id, manufacturer_id, name, device_type) "
        "VALUES (1, 1, 'T', 'sensor'); "
        "INSERT INTO devices (id, user_id, device_type_id, unique_identifier, device_name) "
        "VALUES (1, ",
        user.id(), ", 1, 'locked-1', 'D')"));
  }

  v1::LoginResponse SignUp(const std::string& name) {
    v1::CreateUserRequest create;
    create.mutable_user()->set_email(name + "@example.com");
    create.mutable_user()->set_username(name);
    create.set_password("locked-password");
    v1::User user;
    grpc::ClientContext signup;
    EXPECT_TRUE(users_->CreateUser(&signup, create, &user).ok());
    v1::LoginRequest login;
    login.set_login(name);
    login.set_password("locked-password");
    v1::LoginResponse session;
    grpc::ClientContext context;
    EXPECT_TRUE(users_->Login(&context, login, &session).ok());
    return session;
  }

  // An open WatchAlerts stream of `token`'s account, or the status that
  // refused it.
  struct Watch {
    std::unique_ptr<grpc::ClientContext> context = std::make_unique<grpc::ClientContext>();
    std::unique_ptr<grpc::ClientReader<v1::WatchAlertsResponse>> reader;
  };
  Watch OpenWatch(const std::string& token) {
    Watch watch;
    watch.context->AddMetadata("authorization", "Bearer " + token);
    watch.context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    watch.reader = alerts_->WatchAlerts(watch.context.get(), v1::WatchAlertsRequest());
    // The server sends headers once the watch is in place, or ends the call.
    watch.reader->WaitForInitialMetadata();
    return watch;
  }
  static grpc::Status Refusal(Watch& watch) {
    v1::WatchAlertsResponse ignored;
    while (watch.reader->Read(&ignored)) {
    }
    return watch.reader->Finish();
  }

  const std::string& token() const { return token_; }

  // Lists device 1's readings: blocks while sensor_data is locked.
  grpc::Status List() {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token_);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::ListSensorDataRequest request;
    request.set_device_id(1);
    request.mutable_start_time()->set_seconds(0);
    request.mutable_end_time()->set_seconds(std::time(nullptr));
    v1::ListSensorDataResponse response;
    return telemetry_->ListSensorData(&context, request, &response);
  }

  void WaitForBlockedBackends(int count) {
    absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (absl::Now() < give_up &&
           database_
                   ->Query("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND wait_event_type = 'Lock'")[0][0]
                   .as<int>() < count) {
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  plantmon::testing::TestDatabase& database() { return *database_; }
  services::PlantmonServer& server() { return *server_; }

 private:
  std::unique_ptr<plantmon::testing::TestDatabase> database_;
  std::unique_ptr<services::PlantmonServer> server_;
  std::unique_ptr<v1::UserService::Stub> users_;
  std::unique_ptr<v1::TelemetryService::Stub> telemetry_;
  std::unique_ptr<v1::AlertService::Stub> alerts_;
  std::string token_;
};

// Locks sensor_data, lets two listings start and wait on the lock, then
// times a third; releases the lock and reports all three.
struct ThreeListings {
  grpc::Status first, second, third;
  absl::Duration third_took;
};
ThreeListings ListThreeWhileTwoWait(LockedTableServer& locked) {
  std::unique_ptr<pqxx::connection> blocker = locked.database().Connect();
  pqxx::work lock(*blocker);
  lock.exec("LOCK TABLE sensor_data IN ACCESS EXCLUSIVE MODE");
  ThreeListings result;
  std::thread a([&] { result.first = locked.List(); });
  std::thread b([&] { result.second = locked.List(); });
  locked.WaitForBlockedBackends(2);
  absl::Time start = absl::Now();
  result.third = locked.List();
  result.third_took = absl::Now() - start;
  lock.abort();
  a.join();
  b.join();
  return result;
}

TEST(PoolExhaustionTest, ExcessCallsGetResourceExhaustedWhileTheOthersAreServed) {
  LockedTableServer locked(/*pool_size=*/2, /*acquire_timeout=*/absl::Milliseconds(300));
  // Two calls take both connections; a third finds none within the pool's
  // wait limit.
  ThreeListings calls = ListThreeWhileTwoWait(locked);
  EXPECT_EQ(calls.third.error_code(), StatusCode::RESOURCE_EXHAUSTED)
      << calls.third.error_message();
  EXPECT_LT(calls.third_took, absl::Seconds(3));
  EXPECT_TRUE(calls.first.ok()) << calls.first.error_message();
  EXPECT_TRUE(calls.second.ok()) << calls.second.error_message();
}

TEST(CallLimitsTest, CallsOverTheConcurrencyLimitAreRefusedAtOnceNamingIt) {
  services::CallLimits limits;
  limits.max_concurrent_calls = 2;
  LockedTableServer locked(/*pool_size=*/4, absl::Seconds(10), limits);
  ThreeListings calls = ListThreeWhileTwoWait(locked);
  EXPECT_EQ(calls.third.error_code(), StatusCode::RESOURCE_EXHAUSTED)
      << calls.third.error_message();
  EXPECT_NE(calls.third.error_message().find("PLANTMON_MAX_CONCURRENT_CALLS"), std::string::npos)
      << calls.third.error_message();
  EXPECT_LT(calls.third_took, absl::Seconds(1));
  EXPECT_TRUE(calls.first.ok()) << calls.first.error_message();
  EXPECT_TRUE(calls.second.ok()) << calls.second.error_message();
  // Admission frees with the calls.
  EXPECT_TRUE(locked.List().ok());
}

TEST(CallLimitsTest, StreamsAreCappedPerUserAndInAll) {
  services::CallLimits limits;
  limits.max_streams_per_user = 2;
  limits.max_open_streams = 3;
  LockedTableServer locked(/*pool_size=*/4, absl::Seconds(10), limits);
  const std::string other = locked.SignUp("other").access_token();
  LockedTableServer::Watch a1 = locked.OpenWatch(locked.token());
  LockedTableServer::Watch a2 = locked.OpenWatch(locked.token());
  LockedTableServer::Watch a3 = locked.OpenWatch(locked.token());
  grpc::Status refused = LockedTableServer::Refusal(a3);
  EXPECT_EQ(refused.error_code(), StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("PLANTMON_MAX_STREAMS_PER_USER"), std::string::npos)
      << refused.error_message();
  // Another account still gets one, which fills the server.
  LockedTableServer::Watch b1 = locked.OpenWatch(other);
  LockedTableServer::Watch b2 = locked.OpenWatch(other);
  refused = LockedTableServer::Refusal(b2);
  EXPECT_EQ(refused.error_code(), StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("PLANTMON_MAX_OPEN_STREAMS"), std::string::npos)
      << refused.error_message();
  // A closed stream gives its slot back.
  a1.context->TryCancel();
  LockedTableServer::Refusal(a1);
  absl::Time give_up = absl::Now() + absl::Seconds(5);
  bool reopened = false;
  while (!reopened && absl::Now() < give_up) {
    LockedTableServer::Watch again = locked.OpenWatch(other);
    grpc::ClientContext* context = again.context.get();
    // Still open after a moment: the server accepted it.
    absl::SleepFor(absl::Milliseconds(300));
    context->TryCancel();
    reopened = LockedTableServer::Refusal(again).error_code() == StatusCode::CANCELLED;
  }
  EXPECT_TRUE(reopened);
  for (LockedTableServer::Watch* watch : {&a2, &b1}) {
    watch->context->TryCancel();
    LockedTableServer::Refusal(*watch);
  }
}

TEST(GracefulShutdownTest, InFlightCallsFinishAndNewCallsAreRefused) {
  LockedTableServer locked(/*pool_size=*/2);
  std::unique_ptr<pqxx::connection> blocker = locked.database().Connect();
  pqxx::work lock(*blocker);
  lock.exec("LOCK TABLE sensor_data IN ACCESS EXCLUSIVE MODE");
  grpc::Status in_flight;
  std::thread call([&] { in_flight = locked.List(); });
  locked.WaitForBlockedBackends(1);
  std::thread shutdown([&] { locked.server().Shutdown(absl::Seconds(10)); });
  absl::SleepFor(absl::Milliseconds(300));
  grpc::Status late = locked.List();
  EXPECT_EQ(late.error_code(), StatusCode::UNAVAILABLE) << "no new calls after SIGTERM";
  lock.abort();  // the in-flight call can now finish, within the grace period
  call.join();
  shutdown.join();
  EXPECT_TRUE(in_flight.ok()) << in_flight.error_message();
}

}  // namespace
}  // namespace plantmon
