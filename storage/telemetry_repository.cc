#include "storage/telemetry_repository.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "postgres/pg_array.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/row_reader.h"
#include "storage/standby_reads.h"

namespace plantmon::storage {

using postgres::PgIntArray;
using postgres::RunInTransaction;
using postgres::RunReadOnly;
namespace {

constexpr char kColumns[] =
    "id, device_id, measurement_value, measurement_unit, data_quality, "
    "is_anomaly, " PLANTMON_EPOCH_US("\"timestamp\"") ", " PLANTMON_EPOCH_US(
        "received_at") ", raw_data, parameter_name";

// What the listing reads from the covering index (migrations 0005, 0013):
// every column but raw_data, which comes from a second, partial index.
constexpr char kIndexedColumns[] =
    "id, device_id, measurement_value, measurement_unit, data_quality, "
    "is_anomaly, " PLANTMON_EPOCH_US("\"timestamp\"") ", " PLANTMON_EPOCH_US(
        "received_at") ", NULL::text, parameter_name";

SensorReading ReadReading(const pqxx::row& row) {
  RowReader reader(row);
  SensorReading reading;
  reading.id = reader.Next<int64_t>();
  reading.device_id = reader.Next<int64_t>();
  reading.measurement_value = reader.Next<double>();
  reading.measurement_unit = reader.NextOptional<std::string>();
  reading.data_quality = reader.Next<int32_t>();
  reading.is_anomaly = reader.Next<bool>();
  reading.timestamp = reader.NextTime();
  reading.received_at = reader.NextTime();
  reading.raw_data = reader.NextOptional<std::string>();
  reading.parameter_name = reader.Next<std::string>();
  return reading;
}

}  // namespace

const std::string& TelemetryRepository::ListStatement(bool newest_first) {
  // Two fixed statements, one per direction, and no SQL assembled at run
  // time. The index (migration 0013) is on (device_id, parameter_name,
  // timestamp): each catalogued parameter (or the one asked for) is one
  // ordered range scan of at most a page, and the pages are merged; the
  // catalogue is a few rows, and a parameter the device never measured costs
  // one empty index probe.
  auto statement = [](absl::string_view order, absl::string_view after,
                      absl::string_view outer_order) {
    return absl::StrCat(
        "SELECT s.* FROM measurement_parameters p CROSS JOIN LATERAL (SELECT ", kIndexedColumns,
        " FROM sensor_data WHERE device_id = $1 AND parameter_name = p.name "
        "AND \"timestamp\" >= epoch_us_to_timestamptz($2) "
        "AND \"timestamp\" < epoch_us_to_timestamptz($3) "
        "AND ($7::integer IS NULL OR data_quality >= $7) "
        "AND (NOT $8 OR NOT is_anomaly) AND ($4::bigint IS NULL OR (\"timestamp\", id) ",
        after, " (epoch_us_to_timestamptz($4), $5::bigint)) ORDER BY ", order,
        " LIMIT $6) s "
        "WHERE ($10::text IS NULL OR p.name = $10) "
        "AND EXISTS (SELECT 1 FROM devices WHERE id = $1 AND user_id = $9) "
        // The merged pages by their timestamp and id (output columns 7, 1).
        "ORDER BY ",
        outer_order, " LIMIT $6");
  };
  static const std::string kOldestFirst = statement("\"timestamp\", id", ">", "7, 1");
  static const std::string kNewestFirst =
      statement("\"timestamp\" DESC, id DESC", "<", "7 DESC, 1 DESC");
  return newest_first ? kNewestFirst : kOldestFirst;
}

template <typename Read>
auto TelemetryRepository::ReadTolerantOfLag(Read&& read) {
  return standby_ != nullptr ? standby_->Run(read) : read(pool_);
}

absl::StatusOr<std::vector<SensorReading>> TelemetryRepository::List(int64_t owner_id,
                                                                     const ReadingQuery& query) {
  std::optional<int64_t> after_micros;
  std::optional<int64_t> after_id;
  if (query.after.has_value()) {
    after_micros = absl::ToUnixMicros(query.after->timestamp);
    after_id = query.after->id;
  }
  // The hot read path: one statement in autocommit mode. Readings are only
  // returned for the owner's device (the EXISTS); whether an empty answer
  // means "not yours" is asked only when the answer is empty.
  return ReadTolerantOfLag([&](postgres::ConnectionPool& pool) {
    return RunReadOnly(
        pool,
        [&](pqxx::transaction_base& transaction) -> absl::StatusOr<std::vector<SensorReading>> {
          std::vector<SensorReading> readings;
          readings.reserve(query.limit);
          for (const pqxx::row& row : postgres::ExecPrepared(
                   transaction, ListStatement(query.newest_first), query.device_id,
                   absl::ToUnixMicros(query.start_time), absl::ToUnixMicros(query.end_time),
                   after_micros, after_id, query.limit, query.min_quality, query.exclude_anomalies,
                   owner_id, query.parameter_name)) {
            readings.push_back(ReadReading(row));
          }
          if (readings.empty()) {
            if (!ExistsWith(transaction, kOwnedDevice, query.device_id, owner_id)) {
              return NotFound("device", query.device_id);
            }
            return readings;
          }
          // raw_data of the page's rows that have any, from the partial index.
          auto [oldest, newest] = std::minmax_element(
              readings.begin(), readings.end(), [](const SensorReading& a, const SensorReading& b) {
                return a.timestamp < b.timestamp;
              });
          absl::flat_hash_map<int64_t, std::string> raw_data;
          for (const pqxx::row& row : postgres::ExecPrepared(
                   transaction,
                   "SELECT id, raw_data FROM sensor_data WHERE device_id = $1 "
                   "AND \"timestamp\" >= epoch_us_to_timestamptz($2) "
                   "AND \"timestamp\" <= epoch_us_to_timestamptz($3) AND raw_data IS NOT NULL",
                   query.device_id, absl::ToUnixMicros(oldest->timestamp),
                   absl::ToUnixMicros(newest->timestamp))) {
            raw_data[row[0].as<int64_t>()] = row[1].as<std::string>();
          }
          if (!raw_data.empty()) {
            for (SensorReading& reading : readings) {
              auto it = raw_data.find(reading.id);
              if (it != raw_data.end()) reading.raw_data = it->second;
            }
          }
          return readings;
        });
  });
}

absl::StatusOr<std::vector<SensorReading>> TelemetryRepository::Latest(
    int64_t owner_id, const std::vector<int64_t>& device_ids) {
  return RunInTransaction(
      pool_, [&](pqxx::work& transaction) -> absl::StatusOr<std::vector<SensorReading>> {
        std::set<int64_t> owned;
        for (const pqxx::row& row : postgres::ExecPrepared(
                 transaction, "SELECT id FROM devices WHERE user_id = $1 AND id = ANY($2::int[])",
                 owner_id, PgIntArray(device_ids))) {
          owned.insert(row[0].as<int64_t>());
        }
        for (int64_t id : device_ids) {
          if (!owned.count(id)) return NotFound("device", id);
        }
        std::vector<SensorReading> readings;
        // The newest of each (device, parameter): one index probe per device
        // and catalogued parameter on (device_id, parameter_name, timestamp).
        for (const pqxx::row& row : postgres::ExecPrepared(
                 transaction,
                 std::string("SELECT s.* FROM unnest($1::int[]) AS d(id) "
                             "CROSS JOIN measurement_parameters p CROSS JOIN LATERAL (SELECT ") +
                     kColumns +
                     " FROM sensor_data WHERE device_id = d.id AND parameter_name = p.name "
                     "ORDER BY \"timestamp\" DESC, id DESC LIMIT 1) s "
                     "ORDER BY s.device_id, s.parameter_name",
                 PgIntArray({owned.begin(), owned.end()}))) {
          readings.push_back(ReadReading(row));
        }
        return readings;
      });
}

absl::StatusOr<std::vector<int64_t>> TelemetryRepository::ActiveDevicesOfPlant(int64_t owner_id,
                                                                               int64_t plant_id) {
  return RunInTransaction(
      pool_, [&](pqxx::work& transaction) -> absl::StatusOr<std::vector<int64_t>> {
        if (!ExistsWith(transaction, kOwnedPlant, plant_id, owner_id)) {
          return NotFound("plant", plant_id);
        }
        std::vector<int64_t> devices;
        for (const pqxx::row& row :
             postgres::ExecPrepared(transaction,
                                    "SELECT DISTINCT device_id FROM plant_device_assignments "
                                    "WHERE plant_id = $1 AND is_active ORDER BY device_id",
                                    plant_id)) {
          devices.push_back(row[0].as<int64_t>());
        }
        return devices;
      });
}

namespace {

// A bucket's start for a point in time `at` (SQL): fixed-width buckets ($4
// microseconds) from the range's start ($2), or calendar buckets (with $8,
// the unit) beginning where the unit begins in zone $9.
std::string BucketOf(absl::string_view at) {
  return absl::StrCat("CASE WHEN $8::text IS NULL THEN date_bin($4 * interval '1 microsecond', ",
                      at, ", epoch_us_to_timestamptz($2)) ELSE date_trunc($8, ", at, ", $9) END");
}

// The readings Aggregate folds: the device's ($1), of parameter $7 (NULL:
// every parameter), without anomalies if $6. The parameter goes through the
// catalogue so that each parameter is one bounded range scan of the index on
// (device_id, parameter_name, timestamp) (migration 0013), as in List, with
// or without $7, in a generic plan too.
constexpr char kReadingsOfDevice[] =
    "device_id = $1 AND (NOT $6 OR NOT is_anomaly) AND parameter_name IN "
    "(SELECT p.name FROM measurement_parameters p WHERE p.name = coalesce($7, p.name))";

// Folds pieces (one reading, or one rollup hour) into buckets: count, min,
// max, average, and the first and last value by (timestamp, id).
std::string FoldPieces(absl::string_view pieces) {
  // A calendar bucket ends one unit after it begins, in its zone, so a day
  // across a daylight-saving change is 23 or 25 hours long.
  return absl::StrCat(
      "SELECT " PLANTMON_EPOCH_US("bucket") ", " PLANTMON_EPOCH_US(
          "CASE WHEN $8::text IS NULL THEN bucket + $4 * interval '1 microsecond' "
          "ELSE ((bucket AT TIME ZONE $9) + ('1 ' || $8)::interval) AT TIME ZONE $9 "
          "END") ", sum(n)::bigint, min(lo), max(hi), sum(total) / sum(n)::float8, "
                 "(array_agg(first_v ORDER BY first_ts, first_id))[1], "
                 "(array_agg(last_v ORDER BY last_ts DESC, last_id DESC))[1] FROM (",
      pieces, ") pieces GROUP BY bucket ORDER BY bucket");
}

// Raw readings as pieces, in the time range given (SQL, on "timestamp").
std::string RawPieces(absl::string_view range) {
  return absl::StrCat("SELECT ", BucketOf("\"timestamp\""),
                      " AS bucket, 1 AS n, measurement_value AS lo, measurement_value AS hi, "
                      "measurement_value AS total, \"timestamp\" AS first_ts, id AS first_id, "
                      "measurement_value AS first_v, \"timestamp\" AS last_ts, id AS last_id, "
                      "measurement_value AS last_v FROM sensor_data WHERE ",
                      kReadingsOfDevice, " AND ", range,
                      " AND ($5::integer IS NULL OR data_quality >= $5)");
}

// Daily rollups (migration 0027) answer the whole UTC days [$12, $13) of a
// query that the daily job has summed (before rolled_before), except days
// with a late reading the job has not summed again (a stale mark); hourly
// rollups answer the rest of the whole hours [$10, $11). Each part is a
// bounded range of its table's key, not a filter over the whole range.
constexpr char kDailyEnd[] =
    "least(epoch_us_to_timestamptz($13), (SELECT rolled_before FROM sensor_data_daily_state))";

// Rollup rows (hourly or daily) from `from` (naming the table r) as pieces.
std::string RollupPieces(absl::string_view from, absl::string_view period,
                         absl::string_view which) {
  return absl::StrCat(
      "SELECT ", BucketOf(period),
      " AS bucket, reading_count AS n, min_value AS lo, max_value AS hi, sum_value AS total, "
      "first_timestamp AS first_ts, first_id, first_value AS first_v, "
      "last_timestamp AS last_ts, last_id, last_value AS last_v FROM ",
      from, " WHERE ", kReadingsOfDevice, " AND ", which);
}

// Parameters of both: $1 device_id, $2 start_us, $3 end_us, $4 bucket width
// in microseconds, $5 min_quality, $6 exclude_anomalies, $7 parameter_name
// (NULL: all), $8 calendar_unit, $9 time_zone; and of the rollup one, $10
// and $11: the whole UTC hours [$10, $11) read from rollups, whose readings
// the raw parts leave out, and $12 and $13: the whole UTC days among them
// that daily rollups may answer (empty, $12 = $13, when buckets are not made
// of UTC days), the rest of those hours coming from hourly rollups.
const std::string& AggregateSql(bool from_rollups) {
  static const std::string* const raw =
      new std::string(FoldPieces(RawPieces("\"timestamp\" >= epoch_us_to_timestamptz($2) "
                                           "AND \"timestamp\" < epoch_us_to_timestamptz($3)")));
  static const std::string* const rolled_up = new std::string(FoldPieces(absl::StrCat(
      RollupPieces("sensor_data_daily r", "r.day",
                   absl::StrCat("r.day >= epoch_us_to_timestamptz($12) AND r.day < ", kDailyEnd,
                                " AND NOT EXISTS (SELECT 1 FROM sensor_data_daily_stale s "
                                "WHERE s.device_id = $1 AND s.day = r.day)")),
      // Hours before the days, then from where the summed days end.
      " UNION ALL ",
      RollupPieces("sensor_data_hourly r", "r.hour",
                   "r.hour >= epoch_us_to_timestamptz($10) "
                   "AND r.hour < epoch_us_to_timestamptz($12)"),
      " UNION ALL ",
      RollupPieces("sensor_data_hourly r", "r.hour",
                   absl::StrCat("r.hour >= greatest(epoch_us_to_timestamptz($12), ", kDailyEnd,
                                ") AND r.hour < epoch_us_to_timestamptz($11)")),
      // The hours of summed days with a stale mark.
      " UNION ALL ",
      RollupPieces(absl::StrCat("sensor_data_hourly r JOIN (SELECT DISTINCT day "
                                "FROM sensor_data_daily_stale WHERE device_id = $1 "
                                "AND day >= epoch_us_to_timestamptz($12) AND day < ",
                                kDailyEnd,
                                ") stale ON r.hour >= stale.day "
                                "AND r.hour < stale.day + interval '24 hours'"),
                   "r.hour", "true"),
      " UNION ALL ",
      RawPieces("\"timestamp\" >= epoch_us_to_timestamptz($2) "
                "AND \"timestamp\" < epoch_us_to_timestamptz($10)"),
      " UNION ALL ",
      RawPieces("\"timestamp\" >= epoch_us_to_timestamptz($11) "
                "AND \"timestamp\" < epoch_us_to_timestamptz($3)"))));
  return from_rollups ? *rolled_up : *raw;
}

// Whether every offset from UTC `zone` has in [start, end) is a whole number
// of `period`s (for an hour: zones such as Asia/Kolkata (+05:30) or historic
// local mean times are not).
bool OffsetsAreWhole(const absl::TimeZone& zone, absl::Time start, absl::Time end,
                     absl::Duration period) {
  // A bound on the walk; ranges are capped at 10,000 buckets, and zones
  // change their offset twice a year at most.
  constexpr int kMaxTransitions = 100000;
  absl::Time at = start;
  for (int i = 0; i < kMaxTransitions; ++i) {
    if (absl::Seconds(zone.At(at).offset) % period != absl::ZeroDuration()) return false;
    absl::TimeZone::CivilTransition transition;
    if (!zone.NextTransition(at, &transition)) return true;
    const absl::Time next = zone.At(transition.to).trans;
    if (next >= end) return true;
    if (next <= at) return false;  // not moving forward: do not trust it
    at = next;
  }
  return false;
}

// Whether each of the query's buckets begins and ends on a whole UTC
// `period` (an hour or a day), so that rollups of that period add up to it:
// calendar buckets no shorter than the period in a zone whose offsets over
// the range are whole periods, or fixed widths of whole periods from a start
// on one.
bool BucketsAreWhole(const AggregateQuery& query, absl::Duration period) {
  const absl::Duration since_epoch = query.start_time - absl::UnixEpoch();
  if (!query.calendar_unit.has_value()) {
    return query.bucket_width % period == absl::ZeroDuration() &&
           absl::Floor(since_epoch, period) == since_epoch;
  }
  if (*query.calendar_unit == "hour" && period > absl::Hours(1)) return false;
  absl::TimeZone zone;
  return absl::LoadTimeZone(query.time_zone, &zone) &&
         OffsetsAreWhole(zone, query.start_time, query.end_time, period);
}

// The whole UTC `period`s inside [start, end), or nothing when it holds none.
std::optional<std::pair<absl::Time, absl::Time>> WholePeriods(absl::Time start, absl::Time end,
                                                              absl::Duration period) {
  const absl::Time from = absl::UnixEpoch() + absl::Ceil(start - absl::UnixEpoch(), period);
  const absl::Time to = absl::UnixEpoch() + absl::Floor(end - absl::UnixEpoch(), period);
  if (from >= to) return std::nullopt;
  return std::make_pair(from, to);
}

// The whole UTC hours of the query's range that hourly rollups (migration
// 0023) can answer, or nothing when the raw readings must: with a
// min_quality filter (rollups keep no quality), with buckets that do not
// begin and end on UTC hours, or when the range holds no whole hour.
std::optional<std::pair<absl::Time, absl::Time>> RolledUpHours(const AggregateQuery& query) {
  if (query.min_quality.has_value() || !BucketsAreWhole(query, absl::Hours(1))) {
    return std::nullopt;
  }
  return WholePeriods(query.start_time, query.end_time, absl::Hours(1));
}

// The whole UTC days among `hours` (RolledUpHours) that daily rollups
// (migration 0027) may answer: when every bucket begins and ends on a UTC
// midnight, that is calendar days, weeks or months in a zone at UTC's offset
// over the whole range, or buckets one day wide from a start at midnight.
// Empty (both ends at hours.first) otherwise.
std::pair<absl::Time, absl::Time> RolledUpDays(const AggregateQuery& query,
                                               const std::pair<absl::Time, absl::Time>& hours) {
  const std::pair<absl::Time, absl::Time> none(hours.first, hours.first);
  if (!BucketsAreWhole(query, absl::Hours(24))) return none;
  return WholePeriods(hours.first, hours.second, absl::Hours(24)).value_or(none);
}

}  // namespace

const std::string& TelemetryRepository::AggregateStatement(bool from_rollups) {
  return AggregateSql(from_rollups);
}

absl::StatusOr<std::vector<ReadingBucket>> TelemetryRepository::Aggregate(
    int64_t owner_id, const AggregateQuery& query) {
  const std::optional<std::pair<absl::Time, absl::Time>> rolled_up = RolledUpHours(query);
  return ReadTolerantOfLag([&](postgres::ConnectionPool& pool) {
    return RunInTransaction(
        pool, [&](pqxx::work& transaction) -> absl::StatusOr<std::vector<ReadingBucket>> {
          // The device's owner and its type's primary measurement in one.
          const pqxx::result device = postgres::ExecPrepared(
              transaction,
              "SELECT t.primary_parameter FROM devices d JOIN device_types t "
              "ON t.id = d.device_type_id WHERE d.id = $1 AND d.user_id = $2",
              query.device_id, owner_id);
          if (device.empty()) return NotFound("device", query.device_id);
          // Unset: the type's primary measurement, or every reading for a type
          // that declares none.
          std::optional<std::string> parameter = query.parameter_name;
          if (!parameter && !device[0][0].is_null()) parameter = device[0][0].as<std::string>();
          const auto run = [&](const auto&... rollup_hours) {
            return postgres::ExecPrepared(
                transaction, AggregateSql(sizeof...(rollup_hours) > 0), query.device_id,
                absl::ToUnixMicros(query.start_time), absl::ToUnixMicros(query.end_time),
                absl::ToInt64Microseconds(query.bucket_width), query.min_quality,
                query.exclude_anomalies, parameter, query.calendar_unit, query.time_zone,
                absl::ToUnixMicros(rollup_hours)...);
          };
          std::optional<std::pair<absl::Time, absl::Time>> days;
          if (rolled_up) days = RolledUpDays(query, *rolled_up);
          const pqxx::result rows =
              rolled_up ? run(rolled_up->first, rolled_up->second, days->first, days->second)
                        : run();
          std::vector<ReadingBucket> buckets;
          buckets.reserve(rows.size());
          for (const pqxx::row& row : rows) {
            RowReader reader(row);
            ReadingBucket bucket;
            bucket.start_time = reader.NextTime();
            bucket.end_time = reader.NextTime();
            bucket.count = reader.Next<int64_t>();
            bucket.min_value = reader.Next<double>();
            bucket.max_value = reader.Next<double>();
            bucket.avg_value = reader.Next<double>();
            bucket.first_value = reader.Next<double>();
            bucket.last_value = reader.Next<double>();
            buckets.push_back(bucket);
          }
          return buckets;
        });
  });
}

}  // namespace plantmon::storage
