// sensor_data's weekly partitions (migration 0024) and their upkeep
// (storage/partition_keeper.h), on a real PostgreSQL. Rounds are run "as if"
// at a later time, which is how weeks to come and retentions running out are
// reached without waiting for them.
#include "storage/partition_keeper.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

using ::plantmon::testing::TestDatabase;

constexpr absl::Duration kWeek = absl::Hours(24 * 7);

std::string Literal(absl::Time time) {
  return absl::StrCat("'", absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone()), "'");
}

class PartitionKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = TestDatabase::CreateOrDie();
    database_->AddUserWithDevice();
  }

  // Where a reading at `time` is stored.
  std::string Insert(absl::Time time) {
    return database_
        ->Query(absl::StrCat("INSERT INTO sensor_data (device_id, measurement_value, "
                             "\"timestamp\", parameter_name) VALUES (1, 1, ",
                             Literal(time),
                             ", 'soil_moisture') RETURNING tableoid::regclass::text"))[0][0]
        .as<std::string>();
  }

  // The partitions, oldest first, with their bounds as PostgreSQL shows them.
  std::vector<std::string> Partitions() {
    std::vector<std::string> names;
    for (const pqxx::row& row : database_->Query(
             "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
             "WHERE i.inhparent = 'sensor_data'::regclass ORDER BY c.relname")) {
      names.push_back(row[0].as<std::string>());
    }
    return names;
  }

  int64_t Count(const std::string& sql) { return database_->Query(sql)[0][0].as<int64_t>(); }

  std::unique_ptr<TestDatabase> database_;
};

TEST(WeekStartTest, IsTheMondayAtMidnightUtcOnOrBefore) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  // 2026-12-06 is a Sunday; 2026-11-30 the Monday before it.
  EXPECT_EQ(storage::WeekStart(absl::FromCivil(absl::CivilSecond(2026, 12, 6, 23, 59, 59), utc)),
            absl::FromCivil(absl::CivilDay(2026, 11, 30), utc));
  EXPECT_EQ(storage::WeekStart(absl::FromCivil(absl::CivilDay(2026, 12, 7), utc)),
            absl::FromCivil(absl::CivilDay(2026, 12, 7), utc));
}

TEST_F(PartitionKeeperTest, TheMigrationLeavesWeeksAheadAndEveryTimeHasAPartition) {
  // The converted heap takes everything before the boundary, weeks follow.
  EXPECT_EQ(Insert(absl::FromUnixSeconds(0)), "sensor_data_history");
  EXPECT_EQ(Insert(absl::Now()), "sensor_data_history");
  const absl::Time boundary = storage::WeekStart(absl::Now()) + 2 * kWeek;
  EXPECT_EQ(Insert(boundary - absl::Microseconds(1)), "sensor_data_history");
  EXPECT_EQ(Insert(boundary), storage::WeekPartitionName(boundary));
  EXPECT_EQ(Partitions().size(), 5u) << "the history and four weeks";
}

TEST_F(PartitionKeeperTest, RoundsCreateTheMissingWeeksAheadAndReadingsCrossTheirBoundaries) {
  const absl::Time later = absl::Now() + 10 * kWeek;
  storage::PartitionPolicy policy;
  policy.ahead = 4 * kWeek;
  absl::StatusOr<storage::PartitionRound> round =
      storage::KeepPartitions(database_->Config(), later, policy);
  ASSERT_OK(round);
  EXPECT_FALSE(round->created.empty());
  EXPECT_TRUE(round->dropped.empty());
  // Every week from the migration's last to later + ahead, none twice.
  const std::vector<std::string> partitions = Partitions();
  const absl::Time last_week = storage::WeekStart(later + policy.ahead);
  EXPECT_NE(std::find(partitions.begin(), partitions.end(), storage::WeekPartitionName(last_week)),
            partitions.end());
  for (absl::Time week = storage::WeekStart(absl::Now()) + 2 * kWeek; week <= last_week;
       week += kWeek) {
    const std::string name = storage::WeekPartitionName(week);
    EXPECT_EQ(Insert(week - absl::Microseconds(1)),
              week == storage::WeekStart(absl::Now()) + 2 * kWeek
                  ? "sensor_data_history"
                  : storage::WeekPartitionName(week - kWeek));
    EXPECT_EQ(Insert(week), name);
  }
  // A second round at the same time has nothing to do.
  absl::StatusOr<storage::PartitionRound> again =
      storage::KeepPartitions(database_->Config(), later, policy);
  ASSERT_OK(again);
  EXPECT_TRUE(again->created.empty());
  EXPECT_EQ(Partitions(), partitions);
  // A new partition is the parent's in full: its key, its indexes, its
  // checks, and the rollup trigger sees its rows.
  const std::string& newest = partitions.back();
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM pg_indexes WHERE tablename = '", newest, "'")),
            Count("SELECT count(*) FROM pg_indexes WHERE tablename = 'sensor_data'"));
  EXPECT_EQ(Count("SELECT count(*) FROM sensor_data"), Count("SELECT sum(reading_count) FROM "
                                                             "sensor_data_hourly"));
  // Every partition, the new ones too, rolls up the readings written to it
  // by name (migration 0026), as ingest writes them.
  EXPECT_EQ(Count("SELECT count(*) FROM sensor_data_partition_bounds() WHERE NOT rolls_up"), 0);
  database_->Query(absl::StrCat("INSERT INTO ", newest,
                                " (device_id, measurement_value, \"timestamp\", parameter_name) "
                                "VALUES (1, 1, ",
                                Literal(last_week), ", 'soil_moisture')"));
  EXPECT_EQ(Count("SELECT count(*) FROM sensor_data"), Count("SELECT sum(reading_count) FROM "
                                                             "sensor_data_hourly"));
  EXPECT_THROW(database_->Query(absl::StrCat("INSERT INTO sensor_data (device_id, "
                                             "measurement_value, \"timestamp\", data_quality) "
                                             "VALUES (1, 1, ",
                                             Literal(last_week), ", 101)")),
               std::exception);
}

TEST_F(PartitionKeeperTest, RetentionDropsWholePartitionsAndTheRollupsStay) {
  const absl::Time now = absl::Now();
  Insert(now - absl::Hours(24 * 30));  // the history
  Insert(now);                         // the history too, until the boundary
  const absl::Time boundary = storage::WeekStart(now) + 2 * kWeek;
  Insert(boundary + absl::Hours(1));  // the first week after it
  Insert(boundary + kWeek + absl::Hours(1));
  const int64_t rolled_up = Count("SELECT sum(reading_count) FROM sensor_data_hourly");
  ASSERT_EQ(rolled_up, 4);

  // As if at the end of the first week after the boundary, with a week's
  // retention: the history is past it, that first week is not yet (by the
  // margin), so only the history goes.
  storage::PartitionPolicy policy;
  policy.raw_retention = kWeek;
  const absl::Time first_week_end = boundary + kWeek;
  absl::StatusOr<storage::PartitionRound> round = storage::KeepPartitions(
      database_->Config(), first_week_end + kWeek + storage::kRetentionDropMargin / 2, policy);
  ASSERT_OK(round);
  EXPECT_EQ(round->dropped, std::vector<std::string>{"sensor_data_history"});
  EXPECT_EQ(Count("SELECT count(*) FROM sensor_data"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM pg_class WHERE relname = 'sensor_data_history'"), 0)
      << "detached and dropped, not left behind";

  // Past the margin the first week goes too; the second stays.
  round = storage::KeepPartitions(database_->Config(),
                                  first_week_end + kWeek + storage::kRetentionDropMargin, policy);
  ASSERT_OK(round);
  const std::string first_week = storage::WeekPartitionName(boundary);
  EXPECT_EQ(round->dropped, std::vector<std::string>{first_week});
  EXPECT_EQ(Count("SELECT count(*) FROM sensor_data"), 1);
  // The rollups of dropped readings outlive them.
  EXPECT_EQ(Count("SELECT sum(reading_count) FROM sensor_data_hourly"), rolled_up);
  // Weeks ahead of the later time were made in the same rounds.
  EXPECT_GT(Partitions().size(), 4u);
}

TEST_F(PartitionKeeperTest, APartitionLeftDetachedIsDroppedByTheNextRound) {
  const absl::Time now = absl::Now();
  const absl::Time boundary = storage::WeekStart(now) + 2 * kWeek;
  const std::string first_week = storage::WeekPartitionName(boundary);
  // A round that stopped between detaching and dropping.
  database_->Query(absl::StrCat("ALTER TABLE sensor_data DETACH PARTITION ", first_week));
  storage::PartitionPolicy policy;
  policy.raw_retention = kWeek;
  // As if a day later: nothing is past the retention, so the detached week
  // stays (an operator's detached copy of a live week is not ours to drop).
  absl::StatusOr<storage::PartitionRound> round =
      storage::KeepPartitions(database_->Config(), now + absl::Hours(24), policy);
  ASSERT_OK(round);
  EXPECT_TRUE(round->dropped.empty());
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM pg_class WHERE relname = '", first_week, "'")),
            1);
  round = storage::KeepPartitions(database_->Config(), boundary + 3 * kWeek, policy);
  ASSERT_OK(round);
  EXPECT_NE(std::find(round->dropped.begin(), round->dropped.end(), first_week),
            round->dropped.end());
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM pg_class WHERE relname = '", first_week, "'")),
            0);
}

}  // namespace
}  // namespace plantmon
