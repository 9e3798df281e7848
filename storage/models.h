#ifndef PLANTMON_STORAGE_MODELS_H_
#define PLANTMON_STORAGE_MODELS_H_

// Plain rows of the tables (docs/data-model.md), as the repositories read and write them.
// Nullable columns are std::optional; timestamps are absl::Time in UTC.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace plantmon::storage {

struct SensorReading {
  int64_t id = 0;
  int64_t device_id = 0;
  double measurement_value = 0;
  std::optional<std::string> measurement_unit;
  int32_t data_quality = 100;
  bool is_anomaly = false;
  absl::Time timestamp;
  absl::Time received_at;
  std::optional<std::string> raw_data;
  // A catalogued measurement parameter (migration 0011).
  std::string parameter_name;
};

// Keyset paging: rows with id > after_id, ordered by id, at most `limit`.
struct PageRequest {
  int64_t after_id = 0;
  int limit = 50;
};

// Optional time as optional epoch microseconds, the form statements take.
inline std::optional<int64_t> OptionalMicros(const std::optional<absl::Time>& time) {
  if (!time.has_value()) return std::nullopt;
  return absl::ToUnixMicros(*time);
}

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_MODELS_H_
