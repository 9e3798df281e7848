// PLANTMON_RAW_RETENTION_DAYS through the API (docs/scaling.md, "Partitions
// and retention"): readings older than the retention are refused on every
// ingest path, with the reason, because their partition is gone or about to
// go; the server's partition keeper makes weeks ahead by itself.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "storage/partition_keeper.h"
#include "tests/testing/api_fixture.h"
#include "tests/testing/eventually.h"

namespace plantmon {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::plantmon::testing::Eventually;
using ::plantmon::testing::SignedInUser;

constexpr absl::Duration kDay = absl::Hours(24);

class RawRetentionTest : public testing::ApiTest {
 protected:
  static void SetUpTestSuite() {
    StartSuite(/*access_log=*/false, [](services::ServerOptions& options) {
      options.partitions.policy.raw_retention = 30 * kDay;
      options.partitions.policy.ahead = 10 * 7 * kDay;
    });
  }

  static v1::IncomingReading Reading(int64_t device_id, absl::Time at) {
    v1::IncomingReading reading;
    reading.set_device_id(device_id);
    reading.set_measurement_value(40);
    reading.set_parameter_name("soil_moisture");
    *reading.mutable_timestamp() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(at));
    return reading;
  }

  static int64_t MakeProbe(const SignedInUser& owner, const std::string& name) {
    const v1::DeviceType type =
        MakeDeviceTypeMeasuring(name + " probe", {Measures("soil_moisture", 0, 100)});
    return MakeDevice(owner, type.id(), name + "-probe").id();
  }
};

TEST_F(RawRetentionTest, AReadingOlderThanTheRetentionIsRefusedWithTheReason) {
  const SignedInUser owner = SignUp("rhea");
  const int64_t device = MakeProbe(owner, "rhea");
  const absl::Time now = absl::Now();

  v1::RecordReadingRequest request;
  request.mutable_sensor_data()->set_device_id(device);
  request.mutable_sensor_data()->set_measurement_value(40);
  request.mutable_sensor_data()->set_parameter_name("soil_moisture");
  *request.mutable_sensor_data()->mutable_timestamp() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now - 31 * kDay));
  v1::SensorData stored;
  grpc::Status status = telemetry_->RecordReading(Context(owner.token).get(), request, &stored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "kept for 30 days"))
      << status.error_message();
  *request.mutable_sensor_data()->mutable_timestamp() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now - 29 * kDay));
  status = telemetry_->RecordReading(Context(owner.token).get(), request, &stored);
  EXPECT_TRUE(status.ok()) << status.error_message();

  // A gateway's batch: the old reading is rejected, the others stored.
  v1::StreamReadingsRequest batch;
  batch.set_gateway_id("rhea-gateway");
  batch.set_sequence(1);
  *batch.add_readings() = Reading(device, now - 10 * kDay);
  *batch.add_readings() = Reading(device, now - 45 * kDay);
  *batch.add_readings() = Reading(device, now - absl::Minutes(1));
  const v1::StreamReadingsResponse ack = SendOneBatch(owner, batch);
  EXPECT_EQ(ack.accepted_count(), 2);
  ASSERT_EQ(ack.rejected_readings_size(), 1);
  EXPECT_EQ(ack.rejected_readings(0).index(), 1);
  EXPECT_TRUE(absl::StrContains(ack.rejected_readings(0).reason(), "more than 30 days old"))
      << ack.rejected_readings(0).reason();
  EXPECT_EQ(
      database_
          ->Query(absl::StrCat("SELECT count(*) FROM sensor_data WHERE device_id = ", device))[0][0]
          .as<int64_t>(),
      3);
}

TEST_F(RawRetentionTest, TheServerKeepsWeeksAheadByItself) {
  // The migration makes four weeks past its boundary; the server's keeper,
  // asked for ten, adds the rest as it starts.
  const std::string last_week =
      storage::WeekPartitionName(storage::WeekStart(absl::Now() + 10 * 7 * kDay));
  EXPECT_TRUE(Eventually(
      [&] {
        return database_
                   ->Query(absl::StrCat("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON "
                                        "c.oid = i.inhrelid WHERE c.relname = '",
                                        last_week, "'"))[0][0]
                   .as<int64_t>() == 1;
      },
      absl::Seconds(10)))
      << last_week << " was not created";
}

}  // namespace
}  // namespace plantmon
