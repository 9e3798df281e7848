#include "services/proto_mapping.h"

#include "absl/strings/str_cat.h"
#include "common/enum_table.h"

namespace plantmon::services {
namespace {

absl::Status UnknownEnum(absl::string_view field, int value) {
  return absl::InvalidArgumentError(absl::StrCat(field, " has unknown value ", value));
}

constexpr common::EnumTable<storage::AlertSeverity, v1::AlertSeverity, 3> kSeverities({{
    {storage::AlertSeverity::kInfo, v1::ALERT_SEVERITY_INFO},
    {storage::AlertSeverity::kWarning, v1::ALERT_SEVERITY_WARNING},
    {storage::AlertSeverity::kCritical, v1::ALERT_SEVERITY_CRITICAL},
}});

constexpr common::EnumTable<storage::AlertStatus, v1::AlertStatus, 3> kStatuses({{
    {storage::AlertStatus::kActive, v1::ALERT_STATUS_ACTIVE},
    {storage::AlertStatus::kAcknowledged, v1::ALERT_STATUS_ACKNOWLEDGED},
    {storage::AlertStatus::kResolved, v1::ALERT_STATUS_RESOLVED},
}});

// A request's enum value: UNSPECIFIED (0) is nullopt, a value the table does
// not know is INVALID_ARGUMENT naming `field`.
template <typename Table>
auto FromProto(const Table& table, int value, absl::string_view field)
    -> absl::StatusOr<decltype(table.Backward(value))> {
  if (value == 0) return decltype(table.Backward(value))();
  auto found = table.Backward(value);
  if (!found.has_value()) return UnknownEnum(field, value);
  return found;
}

}  // namespace

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

v1::User ToProto(const storage::User& user) {
  v1::User out;
  out.set_id(user.id);
  out.set_email(user.email);
  out.set_username(user.username);
  if (user.first_name) out.set_first_name(*user.first_name);
  if (user.last_name) out.set_last_name(*user.last_name);
  if (user.phone_number) out.set_phone_number(*user.phone_number);
  out.set_is_active(user.is_active);
  out.set_is_verified(user.is_verified);
  SetTimestamp(user.created_at, out.mutable_created_at());
  SetTimestamp(user.updated_at, out.mutable_updated_at());
  if (user.last_login) SetTimestamp(*user.last_login, out.mutable_last_login());
  out.set_is_admin(user.is_admin);
  return out;
}

v1::AlertRule ToProto(const storage::AlertRule& rule) {
  v1::AlertRule out;
  out.set_id(rule.id);
  out.set_user_id(rule.user_id);
  out.set_plant_id(rule.plant_id);
  out.set_rule_name(rule.rule_name);
  out.set_rule_type(std::string(alerting::Name(rule.definition.type)));
  out.set_parameter_name(std::string(alerting::Name(rule.definition.parameter)));
  out.set_condition_operator(std::string(alerting::Name(rule.definition.op)));
  out.set_threshold_value(rule.definition.threshold_value);
  out.set_severity(ToProto(rule.severity));
  out.set_is_active(rule.is_active);
  SetTimestamp(rule.created_at, out.mutable_created_at());
  SetTimestamp(rule.updated_at, out.mutable_updated_at());
  if (rule.definition.threshold_high) out.set_threshold_high(*rule.definition.threshold_high);
  return out;
}

v1::Alert ToProto(const storage::Alert& alert) {
  v1::Alert out;
  out.set_id(alert.id);
  out.set_user_id(alert.user_id);
  out.set_plant_id(alert.plant_id);
  out.set_rule_id(alert.rule_id);
  out.set_severity(ToProto(alert.severity));
  out.set_status(ToProto(alert.status));
  out.set_message(alert.message);
  if (alert.triggered_value) out.set_triggered_value(*alert.triggered_value);
  if (alert.threshold_value) out.set_threshold_value(*alert.threshold_value);
  SetTimestamp(alert.triggered_at, out.mutable_triggered_at());
  if (alert.acknowledged_at) {
    SetTimestamp(*alert.acknowledged_at, out.mutable_acknowledged_at());
  }
  if (alert.resolved_at) {
    SetTimestamp(*alert.resolved_at, out.mutable_resolved_at());
  }
  SetTimestamp(alert.created_at, out.mutable_created_at());
  SetTimestamp(alert.updated_at, out.mutable_updated_at());
  out.set_occurrence_count(alert.occurrence_count);
  if (alert.latest_value) out.set_latest_value(*alert.latest_value);
  if (alert.worst_value) out.set_worst_value(*alert.worst_value);
  if (alert.last_triggered_at) {
    SetTimestamp(*alert.last_triggered_at, out.mutable_last_triggered_at());
  }
  return out;
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
}

v1::AlertSeverity ToProto(storage::AlertSeverity severity) {
  return kSeverities.Forward(severity).value_or(v1::ALERT_SEVERITY_UNSPECIFIED);
}

v1::AlertStatus ToProto(storage::AlertStatus status) {
  return kStatuses.Forward(status).value_or(v1::ALERT_STATUS_UNSPECIFIED);
}

absl::StatusOr<std::optional<v1::DeviceKind>> DeviceKindFromProto(int value,
                                                                  absl::string_view field) {
  if (value == v1::DEVICE_KIND_UNSPECIFIED) return std::nullopt;
  if (!v1::DeviceKind_IsValid(value)) return UnknownEnum(field, value);
  return static_cast<v1::DeviceKind>(value);
}

absl::StatusOr<std::optional<storage::AlertSeverity>> AlertSeverityFromProto(
    int value, absl::string_view field) {
  return FromProto(kSeverities, value, field);
}

absl::StatusOr<std::optional<storage::AlertStatus>> AlertStatusFromProto(int value,
                                                                         absl::string_view field) {
  return FromProto(kStatuses, value, field);
}

}  // namespace plantmon::services
