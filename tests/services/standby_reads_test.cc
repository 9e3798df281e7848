// Reads on a hot standby (docs/scaling.md, "Read replicas"): tools/test runs a
// streaming standby of its PostgreSQL (PLANTMON_TEST_PG_STANDBY_PORT), and
// the server here reads ListSensorData and AggregateSensorData from it while
// it keeps up, and from the primary while its replay is paused past the lag
// bound, or when its connections are cut.
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/testing/api_fixture.h"
#include "tests/testing/eventually.h"

namespace plantmon {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::plantmon::testing::Eventually;
using ::plantmon::testing::SignedInUser;

class StandbyReadsTest : public testing::ApiTest {
 protected:
  static double StandbyReads() {
    return MetricSample(R"(plantmon_lag_tolerant_reads_total{target="standby"})");
  }
  static double PrimaryReads() {
    return MetricSample(R"(plantmon_lag_tolerant_reads_total{target="primary"})");
  }

  static void SetUpTestSuite() {
    StartSuite(/*access_log=*/false, [](services::ServerOptions& options) {
      postgres::DatabaseConfig standby = database_->StandbyConfig(/*pool_size=*/4,
                                                                  /*max_overflow=*/8);
      standby.target_session_attrs = "standby";
      options.standby_database = standby;
      options.standby_reads.max_lag = absl::Milliseconds(500);
      options.standby_reads.check_every = absl::Milliseconds(100);
      options.record_metrics = true;
    });
  }

  // A superuser session on the standby, for pausing its replay.
  static std::unique_ptr<pqxx::connection> StandbyAdmin() {
    return std::make_unique<pqxx::connection>(
        postgres::LibpqConnectionString(database_->StandbyConfig()));
  }

  static int64_t MakeProbe(const SignedInUser& owner, const std::string& name) {
    const v1::DeviceType type =
        MakeDeviceTypeMeasuring(name + " probe", {Measures("soil_moisture", 0, 100)});
    return MakeDevice(owner, type.id(), name + "-probe").id();
  }

  static void Record(const SignedInUser& owner, int64_t device, double value, absl::Time at) {
    v1::RecordReadingRequest request;
    request.mutable_sensor_data()->set_device_id(device);
    request.mutable_sensor_data()->set_measurement_value(value);
    request.mutable_sensor_data()->set_parameter_name("soil_moisture");
    *request.mutable_sensor_data()->mutable_timestamp() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(at));
    v1::SensorData stored;
    grpc::Status status = telemetry_->RecordReading(Context(owner.token).get(), request, &stored);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // The values ListSensorData returns for the device over the last hour.
  static std::vector<double> Listed(const SignedInUser& owner, int64_t device) {
    v1::ListSensorDataRequest request;
    request.set_device_id(device);
    *request.mutable_start_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() - absl::Hours(1)));
    *request.mutable_end_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() + absl::Hours(1)));
    v1::ListSensorDataResponse response;
    grpc::Status status =
        telemetry_->ListSensorData(Context(owner.token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<double> values;
    for (const v1::SensorData& reading : response.sensor_data()) {
      values.push_back(reading.measurement_value());
    }
    return values;
  }

  static bool StandbyUsable() {
    return Eventually([] { return MetricSample("plantmon_replica_usable") == 1; },
                      absl::Seconds(20));
  }
};

// Replay paused for the length of a scope, and resumed however it ends.
class PausedReplay {
 public:
  explicit PausedReplay(std::unique_ptr<pqxx::connection> admin) : admin_(std::move(admin)) {
    pqxx::nontransaction(*admin_).exec("SELECT pg_wal_replay_pause()");
  }
  ~PausedReplay() { pqxx::nontransaction(*admin_).exec("SELECT pg_wal_replay_resume()"); }

 private:
  std::unique_ptr<pqxx::connection> admin_;
};

TEST_F(StandbyReadsTest, ListsAndAggregatesAreReadFromTheStandbyWhileItKeepsUp) {
  ASSERT_TRUE(StandbyUsable());
  const SignedInUser owner = SignUp("stella");
  const int64_t device = MakeProbe(owner, "stella");
  Record(owner, device, 41, absl::Now() - absl::Minutes(2));
  // Until the standby has the device, it answers NOT_FOUND and the primary
  // is asked; replicated within the bound, the standby soon lists it itself.
  ASSERT_TRUE(Eventually(
      [&] {
        const double before = StandbyReads();
        return Listed(owner, device) == std::vector<double>{41} && StandbyReads() == before + 1;
      },
      absl::Seconds(10)));
  const double standby_before = StandbyReads();
  v1::AggregateSensorDataRequest aggregate;
  aggregate.set_device_id(device);
  *aggregate.mutable_start_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() - absl::Hours(1)));
  *aggregate.mutable_end_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now()));
  aggregate.mutable_bucket_width()->set_seconds(3600);
  v1::AggregateSensorDataResponse buckets;
  grpc::Status status =
      telemetry_->AggregateSensorData(Context(owner.token).get(), aggregate, &buckets);
  ASSERT_TRUE(status.ok()) << status.error_message();
  int64_t counted = 0;
  for (const auto& bucket : buckets.buckets()) counted += bucket.count();
  EXPECT_EQ(counted, 1);
  EXPECT_EQ(StandbyReads() - standby_before, 1) << "the aggregate";
  EXPECT_GE(MetricSample("plantmon_replica_lag_seconds"), 0);
  EXPECT_LT(MetricSample("plantmon_replica_lag_seconds"), 0.5);
}

TEST_F(StandbyReadsTest, AStandbyBehindTheBoundIsNotRead) {
  ASSERT_TRUE(StandbyUsable());
  const SignedInUser owner = SignUp("lars");
  const int64_t device = MakeProbe(owner, "lars");
  Record(owner, device, 10, absl::Now() - absl::Minutes(3));
  ASSERT_TRUE(Eventually([&] { return Listed(owner, device).size() == 1; }, absl::Seconds(10)));
  {
    PausedReplay paused(StandbyAdmin());
    Record(owner, device, 11, absl::Now() - absl::Minutes(2));
    // The heartbeat stops arriving: past the bound, reads go to the primary,
    // which has the new reading.
    ASSERT_TRUE(
        Eventually([] { return MetricSample("plantmon_replica_usable") == 0; }, absl::Seconds(10)));
    EXPECT_GT(MetricSample("plantmon_replica_lag_seconds"), 0.5);
    const double primary_before = PrimaryReads();
    EXPECT_EQ(Listed(owner, device), (std::vector<double>{10, 11}));
    EXPECT_EQ(PrimaryReads() - primary_before, 1);
    // A device made while the standby is behind is found (on the primary).
    const int64_t newer = MakeProbe(owner, "lars-2");
    EXPECT_TRUE(Listed(owner, newer).empty());
  }
  // Caught up again, reads go back to the standby. Within the bound it may
  // still be replaying the reading it missed (a beat written before that
  // reading can already be replayed and recent enough): bounded staleness is
  // the design (docs/scaling.md, "Read replicas"), so the reading is waited
  // for, and then read from the standby.
  ASSERT_TRUE(StandbyUsable());
  ASSERT_TRUE(Eventually(
      [&] {
        return Listed(owner, device) == std::vector<double>{10, 11};
      },
      absl::Seconds(10)));
  const double standby_before = StandbyReads();
  EXPECT_EQ(Listed(owner, device), (std::vector<double>{10, 11}));
  EXPECT_EQ(StandbyReads() - standby_before, 1);
}

TEST_F(StandbyReadsTest, ReadsGoOnWhenTheStandbyCutsTheServersConnections) {
  ASSERT_TRUE(StandbyUsable());
  const SignedInUser owner = SignUp("cuthbert");
  const int64_t device = MakeProbe(owner, "cuthbert");
  Record(owner, device, 5, absl::Now() - absl::Minutes(1));
  // Read from the standby itself first. A read the primary answers (the
  // standby does not have the device yet, NOT_FOUND) says nothing of the
  // standby, which may then have replayed the device and not yet the
  // reading, and rightly list nothing within the lag bound (a fresh-clone
  // CI run did so for all five reads below).
  ASSERT_TRUE(Eventually(
      [&] {
        const double before = StandbyReads();
        return Listed(owner, device) == std::vector<double>{5} && StandbyReads() == before + 1;
      },
      absl::Seconds(10)));
  // Every session of this database on the standby ends, the server's pooled
  // ones with them.
  {
    std::unique_ptr<pqxx::connection> admin = StandbyAdmin();
    pqxx::nontransaction(*admin).exec_params(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 "
        "AND pid <> pg_backend_pid()",
        database_->name());
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Listed(owner, device), std::vector<double>{5});
}

}  // namespace
}  // namespace plantmon
