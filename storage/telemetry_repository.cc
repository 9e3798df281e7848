#include "storage/telemetry_repository.h"

#include "storage/pqxx_status.h"
#include "storage/row_reader.h"
#include "storage/transaction.h"

namespace plantmon::storage {
namespace {

constexpr char kColumns[] =
    "id, device_id, measurement_value, measurement_unit, data_quality, "
    "is_anomaly, " PLANTMON_EPOCH_US("\"timestamp\"") ", "
    PLANTMON_EPOCH_US("received_at") ", raw_data";

constexpr char kOwnedDevice[] =
    "SELECT 1 FROM devices WHERE id = $1 AND user_id = $2";

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
  return reading;
}

}  // namespace

absl::StatusOr<SensorReading> TelemetryRepository::Record(
    int64_t owner_id, const SensorReading& reading) {
  return RunInTransaction(
      pool_, [&](pqxx::work& transaction) -> absl::StatusOr<SensorReading> {
        pqxx::result stored = transaction.exec_params(
            std::string(
                "INSERT INTO sensor_data (device_id, measurement_value, "
                "measurement_unit, data_quality, is_anomaly, \"timestamp\", "
                "raw_data) SELECT d.id, $3, COALESCE($4, t.data_unit), $5, $6, "
                "epoch_us_to_timestamptz($7), $8 FROM devices d "
                "JOIN device_types t ON t.id = d.device_type_id "
                "WHERE d.id = $1 AND d.user_id = $2 RETURNING ") +
                kColumns,
            reading.device_id, owner_id, reading.measurement_value,
            reading.measurement_unit, reading.data_quality, reading.is_anomaly,
            absl::ToUnixMicros(reading.timestamp), reading.raw_data);
        if (stored.empty()) return NotFound("device", reading.device_id);
        // A late reading never moves last_data_received back.
        transaction.exec_params(
            "UPDATE devices SET last_data_received = "
            "epoch_us_to_timestamptz($2) WHERE id = $1 AND "
            "(last_data_received IS NULL OR "
            "last_data_received < epoch_us_to_timestamptz($2))",
            reading.device_id, absl::ToUnixMicros(reading.timestamp));
        return ReadReading(stored[0]);
      });
}

absl::StatusOr<std::vector<SensorReading>> TelemetryRepository::List(
    int64_t owner_id, const ReadingQuery& query) {
  std::optional<int64_t> after_micros;
  std::optional<int64_t> after_id;
  if (query.after.has_value()) {
    after_micros = absl::ToUnixMicros(query.after->timestamp);
    after_id = query.after->id;
  }
  return RunInTransaction(
      pool_,
      [&](pqxx::work& transaction) -> absl::StatusOr<std::vector<SensorReading>> {
        if (!ExistsWith(transaction, kOwnedDevice, query.device_id, owner_id)) {
          return NotFound("device", query.device_id);
        }
        std::vector<SensorReading> readings;
        for (const pqxx::row& row : transaction.exec_params(
                 std::string("SELECT ") + kColumns +
                     " FROM sensor_data WHERE device_id = $1 "
                     "AND \"timestamp\" >= epoch_us_to_timestamptz($2) "
                     "AND \"timestamp\" < epoch_us_to_timestamptz($3) "
                     "AND ($4::bigint IS NULL OR (\"timestamp\", id) > "
                     "(epoch_us_to_timestamptz($4), $5::bigint)) "
                     "ORDER BY \"timestamp\", id LIMIT $6",
                 query.device_id, absl::ToUnixMicros(query.start_time),
                 absl::ToUnixMicros(query.end_time), after_micros, after_id,
                 query.limit)) {
          readings.push_back(ReadReading(row));
        }
        return readings;
      });
}

}  // namespace plantmon::storage
