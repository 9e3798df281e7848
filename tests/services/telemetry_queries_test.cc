// Time-series queries and composite views, checked against SQL computed
// independently over the same rows.
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "storage/partition_keeper.h"
#include "tests/testing/api_fixture.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

// What AggregateSensorData answers for `request`, computed independently
// from the raw rows: the bucket of each reading by date_trunc in the zone
// (calendar buckets) or by integer arithmetic from the start (fixed ones).
pqxx::result RawBuckets(::plantmon::testing::TestDatabase& database,
                        const v1::AggregateSensorDataRequest& request) {
  const int64_t start = request.start_time().seconds();
  const std::string bucket =
      request.calendar_unit().empty()
          ? absl::StrCat("to_timestamp(", start, " + floor((extract(epoch FROM \"timestamp\") - ",
                         start, ") / ", request.bucket_width().seconds(), ") * ",
                         request.bucket_width().seconds(), ")")
          : absl::StrCat("date_trunc('", request.calendar_unit(), "', \"timestamp\", '",
                         request.time_zone().empty() ? "UTC" : request.time_zone(), "')");
  return database.Query(absl::StrCat(
      "SELECT extract(epoch FROM b)::bigint, count(*), min(v), max(v), avg(v), "
      "(array_agg(v ORDER BY ts, id))[1], (array_agg(v ORDER BY ts DESC, id DESC))[1] "
      "FROM (SELECT ",
      bucket, " AS b, measurement_value AS v, \"timestamp\" AS ts, id FROM sensor_data ",
      "WHERE device_id = ", request.device_id(), " AND \"timestamp\" >= to_timestamp(", start,
      ") AND \"timestamp\" < to_timestamp(", request.end_time().seconds(), ")",
      request.exclude_anomalies() ? " AND NOT is_anomaly" : "",
      request.has_min_quality() ? absl::StrCat(" AND data_quality >= ", request.min_quality()) : "",
      ") r GROUP BY b ORDER BY b"));
}

class TelemetryQueriesTest : public ApiTest {
 protected:
  // Readings every minute for `minutes`, with values i % 17 (some anomalous
  // by quality), stored straight into the table.
  static void Fill(int64_t device, int64_t start, int minutes) {
    database_->Query(absl::StrCat(
        "INSERT INTO sensor_data (device_id, measurement_value, data_quality, is_anomaly, "
        "\"timestamp\") SELECT ",
        device,
        ", (g % 17)::float8, CASE WHEN g % 10 = 0 THEN 30 "
        "ELSE 100 END, g % 10 = 0, to_timestamp(",
        start,
        " + g * 60) "
        "FROM generate_series(0, ",
        minutes - 1, ") g"));
  }

  // AggregateSensorData's answer to `request` is what the raw rows give.
  void ExpectRawAnswer(const SignedInUser& owner, const v1::AggregateSensorDataRequest& request,
                       const std::string& label) {
    v1::AggregateSensorDataResponse response;
    grpc::Status status =
        telemetry_->AggregateSensorData(Context(owner.token).get(), request, &response);
    ASSERT_TRUE(status.ok()) << label << ": " << status.error_message();
    pqxx::result expected = RawBuckets(*database_, request);
    ASSERT_EQ(response.buckets_size(), static_cast<int>(expected.size())) << label;
    for (int i = 0; i < response.buckets_size(); ++i) {
      const v1::SensorDataBucket& bucket = response.buckets(i);
      const auto& row = expected[i];
      EXPECT_EQ(bucket.start_time().seconds(),
                std::max(row[0].as<int64_t>(), request.start_time().seconds()))
          << label << " bucket " << i;
      EXPECT_EQ(bucket.count(), row[1].as<int64_t>()) << label << " bucket " << i;
      EXPECT_EQ(bucket.min_value(), row[2].as<double>()) << label << " bucket " << i;
      EXPECT_EQ(bucket.max_value(), row[3].as<double>()) << label << " bucket " << i;
      EXPECT_NEAR(bucket.avg_value(), row[4].as<double>(), 1e-9) << label << " bucket " << i;
      EXPECT_EQ(bucket.first_value(), row[5].as<double>()) << label << " bucket " << i;
      EXPECT_EQ(bucket.last_value(), row[6].as<double>()) << label << " bucket " << i;
    }
  }
};

TEST_F(TelemetryQueriesTest, ListSensorDataFiltersAndWalksBothWays) {
  SignedInUser owner = SignUp("series_owner");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Series probe").id(), "series-1");
  const int64_t start = 1700000000;
  Fill(device.id(), start, 300);
  v1::ListSensorDataRequest request;
  request.set_device_id(device.id());
  request.mutable_start_time()->set_seconds(start + 60 * 10);
  request.mutable_end_time()->set_seconds(start + 60 * 250);
  request.set_newest_first(true);
  request.set_exclude_anomalies(true);
  request.set_page_size(33);
  std::vector<int64_t> times;
  for (int page = 0; page < 50; ++page) {
    v1::ListSensorDataResponse response;
    ASSERT_TRUE(telemetry_->ListSensorData(Context(owner.token).get(), request, &response).ok());
    for (const auto& reading : response.sensor_data()) {
      EXPECT_FALSE(reading.is_anomaly());
      times.push_back(reading.timestamp().seconds());
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  const auto expected =
      database_
          ->Query(absl::StrCat("SELECT count(*) FROM sensor_data WHERE device_id = ", device.id(),
                               " AND NOT is_anomaly AND \"timestamp\" >= to_timestamp(",
                               start + 600, ") AND \"timestamp\" < to_timestamp(", start + 15000,
                               ")"))[0][0]
          .as<int64_t>();
  EXPECT_EQ(static_cast<int64_t>(times.size()), expected);
  EXPECT_TRUE(std::is_sorted(times.rbegin(), times.rend())) << "newest first";
  EXPECT_EQ(times.front(), start + 60 * 249);

  v1::ListSensorDataRequest quality = request;
  quality.clear_page_token();
  quality.set_exclude_anomalies(false);
  quality.set_min_quality(50);
  quality.set_page_size(1000);
  v1::ListSensorDataResponse response;
  ASSERT_TRUE(telemetry_->ListSensorData(Context(owner.token).get(), quality, &response).ok());
  EXPECT_EQ(response.sensor_data_size(), expected);
  quality.set_min_quality(101);
  EXPECT_EQ(telemetry_->ListSensorData(Context(owner.token).get(), quality, &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

// 300 readings with 60 KB of raw_data are 18 MB: one page of 1,000 would
// be a message no default client (4 MiB receive limit) can read.
TEST_F(TelemetryQueriesTest, BigReadingsComeInPagesUnderTheClientLimitAndAllArrive) {
  SignedInUser owner = SignUp("bulky_owner");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Bulky probe").id(), "bulky-1");
  const int64_t start = 1700000000;
  database_->Query(absl::StrCat(
      "INSERT INTO sensor_data (device_id, measurement_value, \"timestamp\", raw_data) "
      "SELECT ",
      device.id(), ", g, to_timestamp(", start,
      " + g * 60), repeat('x', 60000) FROM generate_series(0, 299) g"));
  v1::ListSensorDataRequest request;
  request.set_device_id(device.id());
  request.mutable_start_time()->set_seconds(start);
  request.mutable_end_time()->set_seconds(start + 60 * 300);
  request.set_page_size(1000);
  std::set<int64_t> seen;
  int pages = 0;
  for (; pages < 50; ++pages) {
    v1::ListSensorDataResponse response;
    grpc::Status status =
        telemetry_->ListSensorData(Context(owner.token).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_LE(response.ByteSizeLong(), size_t{4} << 20);
    for (const auto& reading : response.sensor_data()) {
      EXPECT_EQ(reading.raw_data().size(), 60000u);
      seen.insert(reading.timestamp().seconds());
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_GE(pages, 4);
}

TEST_F(TelemetryQueriesTest, LatestIsTheNewestTimestampNotTheLastUpload) {
  SignedInUser owner = SignUp("latest_owner");
  v1::DeviceType type = MakeDeviceType("Latest probe");
  v1::Device first = MakeDevice(owner, type.id(), "latest-1");
  v1::Device second = MakeDevice(owner, type.id(), "latest-2");
  v1::Device quiet = MakeDevice(owner, type.id(), "latest-quiet");
  const int64_t now = std::time(nullptr);
  for (auto [value, seconds] : std::vector<std::pair<double, int64_t>>{
           {1, now - 60}, {2, now - 10}, {3, now - 3600}}) {  // the late one comes last
    v1::RecordReadingRequest request;
    request.mutable_sensor_data()->set_device_id(first.id());
    request.mutable_sensor_data()->set_measurement_value(value);
    request.mutable_sensor_data()->set_data_quality(100);
    request.mutable_sensor_data()->mutable_timestamp()->set_seconds(seconds);
    v1::SensorData stored;
    ASSERT_TRUE(telemetry_->RecordReading(Context(owner.token).get(), request, &stored).ok());
  }
  Fill(second.id(), now - 7200, 5);
  v1::GetLatestReadingsRequest request;
  request.add_device_ids(first.id());
  request.add_device_ids(second.id());
  request.add_device_ids(quiet.id());
  v1::GetLatestReadingsResponse response;
  ASSERT_TRUE(telemetry_->GetLatestReadings(Context(owner.token).get(), request, &response).ok());
  ASSERT_EQ(response.readings_size(), 2) << "a device without readings is left out";
  EXPECT_EQ(response.readings(0).device_id(), first.id());
  EXPECT_EQ(response.readings(0).measurement_value(), 2);
  EXPECT_EQ(response.readings(1).timestamp().seconds(), now - 7200 + 4 * 60);

  SignedInUser stranger = SignUp("latest_stranger");
  EXPECT_EQ(
      telemetry_->GetLatestReadings(Context(stranger.token).get(), request, &response).error_code(),
      StatusCode::NOT_FOUND);
  v1::GetLatestReadingsRequest both = request;
  both.set_plant_id(1);
  EXPECT_EQ(telemetry_->GetLatestReadings(Context(owner.token).get(), both, &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(TelemetryQueriesTest, AggregationMatchesIndependentSql) {
  SignedInUser owner = SignUp("aggregate_owner");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Aggregate probe").id(), "agg-1");
  const int64_t start = 1700003600;  // on the hour
  Fill(device.id(), start, 24 * 60);
  v1::AggregateSensorDataRequest request;
  request.set_device_id(device.id());
  request.mutable_start_time()->set_seconds(start);
  request.mutable_end_time()->set_seconds(start + 24 * 3600);
  request.mutable_bucket_width()->set_seconds(3600);
  request.set_exclude_anomalies(true);
  v1::AggregateSensorDataResponse response;
  ASSERT_TRUE(telemetry_->AggregateSensorData(Context(owner.token).get(), request, &response).ok());
  ASSERT_EQ(response.buckets_size(), 24);
  pqxx::result expected = RawBuckets(*database_, request);
  ASSERT_EQ(expected.size(), 24u);
  for (int i = 0; i < 24; ++i) {
    const auto& bucket = response.buckets(i);
    EXPECT_EQ(bucket.start_time().seconds(), start + i * 3600);
    EXPECT_EQ(bucket.end_time().seconds(), start + (i + 1) * 3600);
    EXPECT_EQ(bucket.count(), expected[i][1].as<int64_t>());
    EXPECT_EQ(bucket.min_value(), expected[i][2].as<double>());
    EXPECT_EQ(bucket.max_value(), expected[i][3].as<double>());
    EXPECT_NEAR(bucket.avg_value(), expected[i][4].as<double>(), 1e-9);
    EXPECT_EQ(bucket.first_value(), expected[i][5].as<double>());
    EXPECT_EQ(bucket.last_value(), expected[i][6].as<double>());
  }

  v1::AggregateSensorDataRequest too_many = request;
  too_many.mutable_bucket_width()->set_seconds(60);
  too_many.mutable_end_time()->set_seconds(start + 30 * 24 * 3600);
  grpc::Status status =
      telemetry_->AggregateSensorData(Context(owner.token).get(), too_many, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("10000"), std::string::npos) << status.error_message();
  v1::AggregateSensorDataRequest too_fine = request;
  too_fine.mutable_bucket_width()->set_seconds(10);
  EXPECT_EQ(
      telemetry_->AggregateSensorData(Context(owner.token).get(), too_fine, &response).error_code(),
      StatusCode::INVALID_ARGUMENT);
}

TEST_F(TelemetryQueriesTest, CalendarDaysInATimeZoneFollowDaylightSavingTime) {
  SignedInUser owner = SignUp("calendar_owner");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Calendar probe").id(), "cal-1");
  // Noon UTC on 27 March 2026 to noon UTC on 31 March, a reading a minute;
  // Berlin moves from CET to CEST at 01:00 UTC on 29 March.
  const int64_t start = 1774612800;
  const int64_t end = 1774958400;
  Fill(device.id(), start, static_cast<int>((end - start) / 60));
  v1::AggregateSensorDataRequest request;
  request.set_device_id(device.id());
  request.mutable_start_time()->set_seconds(start);
  request.mutable_end_time()->set_seconds(end);
  request.set_calendar_unit("day");
  request.set_time_zone("Europe/Berlin");
  v1::AggregateSensorDataResponse response;
  grpc::Status status =
      telemetry_->AggregateSensorData(Context(owner.token).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Berlin's midnights in UTC: 23:00 before the change, 22:00 after; the
  // first and last days are cut to the range.
  const std::vector<std::pair<int64_t, int64_t>> days = {{start, 1774652400},
                                                         {1774652400, 1774738800},
                                                         {1774738800, 1774821600},  // 23 hours
                                                         {1774821600, 1774908000},
                                                         {1774908000, end}};
  ASSERT_EQ(response.buckets_size(), static_cast<int>(days.size()));
  // Independent SQL: the local date of each reading.
  pqxx::result expected = database_->Query(absl::StrCat(
      "SELECT (\"timestamp\" AT TIME ZONE 'Europe/Berlin')::date AS day, count(*), "
      "min(measurement_value), max(measurement_value) FROM sensor_data WHERE device_id = ",
      device.id(), " GROUP BY day ORDER BY day"));
  ASSERT_EQ(expected.size(), days.size());
  for (size_t i = 0; i < days.size(); ++i) {
    const v1::SensorDataBucket& bucket = response.buckets(static_cast<int>(i));
    EXPECT_EQ(bucket.start_time().seconds(), days[i].first) << i;
    EXPECT_EQ(bucket.end_time().seconds(), days[i].second) << i;
    EXPECT_EQ(bucket.count(), (days[i].second - days[i].first) / 60) << i;
    EXPECT_EQ(bucket.count(), expected[i][1].as<int64_t>()) << i;
    EXPECT_EQ(bucket.min_value(), expected[i][2].as<double>()) << i;
    EXPECT_EQ(bucket.max_value(), expected[i][3].as<double>()) << i;
  }

  // A month in UTC holds every reading of the range.
  v1::AggregateSensorDataRequest month = request;
  month.set_calendar_unit("month");
  month.clear_time_zone();
  ASSERT_TRUE(telemetry_->AggregateSensorData(Context(owner.token).get(), month, &response).ok());
  ASSERT_EQ(response.buckets_size(), 1);
  EXPECT_EQ(response.buckets(0).count(), (end - start) / 60);

  auto code_of = [&](const v1::AggregateSensorDataRequest& bad) {
    return telemetry_->AggregateSensorData(Context(owner.token).get(), bad, &response).error_code();
  };
  v1::AggregateSensorDataRequest unknown_unit = request;
  unknown_unit.set_calendar_unit("fortnight");
  EXPECT_EQ(code_of(unknown_unit), StatusCode::INVALID_ARGUMENT);
  v1::AggregateSensorDataRequest both = request;
  both.mutable_bucket_width()->set_seconds(3600);
  EXPECT_EQ(code_of(both), StatusCode::INVALID_ARGUMENT);
  for (const char* zone : {"Mars/Olympus_Mons", "localtime", "UTC+3", "../etc/passwd"}) {
    v1::AggregateSensorDataRequest bad_zone = request;
    bad_zone.set_time_zone(zone);
    EXPECT_EQ(code_of(bad_zone), StatusCode::INVALID_ARGUMENT) << zone;
  }
  v1::AggregateSensorDataRequest zone_without_unit = request;
  zone_without_unit.clear_calendar_unit();
  zone_without_unit.mutable_bucket_width()->set_seconds(3600);
  EXPECT_EQ(code_of(zone_without_unit), StatusCode::INVALID_ARGUMENT);
  v1::AggregateSensorDataRequest too_many = request;
  too_many.set_calendar_unit("hour");
  too_many.mutable_end_time()->set_seconds(start + 400LL * 24 * 3600);
  EXPECT_EQ(code_of(too_many), StatusCode::INVALID_ARGUMENT);
}

// Rollups (migration 0023) answer the whole hours of a range and raw rows the
// rest; what comes back must be what the raw rows alone give, for every kind
// of bucket, with edges inside hours, around a daylight-saving change, in
// zones whose offsets are not whole hours (raw rows only), after readings
// arrive late into hours already rolled up, and with ties on timestamps.
TEST_F(TelemetryQueriesTest, RollupsAnswerWhatRawReadingsAnswer) {
  SignedInUser owner = SignUp("rollup_owner");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Rollup probe").id(), "roll-1");
  // 21 October 2026 00:00 UTC, for 14 days: Berlin falls back from CEST to
  // CET at 01:00 UTC on 25 October, and a month ends.
  const int64_t base = 1792540800;
  const int64_t span = 14 * 24 * 3600;
  // A reading every 37 seconds, so hours hold different counts, valued 20-40;
  // a tenth anomalous with low quality.
  database_->Query(absl::StrCat(
      "INSERT INTO sensor_data (device_id, measurement_value, data_quality, is_anomaly, "
      "\"timestamp\") SELECT ",
      device.id(),
      ", 20 + ((g * 7919) % 1000) / 50.0, CASE WHEN g % 10 = 0 THEN 30 ELSE 100 END, g % 10 = 0, "
      "to_timestamp(",
      base, " + g * 37) FROM generate_series(0, ", span / 37, ") g"));
  // Late readings (in the type's range, so not anomalies) into hours already
  // rolled up: a new minimum, a new maximum, neither first nor last, a tie
  // with a stored timestamp (a later id: not the first), the last of an hour,
  // through the gateway path (COPY) and the single-reading path (INSERT).
  auto reading = [&](double value, int64_t at) {
    v1::IncomingReading incoming;
    incoming.set_device_id(device.id());
    incoming.set_measurement_value(value);
    incoming.mutable_timestamp()->set_seconds(at);
    return incoming;
  };
  ASSERT_EQ(UploadOneBatch(owner.token, {reading(5, base + 3 * 3600 + 11),
                                         reading(95, base + 5 * 24 * 3600 + 1800),
                                         reading(30.5, base + 37),  // same time as a stored one
                                         reading(31.5, base + 9 * 24 * 3600 + 3599)})
                .accepted_count(),
            4);
  {
    v1::RecordReadingRequest request;
    request.mutable_sensor_data()->set_device_id(device.id());
    request.mutable_sensor_data()->set_measurement_value(3);
    request.mutable_sensor_data()->mutable_timestamp()->set_seconds(base + 6 * 24 * 3600 + 7);
    v1::SensorData stored;
    grpc::Status status = telemetry_->RecordReading(Context(owner.token).get(), request, &stored);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  auto check = [&](const v1::AggregateSensorDataRequest& request, const std::string& label) {
    ExpectRawAnswer(owner, request, label);
  };
  v1::AggregateSensorDataRequest request;
  request.set_device_id(device.id());
  // Edges inside hours: the first and last partial hours come from raw rows.
  request.mutable_start_time()->set_seconds(base + 1234);
  request.mutable_end_time()->set_seconds(base + span - 777);
  for (const char* zone : {"UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns"}) {
    for (const char* unit : {"hour", "day", "week", "month"}) {
      for (bool exclude_anomalies : {false, true}) {
        v1::AggregateSensorDataRequest calendar = request;
        calendar.set_calendar_unit(unit);
        calendar.set_time_zone(zone);
        calendar.set_exclude_anomalies(exclude_anomalies);
        check(calendar,
              absl::StrCat(unit, " in ", zone, exclude_anomalies ? ", no anomalies" : ""));
      }
    }
  }
  v1::AggregateSensorDataRequest with_quality = request;
  with_quality.set_calendar_unit("day");
  with_quality.set_min_quality(50);
  check(with_quality, "days, min_quality");
  for (int64_t hours : {1, 3, 24}) {
    v1::AggregateSensorDataRequest fixed = request;
    fixed.mutable_start_time()->set_seconds(base + 7200);  // on the hour
    fixed.mutable_bucket_width()->set_seconds(hours * 3600);
    check(fixed, absl::StrCat(hours, "h buckets from an hour"));
    fixed.mutable_start_time()->set_seconds(base + 1234);  // not on the hour: raw rows
    check(fixed, absl::StrCat(hours, "h buckets from inside an hour"));
  }
  v1::AggregateSensorDataRequest odd_width = request;
  odd_width.mutable_bucket_width()->set_seconds(5400);
  check(odd_width, "90-minute buckets");

  // Rollups outlive raw rows (retention drops raw data only): with the first
  // week's readings deleted, whole hours still answer for them. The counts
  // come from the rollups; raw rows would give none.
  v1::AggregateSensorDataRequest days = request;
  days.mutable_start_time()->set_seconds(base);
  days.mutable_end_time()->set_seconds(base + 7 * 24 * 3600);
  days.set_calendar_unit("day");
  v1::AggregateSensorDataResponse before;
  ASSERT_TRUE(telemetry_->AggregateSensorData(Context(owner.token).get(), days, &before).ok());
  ASSERT_EQ(before.buckets_size(), 7);
  database_->Query(absl::StrCat("DELETE FROM sensor_data WHERE device_id = ", device.id(),
                                " AND \"timestamp\" < to_timestamp(", base + 7 * 24 * 3600, ")"));
  v1::AggregateSensorDataResponse after;
  ASSERT_TRUE(telemetry_->AggregateSensorData(Context(owner.token).get(), days, &after).ok());
  ASSERT_EQ(after.buckets_size(), 7);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(after.buckets(i).count(), before.buckets(i).count()) << i;
    EXPECT_EQ(after.buckets(i).first_value(), before.buckets(i).first_value()) << i;
    EXPECT_EQ(after.buckets(i).last_value(), before.buckets(i).last_value()) << i;
  }
  // A min_quality filter reads raw rows, which are gone.
  days.set_min_quality(50);
  ASSERT_TRUE(telemetry_->AggregateSensorData(Context(owner.token).get(), days, &after).ok());
  EXPECT_EQ(after.buckets_size(), 0);
}

// Daily rollups (migration 0027), summed by the keeper's job once a UTC day
// is closed, answer whole UTC days; a late reading into a closed day is read
// from hourly rollups until the job sums the day again. Every answer must be
// what the raw rows give.
TEST_F(TelemetryQueriesTest, DailyRollupsAnswerWhatRawReadingsAnswer) {
  SignedInUser owner = SignUp("daily_owner");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Daily probe").id(), "daily-1");
  // 21 October 2026 00:00 UTC, for 12 days, a reading every 37 seconds, a
  // tenth anomalous: Berlin's change back to CET and a month's end inside.
  const int64_t base = 1792540800;
  const int64_t day = 24 * 3600;
  const int64_t span = 12 * day;
  database_->Query(absl::StrCat(
      "INSERT INTO sensor_data (device_id, measurement_value, data_quality, is_anomaly, "
      "\"timestamp\") SELECT ",
      device.id(), ", 20 + ((g * 7919) % 1000) / 50.0, 100, g % 10 = 0, to_timestamp(", base,
      " + g * 37) FROM generate_series(0, ", span / 37, ") g"));
  // The job as the keeper runs it: every day of the readings is closed by
  // now. (The test server's keeper may have closed them already, so that the
  // readings above were late ones; the round sums them either way.)
  const absl::Time now = absl::Now();
  auto keep = [&]() -> storage::DailyRollupRound {
    absl::StatusOr<storage::PartitionRound> round =
        storage::KeepPartitions(database_->Config(1, 0), now, storage::PartitionPolicy());
    EXPECT_TRUE(round.ok()) << round.status();
    return round.ok() ? round->daily : storage::DailyRollupRound();
  };
  keep();
  EXPECT_EQ(database_
                ->Query(absl::StrCat("SELECT count(DISTINCT day) FROM sensor_data_daily "
                                     "WHERE device_id = ",
                                     device.id()))[0][0]
                .as<int64_t>(),
            12);

  v1::AggregateSensorDataRequest request;
  request.set_device_id(device.id());
  request.mutable_start_time()->set_seconds(base + 1234);
  request.mutable_end_time()->set_seconds(base + span - 777);
  auto check_all = [&](const std::string& when) {
    for (const char* zone : {"UTC", "Europe/Berlin"}) {
      for (const char* unit : {"day", "week", "month"}) {
        for (bool exclude_anomalies : {false, true}) {
          v1::AggregateSensorDataRequest calendar = request;
          calendar.set_calendar_unit(unit);
          calendar.set_time_zone(zone);
          calendar.set_exclude_anomalies(exclude_anomalies);
          ExpectRawAnswer(owner, calendar,
                          absl::StrCat(when, ": ", unit, " in ", zone,
                                       exclude_anomalies ? ", no anomalies" : ""));
        }
      }
    }
    v1::AggregateSensorDataRequest fixed = request;
    fixed.mutable_start_time()->set_seconds(base + day);  // a UTC midnight
    fixed.mutable_bucket_width()->set_seconds(day);
    ExpectRawAnswer(owner, fixed, when + ": one-day buckets from midnight");
  };
  check_all("closed");

  // Late readings into closed days 2 and 5, through the gateway path (COPY
  // into the partition) and the single-reading path (through sensor_data):
  // a new minimum and a new last reading of its day.
  {
    v1::IncomingReading late;
    late.set_device_id(device.id());
    late.set_measurement_value(1);
    late.mutable_timestamp()->set_seconds(base + 2 * day + 4000);
    ASSERT_EQ(UploadOneBatch(owner.token, {late}).accepted_count(), 1);
  }
  {
    v1::RecordReadingRequest late;
    late.mutable_sensor_data()->set_device_id(device.id());
    late.mutable_sensor_data()->set_measurement_value(99);
    late.mutable_sensor_data()->mutable_timestamp()->set_seconds(base + 6 * day - 1);
    v1::SensorData stored;
    grpc::Status status = telemetry_->RecordReading(Context(owner.token).get(), late, &stored);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const std::string stale_marks = absl::StrCat(
      "SELECT count(DISTINCT day) FROM sensor_data_daily_stale WHERE device_id = ", device.id());
  EXPECT_EQ(database_->Query(stale_marks)[0][0].as<int64_t>(), 2);
  check_all("late readings, not yet summed");

  storage::DailyRollupRound second = keep();
  EXPECT_GE(second.days_restated, 2);
  EXPECT_EQ(database_->Query(stale_marks)[0][0].as<int64_t>(), 0);
  check_all("late readings summed");

  // The closed days are answered from daily rows: with the device's hourly
  // rows of those days gone, UTC days and weeks from a midnight still come
  // back whole.
  database_->Query(absl::StrCat("DELETE FROM sensor_data_hourly WHERE device_id = ", device.id()));
  for (const char* unit : {"day", "week"}) {
    v1::AggregateSensorDataRequest calendar = request;
    calendar.mutable_start_time()->set_seconds(base + day);
    calendar.mutable_end_time()->set_seconds(base + 11 * day);
    calendar.set_calendar_unit(unit);
    calendar.set_time_zone("UTC");
    ExpectRawAnswer(owner, calendar, absl::StrCat("hourly rows gone: ", unit, " in UTC"));
  }
}

// Closing a day waits for statements storing readings to finish; one that
// stays open longer than the job waits leaves the day to a later round,
// without an error.
TEST_F(TelemetryQueriesTest, ClosingADayWaitsForReadingsBeingStored) {
  SignedInUser owner = SignUp("daily_lock_owner");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Daily lock probe").id(), "daily-lock-1");
  // Tomorrow, UTC: a day no round has closed yet (the test server's keeper
  // closes days up to today), inside the partitions made ahead; the rounds
  // run as if two days later.
  const int64_t tomorrow = (std::time(nullptr) / 86400 + 1) * 86400;
  std::unique_ptr<pqxx::connection> writer = database_->Connect();
  pqxx::work storing(*writer);
  storing.exec(
      absl::StrCat("INSERT INTO sensor_data (device_id, measurement_value, \"timestamp\") VALUES (",
                   device.id(), ", 7, to_timestamp(", tomorrow + 600, "))"));
  const absl::Time now = absl::FromUnixSeconds(tomorrow + 24 * 3600 + 7200);
  absl::StatusOr<storage::PartitionRound> blocked =
      storage::KeepPartitions(database_->Config(1, 0), now, storage::PartitionPolicy());
  ASSERT_TRUE(blocked.ok()) << blocked.status();
  EXPECT_EQ(blocked->daily.days_closed, 0);
  // Tomorrow is not closed: the watermark stayed where it was.
  EXPECT_TRUE(database_
                  ->Query(absl::StrCat("SELECT marked_before <= to_timestamp(", tomorrow,
                                       ") FROM sensor_data_daily_state"))[0][0]
                  .as<bool>());
  storing.commit();
  absl::StatusOr<storage::PartitionRound> closed =
      storage::KeepPartitions(database_->Config(1, 0), now, storage::PartitionPolicy());
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_GE(closed->daily.days_closed, 1);
  EXPECT_EQ(database_
                ->Query(absl::StrCat("SELECT reading_count FROM sensor_data_daily "
                                     "WHERE device_id = ",
                                     device.id()))[0][0]
                .as<int64_t>(),
            1);
}

// One server's keeper sums days at a time: a round while another holds the
// job's lock closes the day but leaves the summing to a later round.
TEST_F(TelemetryQueriesTest, OneKeeperSumsDaysAtATime) {
  SignedInUser owner = SignUp("daily_turn_owner");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Daily turn probe").id(), "daily-turn-1");
  // Three days ahead: after the days the tests above close.
  const int64_t later = (std::time(nullptr) / 86400 + 3) * 86400;
  database_->Query(
      absl::StrCat("INSERT INTO sensor_data (device_id, measurement_value, \"timestamp\") VALUES (",
                   device.id(), ", 7, to_timestamp(", later + 600, "))"));
  const absl::Time now = absl::FromUnixSeconds(later + 24 * 3600 + 7200);
  const std::string summed =
      absl::StrCat("SELECT count(*) FROM sensor_data_daily WHERE device_id = ", device.id());
  std::unique_ptr<pqxx::connection> other_keeper = database_->Connect();
  {
    pqxx::nontransaction session(*other_keeper);
    // The job's lock key, "plantmdj" (storage/daily_rollups.cc).
    session.exec("SELECT pg_advisory_lock(8100956956760302698)");
  }
  absl::StatusOr<storage::PartitionRound> waited =
      storage::KeepPartitions(database_->Config(1, 0), now, storage::PartitionPolicy());
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_EQ(database_->Query(summed)[0][0].as<int64_t>(), 0);
  {
    pqxx::nontransaction session(*other_keeper);
    session.exec("SELECT pg_advisory_unlock(8100956956760302698)");
  }
  absl::StatusOr<storage::PartitionRound> turn =
      storage::KeepPartitions(database_->Config(1, 0), now, storage::PartitionPolicy());
  ASSERT_TRUE(turn.ok()) << turn.status();
  EXPECT_EQ(database_->Query(summed)[0][0].as<int64_t>(), 1);
}

TEST_F(TelemetryQueriesTest, PlantOverviewAndTopAnomalousPlants) {
  SignedInUser owner = SignUp("overview_owner");
  v1::PlantType species = MakePlantType("Overview fern");
  v1::DeviceType type = MakeDeviceType("Overview probe");
  v1::Plant quiet = MakePlant(owner, species.id(), "Quiet fern");
  v1::Plant noisy = MakePlant(owner, species.id(), "Noisy fern");
  v1::Device quiet_device = MakeDevice(owner, type.id(), "overview-quiet");
  v1::Device noisy_device = MakeDevice(owner, type.id(), "overview-noisy");
  AssignDevice(owner, quiet.id(), quiet_device.id(), "soil_moisture");
  AssignDevice(owner, noisy.id(), noisy_device.id(), "soil_moisture");
  const int64_t start = std::time(nullptr) - 3 * 3600;
  Fill(quiet_device.id(), start, 20);   // 2 anomalies
  Fill(noisy_device.id(), start, 100);  // 10 anomalies
  ASSERT_NE(MakeDryRule(owner, noisy.id(), 25).id(), 0);
  v1::RecordReadingRequest dry;
  dry.mutable_sensor_data()->set_device_id(noisy_device.id());
  dry.mutable_sensor_data()->set_measurement_value(5);
  dry.mutable_sensor_data()->set_data_quality(100);
  dry.mutable_sensor_data()->mutable_timestamp()->set_seconds(std::time(nullptr));
  v1::SensorData stored;
  ASSERT_TRUE(telemetry_->RecordReading(Context(owner.token).get(), dry, &stored).ok());

  v1::GetPlantOverviewRequest request;
  request.set_id(noisy.id());
  v1::PlantOverview overview;
  ASSERT_TRUE(plants_->GetPlantOverview(Context(owner.token).get(), request, &overview).ok());
  EXPECT_EQ(overview.plant().plant_name(), "Noisy fern");
  EXPECT_FALSE(overview.plant().is_healthy());
  EXPECT_EQ(overview.plant_type().name(), "Overview fern");
  ASSERT_EQ(overview.assigned_devices_size(), 1);
  EXPECT_EQ(overview.assigned_devices(0).device().unique_identifier(), "overview-noisy");
  EXPECT_EQ(overview.assigned_devices(0).latest_reading().measurement_value(), 5);
  ASSERT_EQ(overview.open_alerts_size(), 1);
  EXPECT_EQ(overview.open_alerts(0).message(), "Soil moisture dropped to 5% (threshold: 25%)");

  SignedInUser stranger = SignUp("overview_stranger");
  EXPECT_EQ(
      plants_->GetPlantOverview(Context(stranger.token).get(), request, &overview).error_code(),
      StatusCode::NOT_FOUND);

  v1::ListTopAnomalousPlantsRequest top;
  top.mutable_start_time()->set_seconds(start - 60);
  top.mutable_end_time()->set_seconds(std::time(nullptr) + 60);
  v1::ListTopAnomalousPlantsResponse ranked;
  ASSERT_TRUE(plants_->ListTopAnomalousPlants(Context(owner.token).get(), top, &ranked).ok());
  ASSERT_EQ(ranked.plants_size(), 2);
  EXPECT_EQ(ranked.plants(0).plant().id(), noisy.id());
  EXPECT_EQ(ranked.plants(0).anomaly_count(), 10);
  EXPECT_EQ(ranked.plants(1).anomaly_count(), 2);
  top.set_limit(1);
  ASSERT_TRUE(plants_->ListTopAnomalousPlants(Context(owner.token).get(), top, &ranked).ok());
  EXPECT_EQ(ranked.plants_size(), 1);
  ASSERT_TRUE(plants_->ListTopAnomalousPlants(Context(stranger.token).get(), top, &ranked).ok());
  EXPECT_EQ(ranked.plants_size(), 0);
}

}  // namespace
}  // namespace plantmon
