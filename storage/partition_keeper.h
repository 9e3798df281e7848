#ifndef PLANTMON_STORAGE_PARTITION_KEEPER_H_
#define PLANTMON_STORAGE_PARTITION_KEEPER_H_

// Upkeep of sensor_data's weekly partitions (migration 0024; docs/scaling.md,
// "Partitions and retention"): weeks are created ahead of time, so that
// ingest never meets a timestamp without a partition, and whole partitions
// past the raw-data retention are detached and dropped, never deleted row by
// row. The hourly rollups (migration 0023) are a table of their own and stay.
//
// Written here rather than left to pg_partman (postgresql-15-partman): the
// extension must be installed on the database host and created by a
// superuser in the application's database, which a POSTGRES_DB_HOST the
// operator does not administer may not allow, and its retention reads a
// partition's time from its name, which the converted heap
// (sensor_data_history, whose range is MINVALUE to a boundary) does not
// carry. What is needed is a few statements a week.
//
// Every server process runs a keeper; a PostgreSQL advisory lock makes their
// rounds take turns, and a round only does what is missing, so any one of
// them keeps the table.

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sync.h"
#include "postgres/database_config.h"

namespace plantmon::storage {

struct PartitionPolicy {
  // Weekly partitions exist from now to at least this far ahead.
  absl::Duration ahead = absl::Hours(24 * 7 * 4);
  // Raw readings are kept this long (PLANTMON_RAW_RETENTION_DAYS); unset
  // keeps them all.
  std::optional<absl::Duration> raw_retention;
};

// A partition is dropped once its newest possible reading is older than the
// retention by this much: room for a reading accepted just inside the
// retention whose transaction has not yet reached the table.
constexpr absl::Duration kRetentionDropMargin = absl::Hours(1);

// The oldest timestamp a new reading may have: under a retention, older
// readings would belong to partitions already dropped, or about to be.
absl::Time OldestAcceptedReading(absl::Time now, const std::optional<absl::Duration>& retention);

// The Monday, 00:00 UTC, on or before `time`: where a weekly partition begins.
absl::Time WeekStart(absl::Time time);
// The name of the weekly partition that begins at `week` (a WeekStart):
// sensor_data_wYYYYMMDD.
std::string WeekPartitionName(absl::Time week);
// `time` as the SQL literal of a partition bound, in UTC.
std::string PartitionBoundLiteral(absl::Time time);
// The statements that add the weekly partition beginning at `week`, run in
// one transaction: made as a table, given the rollup trigger (migration 0026:
// ingest copies into a week's partition directly, so no reading may reach it
// without one), then attached. ATTACH PARTITION takes a lock on sensor_data
// that lets reads and writes through, where CREATE TABLE ... PARTITION OF
// would hold them off.
std::vector<std::string> WeekPartitionStatements(absl::Time week);

struct DailyRollupRound {
  // Days newly closed that held readings.
  int64_t days_closed = 0;
  // (device, day) pairs summed again after late readings.
  int64_t days_restated = 0;
};

struct PartitionRound {
  std::vector<std::string> created;
  std::vector<std::string> dropped;
  DailyRollupRound daily;
};

// One round of upkeep as if the time were `now`, on a connection of its own:
// creates the missing weeks up to now + policy.ahead, then drops what
// policy.raw_retention has left behind, then runs the daily rollup job
// (RollUpDays). Partitions are left alone on a schema before migration 0024,
// daily rollups before 0027. Dropping is skipped (and left to the next round) while
// another process holds the lock.
absl::StatusOr<PartitionRound> KeepPartitions(const postgres::DatabaseConfig& database,
                                              absl::Time now, const PartitionPolicy& policy);

// Runs KeepPartitions at start and every `every` after, on a thread of its
// own; a failed round is reported on stderr and tried again after `retry`.
class PartitionKeeper {
 public:
  struct Options {
    PartitionPolicy policy;
    absl::Duration every = absl::Hours(1);
    absl::Duration retry = absl::Minutes(1);
  };

  PartitionKeeper(postgres::DatabaseConfig database, Options options);
  ~PartitionKeeper();

 private:
  void Run();

  const postgres::DatabaseConfig database_;
  const Options options_;
  common::Notification stop_;
  std::thread thread_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_PARTITION_KEEPER_H_
