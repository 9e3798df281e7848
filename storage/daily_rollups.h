#ifndef PLANTMON_STORAGE_DAILY_ROLLUPS_H_
#define PLANTMON_STORAGE_DAILY_ROLLUPS_H_

// The daily rollup job (migration 0027; docs/telemetry.md, "Rollups"), run
// in each round of the partition keeper.

#include <pqxx/pqxx>

#include "absl/time/time.h"
#include "storage/partition_keeper.h"

namespace plantmon::storage {

// A UTC day is summed into daily rollups once it ended this long ago, so
// that readings of its last minutes still on their way arrive before it is
// closed rather than as late readings.
constexpr absl::Duration kDayCloseDelay = absl::Hours(1);

// Closes the UTC days that ended kDayCloseDelay before `now` and sums them
// from the hourly rollups, then sums again the days late readings have
// reached since. Does nothing on a schema before migration 0027. May throw
// (the keeper's round reports it); when statements storing readings hold
// the closing lock past a short timeout, closing waits for a later round.
void RollUpDays(pqxx::connection& connection, absl::Time now, DailyRollupRound& round);

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_DAILY_ROLLUPS_H_
