#ifndef PLANTMON_SERVICES_PROTO_MAPPING_H_
#define PLANTMON_SERVICES_PROTO_MAPPING_H_

// Conversions between storage rows and plantmon.v1 messages.

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "plantmon/v1/alert.pb.h"
#include "plantmon/v1/device.pb.h"
#include "plantmon/v1/enums.pb.h"
#include "plantmon/v1/plant.pb.h"
#include "plantmon/v1/telemetry.pb.h"
#include "plantmon/v1/user.pb.h"
#include "storage/models.h"

namespace plantmon::services {

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out);

v1::SensorData ToProto(const storage::SensorReading& reading);
// Fills `out` in place (large pages of readings skip a copy per row).
void ToProto(const storage::SensorReading& reading, v1::SensorData* out);

// Enum values from requests: an unknown number is INVALID_ARGUMENT naming
// `field`; UNSPECIFIED yields nullopt (the caller decides what it means).
absl::Status UnknownEnumValue(absl::string_view field, int value);
template <typename Enum>
absl::StatusOr<std::optional<Enum>> EnumFromProto(int value, absl::string_view field) {
  if (value == 0) return std::nullopt;
  if (google::protobuf::GetEnumDescriptor<Enum>()->FindValueByNumber(value) == nullptr) {
    return UnknownEnumValue(field, value);
  }
  return static_cast<Enum>(value);
}
inline absl::StatusOr<std::optional<v1::DeviceKind>> DeviceKindFromProto(int value,
                                                                         absl::string_view field) {
  return EnumFromProto<v1::DeviceKind>(value, field);
}
inline absl::StatusOr<std::optional<v1::AlertSeverity>> AlertSeverityFromProto(
    int value, absl::string_view field) {
  return EnumFromProto<v1::AlertSeverity>(value, field);
}
inline absl::StatusOr<std::optional<v1::AlertStatus>> AlertStatusFromProto(
    int value, absl::string_view field) {
  return EnumFromProto<v1::AlertStatus>(value, field);
}

// A proto3 optional field as std::optional.
template <typename T>
std::optional<T> OptionalField(bool present, const T& value) {
  if (!present) return std::nullopt;
  return value;
}

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_PROTO_MAPPING_H_
