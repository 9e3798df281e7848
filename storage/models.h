#ifndef PLANTMON_STORAGE_MODELS_H_
#define PLANTMON_STORAGE_MODELS_H_

// Plain rows of the seed's tables, as the repositories read and write them.
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

struct Manufacturer {
  int64_t id = 0;
  std::string name;
  std::optional<std::string> description;
  std::optional<std::string> contact_email;
  std::optional<std::string> website;
  bool is_verified = false;
  absl::Time created_at;
  absl::Time updated_at;
};

struct ManufacturerUpdate {
  FieldUpdate<std::string> name;
  FieldUpdate<std::optional<std::string>> description;
  FieldUpdate<std::optional<std::string>> contact_email;
  FieldUpdate<std::optional<std::string>> website;
  FieldUpdate<bool> is_verified;
};

// The seed's DeviceTypeEnum, stored as its lowercase value.
enum class DeviceKind { kSensor, kActuator, kCombined };

struct DeviceType {
  int64_t id = 0;
  int64_t manufacturer_id = 0;
  std::string name;
  DeviceKind device_type = DeviceKind::kSensor;
  std::optional<std::string> description;
  std::optional<std::string> communication_interface;
  std::optional<std::string> supported_functions;
  std::optional<std::string> data_unit;
  std::optional<double> min_value;
  std::optional<double> max_value;
  bool is_active = true;
  absl::Time created_at;
  absl::Time updated_at;
};

struct DeviceTypeUpdate {
  FieldUpdate<int64_t> manufacturer_id;
  FieldUpdate<std::string> name;
  FieldUpdate<DeviceKind> device_type;
  FieldUpdate<std::optional<std::string>> description;
  FieldUpdate<std::optional<std::string>> communication_interface;
  FieldUpdate<std::optional<std::string>> supported_functions;
  FieldUpdate<std::optional<std::string>> data_unit;
  FieldUpdate<std::optional<double>> min_value;
  FieldUpdate<std::optional<double>> max_value;
  FieldUpdate<bool> is_active;
};

struct PlantType {
  int64_t id = 0;
  std::string name;
  std::optional<std::string> scientific_name;
  std::optional<std::string> description;
  std::optional<double> optimal_temperature;
  std::optional<double> optimal_humidity;
  std::optional<double> optimal_light;
  std::optional<int32_t> water_frequency_days;
  std::optional<std::string> care_instructions;
  absl::Time created_at;
  absl::Time updated_at;
};

struct PlantTypeUpdate {
  FieldUpdate<std::string> name;
  FieldUpdate<std::optional<std::string>> scientific_name;
  FieldUpdate<std::optional<std::string>> description;
  FieldUpdate<std::optional<double>> optimal_temperature;
  FieldUpdate<std::optional<double>> optimal_humidity;
  FieldUpdate<std::optional<double>> optimal_light;
  FieldUpdate<std::optional<int32_t>> water_frequency_days;
  FieldUpdate<std::optional<std::string>> care_instructions;
};

// Keyset paging: rows with id > after_id, ordered by id, at most `limit`.
struct PageRequest {
  int64_t after_id = 0;
  int limit = 50;
};

const char* DeviceKindName(DeviceKind kind);
std::optional<DeviceKind> DeviceKindFromName(const std::string& name);

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_MODELS_H_
