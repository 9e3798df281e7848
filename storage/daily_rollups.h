#ifndef PLANTMON_STORAGE_DAILY_ROLLUPS_H_
#define PLANTMON_STORAGE_DAILY_ROLLUPS_H_

// The daily rollup job (migration 0027; docs/telemetry.md, "Rollups"), run
// in each round of the partition keeper.

#include <pqxx/pqxx>

#include "absl/time/time.h"
#include "storage/partition_keeper.h"

namespace plantmon::storage {

// Closes the UTC days that ended kDayCloseDelay before `now` and sums them
// from the hourly rollups, then sums again the days late readings have
// reached since. Does nothing on a schema before migration 0027. May throw
// (the keeper's round reports it); when statements storing readings hold
// the closing lock past a short timeout, closing waits for a later round.
void RollUpDays(pqxx::connection& connection, absl::Time now, DailyRollupRound& round);

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_DAILY_ROLLUPS_H_
