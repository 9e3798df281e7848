#include "storage/models.h"

namespace plantmon::storage {

const char* DeviceKindName(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kSensor:
      return "sensor";
    case DeviceKind::kActuator:
      return "actuator";
    case DeviceKind::kCombined:
      return "combined";
  }
  return "sensor";
}

std::optional<DeviceKind> DeviceKindFromName(const std::string& name) {
  if (name == "sensor") return DeviceKind::kSensor;
  if (name == "actuator") return DeviceKind::kActuator;
  if (name == "combined") return DeviceKind::kCombined;
  return std::nullopt;
}

}  // namespace plantmon::storage
