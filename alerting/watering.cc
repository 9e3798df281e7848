#include "alerting/watering.h"

#include <algorithm>
#include <deque>

namespace plantmon::alerting {

std::vector<DetectedWatering> DetectWaterings(std::vector<MoistureReading> readings,
                                              const WateringDetection& detection, absl::Time from,
                                              std::optional<absl::Time> last_watered) {
  std::stable_sort(
      readings.begin(), readings.end(),
      [](const MoistureReading& a, const MoistureReading& b) { return a.timestamp < b.timestamp; });
  const absl::Duration window = DetectionWindow(detection);
  std::vector<DetectedWatering> detected;
  // The readings of the window before the current one, as candidates for
  // its lowest: values increase from front to back, so the front is the
  // lowest (a monotonic queue; each reading enters and leaves once).
  std::deque<const MoistureReading*> lowest;
  for (const MoistureReading& reading : readings) {
    while (!lowest.empty() && lowest.front()->timestamp < reading.timestamp - window) {
      lowest.pop_front();
    }
    if (reading.timestamp >= from && !lowest.empty() &&
        reading.value - lowest.front()->value >= detection.jump &&
        (!last_watered.has_value() || reading.timestamp - *last_watered >= window)) {
      detected.push_back({reading.timestamp, lowest.front()->value, reading.value});
      last_watered = reading.timestamp;
      // The rise is spent: what came before it no longer counts.
      lowest.clear();
    }
    while (!lowest.empty() && lowest.back()->value >= reading.value) lowest.pop_back();
    lowest.push_back(&reading);
  }
  return detected;
}

}  // namespace plantmon::alerting
