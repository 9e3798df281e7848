#ifndef PLANTMON_STORAGE_TELEMETRY_REPOSITORY_H_
#define PLANTMON_STORAGE_TELEMETRY_REPOSITORY_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/connection_pool.h"
#include "storage/models.h"

namespace plantmon::storage {

// Position after which a time-ordered page starts: (timestamp, id).
struct ReadingCursor {
  absl::Time timestamp;
  int64_t id = 0;
};

struct ReadingQuery {
  int64_t device_id = 0;
  absl::Time start_time;  // inclusive
  absl::Time end_time;    // exclusive
  std::optional<ReadingCursor> after;
  int limit = 50;
};

// The `sensor_data` table, scoped to the owner of the device.
class TelemetryRepository {
 public:
  explicit TelemetryRepository(ConnectionPool& pool) : pool_(pool) {}

  // Stores one reading of one of the owner's devices (NOT_FOUND otherwise).
  // measurement_unit defaults to the device type's data_unit; the device's
  // last_data_received only moves forward.
  absl::StatusOr<SensorReading> Record(int64_t owner_id,
                                       const SensorReading& reading);
  // Readings of one of the owner's devices in [start, end), oldest first.
  absl::StatusOr<std::vector<SensorReading>> List(int64_t owner_id,
                                                  const ReadingQuery& query);

 private:
  ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_TELEMETRY_REPOSITORY_H_
