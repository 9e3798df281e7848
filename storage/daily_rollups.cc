#include "storage/daily_rollups.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "storage/row_reader.h"

namespace plantmon::storage {
namespace {

// Closing a day waits at most this long for statements storing readings to
// finish (they hold sensor_data_daily_lock_key() shared): ingest queued
// behind the waiting job would stall with it.
constexpr char kCloseLockTimeout[] = "100ms";
constexpr char kLockNotAvailable[] = "55P03";
// pg_advisory lock key of the summing transaction ("plantmdj" in ASCII): one
// server's keeper sums at a time. Two at once could each replace a day's
// rows, and the one with the older snapshot, waiting on the other's rows,
// would write last.
constexpr int64_t kDailyJobLockKey = 0x706c616e746d646a;

// Daily rows summed from the hourly rollups `hours` selects (a FROM and WHERE
// over sensor_data_hourly as h), replacing the rows of the same keys: a day
// is always summed whole.
std::string SumDaysStatement(absl::string_view hours) {
  return absl::StrCat(
      "INSERT INTO sensor_data_daily AS d "
      "SELECT h.device_id, h.parameter_name, date_trunc('day', h.hour, 'UTC'), h.is_anomaly, "
      "sum(h.reading_count), min(h.min_value), max(h.max_value), sum(h.sum_value), "
      "(array_agg(h.first_timestamp ORDER BY h.first_timestamp, h.first_id))[1], "
      "(array_agg(h.first_id ORDER BY h.first_timestamp, h.first_id))[1], "
      "(array_agg(h.first_value ORDER BY h.first_timestamp, h.first_id))[1], "
      "(array_agg(h.last_timestamp ORDER BY h.last_timestamp DESC, h.last_id DESC))[1], "
      "(array_agg(h.last_id ORDER BY h.last_timestamp DESC, h.last_id DESC))[1], "
      "(array_agg(h.last_value ORDER BY h.last_timestamp DESC, h.last_id DESC))[1] ",
      hours,
      " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 "
      "ON CONFLICT (device_id, parameter_name, day, is_anomaly) DO UPDATE SET "
      "reading_count = EXCLUDED.reading_count, min_value = EXCLUDED.min_value, "
      "max_value = EXCLUDED.max_value, sum_value = EXCLUDED.sum_value, "
      "first_timestamp = EXCLUDED.first_timestamp, first_id = EXCLUDED.first_id, "
      "first_value = EXCLUDED.first_value, last_timestamp = EXCLUDED.last_timestamp, "
      "last_id = EXCLUDED.last_id, last_value = EXCLUDED.last_value");
}

bool HasDailyRollups(pqxx::transaction_base& transaction) {
  return !transaction.exec1("SELECT to_regclass('sensor_data_daily_state') IS NULL")[0].as<bool>();
}

// Moves marked_before to `close_before` once every statement storing readings
// that began before has finished: from then on each one storing a reading of
// a day before it marks the day stale. When the lock is not had in time the
// watermark stays, and the day closes in a later round.
void MarkClosed(pqxx::connection& connection, absl::Time close_before) {
  pqxx::work transaction(connection);
  const bool behind =
      transaction
          .exec_params1(
              "SELECT marked_before < epoch_us_to_timestamptz($1) FROM sensor_data_daily_state",
              absl::ToUnixMicros(close_before))[0]
          .as<bool>();
  if (!behind) return;
  transaction.exec(absl::StrCat("SET LOCAL lock_timeout = '", kCloseLockTimeout, "'"));
  try {
    transaction.exec("SELECT pg_advisory_xact_lock(sensor_data_daily_lock_key())");
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == kLockNotAvailable) return;
    throw;
  }
  transaction.exec_params(
      "UPDATE sensor_data_daily_state SET marked_before = epoch_us_to_timestamptz($1)",
      absl::ToUnixMicros(close_before));
  transaction.commit();
}

}  // namespace

void RollUpDays(pqxx::connection& connection, absl::Time now, DailyRollupRound& round) {
  {
    pqxx::read_transaction check(connection);
    if (!HasDailyRollups(check)) return;
  }
  const absl::Duration day = absl::Hours(24);
  const absl::Time close_before =
      absl::UnixEpoch() + absl::Floor(now - kDayCloseDelay - absl::UnixEpoch(), day);
  MarkClosed(connection, close_before);

  pqxx::work transaction(connection);
  if (!transaction.exec_params1("SELECT pg_try_advisory_xact_lock($1)", kDailyJobLockKey)[0]
           .as<bool>()) {
    return;  // another server's keeper is summing; the next round catches up
  }
  // Days closed since the last round (rolled_before to marked_before): every
  // reading of them is in this statement's snapshot or marked stale.
  if (transaction.exec1("SELECT rolled_before < marked_before FROM sensor_data_daily_state")[0]
          .as<bool>()) {
    const pqxx::row written = transaction.exec1(
        "WITH written AS (" +
        SumDaysStatement("FROM sensor_data_hourly h, sensor_data_daily_state s "
                         "WHERE h.hour >= s.rolled_before AND h.hour < s.marked_before") +
        " RETURNING day) SELECT count(DISTINCT day) FROM written");
    round.days_closed += written[0].as<int64_t>();
    transaction.exec("UPDATE sensor_data_daily_state SET rolled_before = marked_before");
  }
  // Days late readings reached: the marks this statement sees, whose
  // readings it sees too, are taken; marks of later readings stay. (24
  // hours, not '1 day', which is 23 or 25 across a change in the session's
  // zone.)
  round.days_restated +=
      transaction
          .exec1(
              "WITH taken AS (DELETE FROM sensor_data_daily_stale RETURNING device_id, day), "
              "days AS (SELECT DISTINCT device_id, day FROM taken), "
              "summed AS (" +
              SumDaysStatement("FROM days k JOIN sensor_data_hourly h "
                               "ON h.device_id = k.device_id AND h.hour >= k.day "
                               "AND h.hour < k.day + interval '24 hours'") +
              " RETURNING 1) SELECT count(*) FROM days")[0]
          .as<int64_t>();
  transaction.commit();
}

}  // namespace plantmon::storage
