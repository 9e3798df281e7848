#include "storage/models.h"

#include "absl/strings/string_view.h"
#include "common/enum_table.h"

namespace plantmon::storage {
namespace {

// As alert_severity_enum and alert_status_enum spell them
// (migrations/0001_initial_schema.sql).
constexpr common::EnumTable<AlertSeverity, absl::string_view, 3> kSeverityNames({{
    {AlertSeverity::kInfo, "info"},
    {AlertSeverity::kWarning, "warning"},
    {AlertSeverity::kCritical, "critical"},
}});

constexpr common::EnumTable<AlertStatus, absl::string_view, 3> kStatusNames({{
    {AlertStatus::kActive, "active"},
    {AlertStatus::kAcknowledged, "acknowledged"},
    {AlertStatus::kResolved, "resolved"},
}});

}  // namespace

const char* AlertSeverityName(AlertSeverity severity) {
  return kSeverityNames.Forward(severity).value_or("warning").data();
}

std::optional<AlertSeverity> AlertSeverityFromName(const std::string& name) {
  return kSeverityNames.Backward(name);
}

const char* AlertStatusName(AlertStatus status) {
  return kStatusNames.Forward(status).value_or("active").data();
}

std::optional<AlertStatus> AlertStatusFromName(const std::string& name) {
  return kStatusNames.Backward(name);
}

}  // namespace plantmon::storage
