#ifndef PLANTMON_STORAGE_STORAGE_METRICS_H_
#define PLANTMON_STORAGE_STORAGE_METRICS_H_

// What storage adds to metrics::DefaultRegistry (docs/operations.md), counted
// once the transaction that made the change committed.

#include <cstdint>

namespace plantmon::storage {

// plantmon_alert_changes_total{change, by}: `change` is opened, acknowledged
// or resolved; `by` is readings (the alert engine at ingest), sweeper (rules
// over time) or user (AlertService calls).
void CountAlertChanges(const char* change, const char* by, int64_t count);

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_STORAGE_METRICS_H_
