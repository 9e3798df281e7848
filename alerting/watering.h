#ifndef PLANTMON_ALERTING_WATERING_H_
#define PLANTMON_ALERTING_WATERING_H_

// Detecting a watering from a rise in soil moisture (docs/telemetry.md,
// "Watering"). A plant-care rule rather than an alert rule, but it lives
// beside them for the same reason: the decision in one place, with SQL only
// gathering the readings and recording what this decides.

#include <optional>
#include <vector>

#include "absl/time/time.h"

namespace plantmon::alerting {

struct MoistureReading {
  absl::Time timestamp;
  double value = 0;
};

struct WateringDetection {
  // Points of soil moisture a reading must be above the lowest one within
  // `window` before it.
  double jump = 0;
  // 0: the default, kDefaultDetectionWindow.
  absl::Duration window = absl::ZeroDuration();
};

inline constexpr absl::Duration kDefaultDetectionWindow = absl::Hours(1);

// The window `detection` means: its own, or the default for 0.
inline absl::Duration DetectionWindow(const WateringDetection& detection) {
  return detection.window > absl::ZeroDuration() ? detection.window : kDefaultDetectionWindow;
}

struct DetectedWatering {
  absl::Time at;  // the reading that completed the rise
  double from = 0;
  double to = 0;
};

// The waterings `readings` show (any order; sorted here): a reading at or
// after `from` whose value is at least `jump` above the lowest reading within
// the window before it, and a window or more after the previous watering
// (`last_watered`, or one detected earlier here). Readings before `from` only
// serve as the window's history. Linear in the readings.
std::vector<DetectedWatering> DetectWaterings(std::vector<MoistureReading> readings,
                                              const WateringDetection& detection, absl::Time from,
                                              std::optional<absl::Time> last_watered);

}  // namespace plantmon::alerting

#endif  // PLANTMON_ALERTING_WATERING_H_
