#ifndef PLANTMON_STORAGE_MODELS_H_
#define PLANTMON_STORAGE_MODELS_H_

// Plain rows of the tables (docs/data-model.md), as the repositories read and write them.
// Nullable columns are std::optional; timestamps are absl::Time in UTC.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "alerting/rules.h"

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

// alert_severity_enum and alert_status_enum, stored lowercase.
enum class AlertSeverity { kInfo, kWarning, kCritical };
enum class AlertStatus { kActive, kAcknowledged, kResolved };

struct AlertRule {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t plant_id = 0;
  std::string rule_name;
  // rule_type, parameter_name, condition_operator, threshold_value and
  // threshold_high: what the alerting package evaluates.
  alerting::RuleDefinition definition;
  AlertSeverity severity = AlertSeverity::kWarning;
  bool is_active = true;
  absl::Time created_at;
  absl::Time updated_at;
};

struct AlertRuleUpdate {
  FieldUpdate<std::string> rule_name;
  FieldUpdate<alerting::RuleType> rule_type;
  FieldUpdate<alerting::Parameter> parameter_name;
  FieldUpdate<alerting::Operator> condition_operator;
  FieldUpdate<double> threshold_value;
  FieldUpdate<AlertSeverity> severity;
  FieldUpdate<bool> is_active;
  FieldUpdate<std::optional<double>> threshold_high;
};

struct Alert {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t plant_id = 0;
  int64_t rule_id = 0;
  AlertSeverity severity = AlertSeverity::kWarning;
  AlertStatus status = AlertStatus::kActive;
  std::string message;
  std::optional<double> triggered_value;
  std::optional<double> threshold_value;
  absl::Time triggered_at;
  std::optional<absl::Time> acknowledged_at;
  std::optional<absl::Time> resolved_at;
  absl::Time created_at;
  absl::Time updated_at;
  int64_t occurrence_count = 1;
  std::optional<double> latest_value;
  std::optional<double> worst_value;
  std::optional<absl::Time> last_triggered_at;
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

const char* AlertSeverityName(AlertSeverity severity);
std::optional<AlertSeverity> AlertSeverityFromName(const std::string& name);
const char* AlertStatusName(AlertStatus status);
std::optional<AlertStatus> AlertStatusFromName(const std::string& name);

// Optional time as optional epoch microseconds, the form statements take.
inline std::optional<int64_t> OptionalMicros(const std::optional<absl::Time>& time) {
  if (!time.has_value()) return std::nullopt;
  return absl::ToUnixMicros(*time);
}

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_MODELS_H_
