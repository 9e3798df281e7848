#ifndef PLANTMON_STORAGE_MODELS_H_
#define PLANTMON_STORAGE_MODELS_H_

// Plain rows of the tables (docs/data-model.md), as the repositories read and write them.
// Nullable columns are std::optional; timestamps are absl::Time in UTC.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace plantmon::storage {

// A field an Update may set: unset leaves the column alone. For nullable
// columns the value itself is optional, and nullopt stores NULL.
template <typename T>
using FieldUpdate = std::optional<T>;

struct User {
  int64_t id = 0;
  std::string email;
  std::string username;
  std::string password_hash;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> phone_number;
  bool is_active = true;
  bool is_verified = false;
  absl::Time created_at;
  absl::Time updated_at;
  std::optional<absl::Time> last_login;
  bool is_admin = false;
};

struct UserUpdate {
  FieldUpdate<std::string> email;
  FieldUpdate<std::string> username;
  FieldUpdate<std::optional<std::string>> first_name;
  FieldUpdate<std::optional<std::string>> last_name;
  FieldUpdate<std::optional<std::string>> phone_number;
  FieldUpdate<bool> is_active;
  FieldUpdate<bool> is_verified;
};

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
