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

v1::User ToProto(const storage::User& user);
v1::AlertRule ToProto(const storage::AlertRule& rule);
v1::Alert ToProto(const storage::Alert& alert);
v1::SensorData ToProto(const storage::SensorReading& reading);
// Fills `out` in place (large pages of readings skip a copy per row).
void ToProto(const storage::SensorReading& reading, v1::SensorData* out);

v1::AlertSeverity ToProto(storage::AlertSeverity severity);
v1::AlertStatus ToProto(storage::AlertStatus status);

// Enum values from requests: an unknown number is INVALID_ARGUMENT naming
// `field`; UNSPECIFIED yields nullopt (the caller decides what it means).
absl::StatusOr<std::optional<v1::DeviceKind>> DeviceKindFromProto(int value,
                                                                  absl::string_view field);
absl::StatusOr<std::optional<storage::AlertSeverity>> AlertSeverityFromProto(
    int value, absl::string_view field);
absl::StatusOr<std::optional<storage::AlertStatus>> AlertStatusFromProto(int value,
                                                                         absl::string_view field);

// A proto3 optional field as std::optional.
template <typename T>
std::optional<T> OptionalField(bool present, const T& value) {
  if (!present) return std::nullopt;
  return value;
}

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_PROTO_MAPPING_H_
