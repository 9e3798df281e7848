// A gateway batch whose readings fall in several weeks is copied straight
// into each week's partition (storage/ingest_repository.cc, CopyReadings),
// and every reading is rolled up once (migration 0026), including those of a
// partition without the rollup trigger, which go through sensor_data; a
// DEFAULT partition takes none of them.
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "storage/partition_keeper.h"
#include "tests/testing/api_fixture.h"

namespace plantmon {
namespace {

using ::google::protobuf::util::TimeUtil;

constexpr absl::Duration kWeek = absl::Hours(24 * 7);

std::string Bound(absl::Time time) { return storage::PartitionBoundLiteral(time); }

class PartitionedIngestTest : public testing::ApiTest {
 protected:
  static void SetUpTestSuite() { StartSuite(/*access_log=*/false); }

  // A weekly partition from `week`, made as the keeper makes them, with the
  // rollup trigger or without it (as a keeper older than migration 0026 did).
  void AttachWeek(absl::Time week, bool with_trigger) {
    const std::string name = storage::WeekPartitionName(week);
    database_->Query(absl::StrCat("CREATE TABLE ", name,
                                  " (LIKE sensor_data INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"));
    if (with_trigger) {
      database_->Query(absl::StrCat("SELECT sensor_data_add_roll_up_trigger('", name, "')"));
    }
    database_->Query(absl::StrCat("ALTER TABLE sensor_data ATTACH PARTITION ", name,
                                  " FOR VALUES FROM (", Bound(week), ") TO (", Bound(week + kWeek),
                                  ")"));
  }
};

TEST_F(PartitionedIngestTest, ABatchAcrossWeeksLandsInEachWeeksPartitionAndIsRolledUpOnce) {
  // The migration's history partition reaches two weeks past this one, so
  // recent readings would all land in it. As a deployment running for a
  // while has it: the history ends last week, then a partition per week.
  const absl::Time now = absl::Now();
  const absl::Time this_week = storage::WeekStart(now);
  const absl::Time last_week = this_week - kWeek;
  database_->Query(
      absl::StrCat("DELETE FROM sensor_data WHERE \"timestamp\" >= ", Bound(last_week)));
  database_->Query("ALTER TABLE sensor_data DETACH PARTITION sensor_data_history");
  database_->Query(
      absl::StrCat("ALTER TABLE sensor_data ATTACH PARTITION sensor_data_history "
                   "FOR VALUES FROM (MINVALUE) TO (",
                   Bound(last_week), ")"));
  AttachWeek(last_week, /*with_trigger=*/false);
  AttachWeek(this_week, /*with_trigger=*/true);
  AttachWeek(this_week + kWeek, /*with_trigger=*/true);
  // A DEFAULT partition, which an operator may add: it has no bounds, and
  // must not be taken for the partition of every week.
  database_->Query("CREATE TABLE sensor_data_elsewhere PARTITION OF sensor_data DEFAULT");
  database_->Query("SELECT sensor_data_add_roll_up_trigger('sensor_data_elsewhere')");

  const testing::SignedInUser owner = SignUp("wendy");
  const v1::DeviceType type =
      MakeDeviceTypeMeasuring("Weekly probe", {Measures("soil_moisture", 0, 100)});
  const int64_t device = MakeDevice(owner, type.id(), "weekly-probe").id();
  // Two readings in each of: the history, last week (no trigger there), this
  // week; past times all.
  const absl::Time times[] = {last_week - 3 * absl::Hours(24),   last_week - absl::Hours(30),
                              last_week + absl::Hours(50),       last_week + absl::Hours(51),
                              this_week + (now - this_week) / 2, this_week + (now - this_week) / 3};
  v1::StreamReadingsRequest batch;
  batch.set_gateway_id("wendy-gateway");
  batch.set_sequence(1);
  double value = 10;
  for (const absl::Time at : times) {
    v1::IncomingReading* reading = batch.add_readings();
    reading->set_device_id(device);
    reading->set_parameter_name("soil_moisture");
    reading->set_measurement_value(value += 5);
    *reading->mutable_timestamp() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(at));
  }
  const v1::StreamReadingsResponse ack = SendOneBatch(owner, batch);
  ASSERT_EQ(ack.accepted_count(), 6) << ack.DebugString();

  std::map<std::string, int> per_partition;
  for (const pqxx::row& row :
       database_->Query(absl::StrCat("SELECT tableoid::regclass::text, count(*) FROM sensor_data "
                                     "WHERE device_id = ",
                                     device, " GROUP BY 1"))) {
    per_partition[row[0].as<std::string>()] = row[1].as<int>();
  }
  const std::map<std::string, int> expected = {{"sensor_data_history", 2},
                                               {storage::WeekPartitionName(last_week), 2},
                                               {storage::WeekPartitionName(this_week), 2}};
  EXPECT_EQ(per_partition, expected);
  // Rolled up once each, whichever way the reading went in.
  const pqxx::row raw = database_->Query(absl::StrCat(
      "SELECT count(*), sum(measurement_value) FROM sensor_data WHERE device_id = ", device))[0];
  const pqxx::row rolled = database_->Query(
      absl::StrCat("SELECT sum(reading_count), sum(sum_value) FROM sensor_data_hourly "
                   "WHERE device_id = ",
                   device))[0];
  EXPECT_EQ(rolled[0].as<int64_t>(), raw[0].as<int64_t>());
  EXPECT_DOUBLE_EQ(rolled[1].as<double>(), raw[1].as<double>());
}

}  // namespace
}  // namespace plantmon
