#include "services/proto_mapping.h"

#include "absl/strings/str_cat.h"

namespace plantmon::services {
absl::Status UnknownEnumValue(absl::string_view field, int value) {
  return absl::InvalidArgumentError(absl::StrCat(field, " has unknown value ", value));
}

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  int64_t micros = absl::ToUnixMicros(time);
  int64_t seconds = micros / 1000000;
  int64_t remainder = micros % 1000000;
  if (remainder < 0) {
    remainder += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(remainder * 1000));
}

v1::SensorData ToProto(const storage::SensorReading& reading) {
  v1::SensorData out;
  ToProto(reading, &out);
  return out;
}

void ToProto(const storage::SensorReading& reading, v1::SensorData* out) {
  out->set_id(reading.id);
  out->set_device_id(reading.device_id);
  out->set_measurement_value(reading.measurement_value);
  if (reading.measurement_unit) out->set_measurement_unit(*reading.measurement_unit);
  out->set_data_quality(reading.data_quality);
  out->set_is_anomaly(reading.is_anomaly);
  SetTimestamp(reading.timestamp, out->mutable_timestamp());
  SetTimestamp(reading.received_at, out->mutable_received_at());
  if (reading.raw_data) out->set_raw_data(*reading.raw_data);
  out->set_parameter_name(reading.parameter_name);
}

}  // namespace plantmon::services
