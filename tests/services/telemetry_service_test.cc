#include <cmath>
#include <set>

#include "gtest/gtest.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "tests/testing/api_fixture.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

class TelemetryServiceTest : public ApiTest {};

v1::RecordReadingRequest Reading(int64_t device_id, double value, int64_t seconds) {
  v1::RecordReadingRequest request;
  request.mutable_sensor_data()->set_device_id(device_id);
  request.mutable_sensor_data()->set_measurement_value(value);
  request.mutable_sensor_data()->set_data_quality(100);
  request.mutable_sensor_data()->mutable_timestamp()->set_seconds(seconds);
  return request;
}

TEST_F(TelemetryServiceTest, RecordsReadingsWithServerBookkeeping) {
  SignedInUser owner = SignUp("telemetry_owner");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Moisture probe").id(), "tele-1");
  const int64_t now = std::time(nullptr);
  v1::SensorData stored;
  ASSERT_TRUE(
      telemetry_
          ->RecordReading(Context(owner.token).get(), Reading(device.id(), 42.5, now), &stored)
          .ok());
  EXPECT_GT(stored.id(), 0);
  EXPECT_EQ(stored.measurement_value(), 42.5);
  EXPECT_EQ(stored.measurement_unit(), "%") << "defaults to the device type's data_unit";
  EXPECT_EQ(stored.timestamp().seconds(), now);
  EXPECT_GE(stored.received_at().seconds(), now - 5);

  // A late reading does not move last_data_received back.
  ASSERT_TRUE(
      telemetry_
          ->RecordReading(Context(owner.token).get(), Reading(device.id(), 40, now - 3600), &stored)
          .ok());
  v1::GetDeviceRequest get;
  get.set_id(device.id());
  ASSERT_TRUE(devices_->GetDevice(Context(owner.token).get(), get, &device).ok());
  EXPECT_EQ(device.last_data_received().seconds(), now);
}

// Unset means 100 on every path, as UploadReadings and StreamReadings do;
// proto3 could not tell unset from 0 until the field became `optional`.
TEST_F(TelemetryServiceTest, ARecordedReadingWithoutDataQualityHasQuality100) {
  SignedInUser owner = SignUp("quality_owner");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Quality probe").id(), "quality-1");
  v1::RecordReadingRequest request = Reading(device.id(), 42.5, std::time(nullptr));
  request.mutable_sensor_data()->clear_data_quality();
  v1::SensorData stored;
  ASSERT_TRUE(telemetry_->RecordReading(Context(owner.token).get(), request, &stored).ok());
  EXPECT_EQ(stored.data_quality(), 100);
  EXPECT_FALSE(stored.is_anomaly()) << "quality below 50 would mark it";

  // 0 sent on purpose is kept: an unusable reading.
  request.mutable_sensor_data()->set_data_quality(0);
  ASSERT_TRUE(telemetry_->RecordReading(Context(owner.token).get(), request, &stored).ok());
  EXPECT_EQ(stored.data_quality(), 0);
  EXPECT_TRUE(stored.is_anomaly());
}

TEST_F(TelemetryServiceTest, RejectsBadReadings) {
  SignedInUser owner = SignUp("telemetry_bad");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Bad probe").id(), "tele-bad");
  const int64_t now = std::time(nullptr);
  struct Case {
    std::string label;
    v1::RecordReadingRequest request;
    StatusCode code;
  };
  std::vector<Case> cases;
  cases.push_back({"NaN", Reading(device.id(), std::nan(""), now), StatusCode::INVALID_ARGUMENT});
  cases.push_back({"infinity", Reading(device.id(), INFINITY, now), StatusCode::INVALID_ARGUMENT});
  cases.push_back({"future", Reading(device.id(), 1, now + 3600), StatusCode::INVALID_ARGUMENT});
  Case quality{"quality", Reading(device.id(), 1, now), StatusCode::INVALID_ARGUMENT};
  quality.request.mutable_sensor_data()->set_data_quality(101);
  cases.push_back(quality);
  Case no_time{"no timestamp", Reading(device.id(), 1, now), StatusCode::INVALID_ARGUMENT};
  no_time.request.mutable_sensor_data()->clear_timestamp();
  cases.push_back(no_time);
  cases.push_back({"unknown device", Reading(999999, 1, now), StatusCode::NOT_FOUND});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    v1::SensorData stored;
    EXPECT_EQ(
        telemetry_->RecordReading(Context(owner.token).get(), c.request, &stored).error_code(),
        c.code);
  }
  EXPECT_EQ(database_
                ->Query("SELECT count(*) FROM sensor_data WHERE device_id = " +
                        std::to_string(device.id()))[0][0]
                .as<int>(),
            0);
}

TEST_F(TelemetryServiceTest, ListSensorDataPagesTheRangeWithoutGapsOrRepeats) {
  SignedInUser owner = SignUp("telemetry_pages");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Paged probe").id(), "tele-pages");
  const int64_t start = std::time(nullptr) - 24 * 3600;
  for (int i = 0; i < 25; ++i) {
    v1::SensorData stored;
    // Two readings share each timestamp, to exercise the (timestamp, id) key.
    v1::RecordReadingRequest request = Reading(device.id(), i, start + (i / 2) * 60);
    if (i % 5 == 0) request.mutable_sensor_data()->set_raw_data("raw " + std::to_string(i));
    ASSERT_TRUE(telemetry_->RecordReading(Context(owner.token).get(), request, &stored).ok());
  }
  v1::ListSensorDataRequest request;
  request.set_device_id(device.id());
  request.mutable_start_time()->set_seconds(start);
  request.mutable_end_time()->set_seconds(start + 10 * 60);  // excludes i >= 20
  request.set_page_size(7);
  std::vector<double> seen;
  int pages = 0;
  do {
    v1::ListSensorDataResponse response;
    ASSERT_TRUE(telemetry_->ListSensorData(Context(owner.token).get(), request, &response).ok());
    for (const v1::SensorData& reading : response.sensor_data()) {
      seen.push_back(reading.measurement_value());
      const int i = static_cast<int>(reading.measurement_value());
      if (i % 5 == 0) {
        EXPECT_EQ(reading.raw_data(), "raw " + std::to_string(i));
      } else {
        EXPECT_FALSE(reading.has_raw_data());
      }
    }
    request.set_page_token(response.next_page_token());
    ++pages;
  } while (!request.page_token().empty() && pages < 10);
  ASSERT_EQ(seen.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_EQ(pages, 3);

  v1::ListSensorDataRequest backwards = request;
  backwards.clear_page_token();
  backwards.mutable_end_time()->set_seconds(start - 1);
  v1::ListSensorDataResponse response;
  EXPECT_EQ(
      telemetry_->ListSensorData(Context(owner.token).get(), backwards, &response).error_code(),
      StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace plantmon
