#include "storage/models.h"

namespace plantmon::storage {

const char* AlertSeverityName(AlertSeverity severity) {
  switch (severity) {
    case AlertSeverity::kInfo:
      return "info";
    case AlertSeverity::kWarning:
      return "warning";
    case AlertSeverity::kCritical:
      return "critical";
  }
  return "warning";
}

std::optional<AlertSeverity> AlertSeverityFromName(const std::string& name) {
  if (name == "info") return AlertSeverity::kInfo;
  if (name == "warning") return AlertSeverity::kWarning;
  if (name == "critical") return AlertSeverity::kCritical;
  return std::nullopt;
}

const char* AlertStatusName(AlertStatus status) {
  switch (status) {
    case AlertStatus::kActive:
      return "active";
    case AlertStatus::kAcknowledged:
      return "acknowledged";
    case AlertStatus::kResolved:
      return "resolved";
  }
  return "active";
}

std::optional<AlertStatus> AlertStatusFromName(const std::string& name) {
  if (name == "active") return AlertStatus::kActive;
  if (name == "acknowledged") return AlertStatus::kAcknowledged;
  if (name == "resolved") return AlertStatus::kResolved;
  return std::nullopt;
}

}  // namespace plantmon::storage
