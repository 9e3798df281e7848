#include "storage/storage_metrics.h"

#include "metrics/registry.h"

namespace plantmon::storage {

void CountAlertChanges(const char* change, const char* by, int64_t count) {
  static metrics::CounterFamily& changes = metrics::DefaultRegistry().Counter(
      "plantmon_alert_changes_total",
      "Alert changes committed by this process: opened, acknowledged or resolved, by readings "
      "(the alert engine at ingest), the sweeper (rules over time) or a user.",
      {"change", "by"});
  changes.Add({change, by}, static_cast<double>(count));
}

}  // namespace plantmon::storage
