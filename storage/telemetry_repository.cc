#include "storage/telemetry_repository.h"

#include <algorithm>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "postgres/pg_array.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/row_reader.h"

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
  return RunReadOnly(
      pool_,
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

absl::StatusOr<std::vector<ReadingBucket>> TelemetryRepository::Aggregate(
    int64_t owner_id, const AggregateQuery& query) {
  return RunInTransaction(
      pool_, [&](pqxx::work& transaction) -> absl::StatusOr<std::vector<ReadingBucket>> {
        if (!ExistsWith(transaction, kOwnedDevice, query.device_id, owner_id)) {
          return NotFound("device", query.device_id);
        }
        std::vector<ReadingBucket> buckets;
        for (const pqxx::row& row : postgres::ExecPrepared(
                 transaction,
                 // Calendar buckets (with $8, the unit) begin where the unit
                 // begins in zone $9 and end one unit later there, so a day
                 // across a daylight-saving change is 23 or 25 hours long.
                 "SELECT " PLANTMON_EPOCH_US("bucket") ", " PLANTMON_EPOCH_US(
                     "CASE WHEN $8::text IS NULL THEN bucket + $4 * interval '1 microsecond' "
                     "ELSE ((bucket AT TIME ZONE $9) + ('1 ' || $8)::interval) AT TIME ZONE $9 "
                     "END") ", count(*), min(v), max(v), avg(v), "
                            "(array_agg(v ORDER BY ts, id))[1], (array_agg(v ORDER BY ts DESC, "
                            "id DESC))[1] "
                            "FROM (SELECT CASE WHEN $8::text IS NULL THEN "
                            "date_bin($4 * interval '1 microsecond', \"timestamp\", "
                            "epoch_us_to_timestamptz($2)) ELSE date_trunc($8, \"timestamp\", $9) "
                            "END AS bucket, measurement_value AS v, "
                            "\"timestamp\" AS ts, id FROM sensor_data WHERE device_id = $1 "
                            "AND \"timestamp\" >= epoch_us_to_timestamptz($2) "
                            "AND \"timestamp\" < epoch_us_to_timestamptz($3) "
                            "AND ($5::integer IS NULL OR data_quality >= $5) "
                            "AND (NOT $6 OR NOT is_anomaly) "
                            // Unset: the type's primary measurement (all
                            // readings if it declares none).
                            "AND parameter_name = coalesce($7, (SELECT t.primary_parameter "
                            "FROM devices d JOIN device_types t ON t.id = d.device_type_id "
                            "WHERE d.id = $1), parameter_name)"
                            ") r GROUP BY bucket ORDER BY bucket",
                 query.device_id, absl::ToUnixMicros(query.start_time),
                 absl::ToUnixMicros(query.end_time), absl::ToInt64Microseconds(query.bucket_width),
                 query.min_quality, query.exclude_anomalies, query.parameter_name,
                 query.calendar_unit, query.time_zone)) {
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
}

}  // namespace plantmon::storage
