#ifndef PLANTMON_STORAGE_TELEMETRY_REPOSITORY_H_
#define PLANTMON_STORAGE_TELEMETRY_REPOSITORY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "postgres/connection_pool_fwd.h"
#include "storage/models.h"

namespace plantmon::storage {

class StandbyReads;

// Position after which a time-ordered page starts: (timestamp, id).
struct ReadingCursor {
  absl::Time timestamp;
  int64_t id = 0;
};

struct ReadingQuery {
  int64_t device_id = 0;
  absl::Time start_time;  // inclusive
  absl::Time end_time;    // exclusive
  // Continue after this row (in the direction of the order).
  std::optional<ReadingCursor> after;
  int limit = 50;
  bool newest_first = false;
  std::optional<int32_t> min_quality;
  bool exclude_anomalies = false;
  // Only this parameter's readings; unset: all of the device's.
  std::optional<std::string> parameter_name;
};

struct AggregateQuery {
  int64_t device_id = 0;
  absl::Time start_time;
  absl::Time end_time;
  // Fixed-width buckets from start_time, or, with calendar_unit ("hour",
  // "day", "week", "month"), calendar buckets in time_zone (an IANA name).
  absl::Duration bucket_width;
  std::optional<std::string> calendar_unit;
  std::string time_zone = "UTC";
  std::optional<int32_t> min_quality;
  bool exclude_anomalies = false;
  // Unset: the device type's primary measurement, or every reading for a
  // type that declares none.
  std::optional<std::string> parameter_name;
};

struct ReadingBucket {
  absl::Time start_time;
  absl::Time end_time;
  int64_t count = 0;
  double min_value = 0;
  double max_value = 0;
  double avg_value = 0;
  double first_value = 0;
  double last_value = 0;
};

// The `sensor_data` table, scoped to the owner of the device.
class TelemetryRepository {
 public:
  explicit TelemetryRepository(postgres::ConnectionPool& pool) : pool_(pool) {}

  // List and Aggregate go to `standby` when it is usable (set before
  // serving; storage/standby_reads.h). Everything else stays on the pool.
  void ReadFromStandby(StandbyReads* standby) { standby_ = standby; }

  // Readings of one of the owner's devices in [start, end), by (timestamp,
  // id) in the requested direction. NOT_FOUND for a device not the owner's.
  absl::StatusOr<std::vector<SensorReading>> List(int64_t owner_id, const ReadingQuery& query);
  // The main statement List runs (it leaves raw_data out; a second, small
  // statement fills it in), for benchmarks that run the same SQL directly.
  // Parameters: device_id, start_us, end_us, after_us, after_id, limit,
  // min_quality, exclude_anomalies, owner_id.
  static const std::string& ListStatement(bool newest_first);

  // For each device, the reading with the newest timestamp (ties: the newest
  // id). NOT_FOUND names the first device that is not the owner's.
  absl::StatusOr<std::vector<SensorReading>> Latest(int64_t owner_id,
                                                    const std::vector<int64_t>& device_ids);
  // The devices actively assigned to one of the owner's plants.
  absl::StatusOr<std::vector<int64_t>> ActiveDevicesOfPlant(int64_t owner_id, int64_t plant_id);
  // Buckets of `bucket_width` from start_time, or calendar buckets; empty
  // buckets are left out. The whole UTC hours of the range come from hourly
  // rollups (migration 0023) when the buckets are made of whole hours and no
  // min_quality is asked for; the rest from raw readings. Both give the same
  // answers (the average to within rounding).
  absl::StatusOr<std::vector<ReadingBucket>> Aggregate(int64_t owner_id,
                                                       const AggregateQuery& query);
  // The statement Aggregate runs, for benchmarks: from raw readings only, or
  // from rollups (two more parameters: the whole hours' range in UNIX
  // microseconds). Parameters: device_id, start_us, end_us, bucket width in
  // microseconds, min_quality, exclude_anomalies, parameter_name (NULL:
  // every parameter, not the type's primary one), calendar_unit, time_zone.
  static const std::string& AggregateStatement(bool from_rollups);

 private:
  // Runs `read(pool)` on the standby's pool or pool_ (defined in the .cc).
  template <typename Read>
  auto ReadTolerantOfLag(Read&& read);

  postgres::ConnectionPool& pool_;
  StandbyReads* standby_ = nullptr;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_TELEMETRY_REPOSITORY_H_
