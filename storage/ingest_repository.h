#ifndef PLANTMON_STORAGE_INGEST_REPOSITORY_H_
#define PLANTMON_STORAGE_INGEST_REPOSITORY_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "postgres/connection_pool_fwd.h"
#include "storage/models.h"

namespace plantmon::storage {

// A reading that passed request validation, naming its device either way.
struct IncomingReading {
  int64_t index = 0;  // position reported back when it is rejected
  std::optional<int64_t> device_id;
  std::optional<std::string> unique_identifier;
  double measurement_value = 0;
  std::optional<std::string> measurement_unit;
  int32_t data_quality = 100;
  std::optional<bool> is_anomaly;
  absl::Time timestamp;
  std::optional<std::string> raw_data;
  // Unset: the device type's primary measurement (docs/telemetry.md).
  std::optional<std::string> parameter_name;
};

struct RejectedReading {
  int64_t index = 0;
  std::string reason;
};

// A message of the at-least-once source a gateway relays (an MQTT broker),
// covering the batch's readings with index in [first_index, first_index +
// reading_count) (docs/telemetry.md, "Source messages").
struct SourceMessage {
  int64_t id = 0;
  std::string digest;
  bool redelivered = false;
  int64_t first_index = 0;
  int64_t reading_count = 0;
};

// Identifies a gateway batch for idempotent replays.
struct BatchKey {
  std::string gateway_id;
  int64_t sequence = 0;
  // SHA-256 of the batch's readings as sent: a replay must match it.
  std::string digest;
  // Ids unique within the batch. A redelivered message whose receipt the
  // gateway committed before is not stored again; every message's receipt
  // is recorded (replacing the id's older one) with the batch.
  std::vector<SourceMessage> source_messages;
};

struct IngestResult {
  int64_t accepted = 0;
  int64_t duplicate = 0;
  int64_t rejected = 0;
  std::vector<RejectedReading> rejections;
  bool replayed = false;
  // Alerts the batch opened, and alerts it resolved (opened before or in it).
  int64_t alerts_opened = 0;
  int64_t alerts_resolved = 0;
};

// A gateway batch to store: its readings that passed validation, those
// validation refused (counted and reported), and its key, when it has one.
struct BatchToStore {
  std::vector<IncomingReading> readings;
  std::vector<RejectedReading> rejected;
  std::optional<BatchKey> key;
};

// Readings below this quality are flagged as anomalies (the client's `true`
// is always kept; values outside the device type's range are flagged too).
inline constexpr int32_t kLowQualityThreshold = 50;

// Stores gateway batches: one transaction per batch (or per run of batches,
// IngestBatches) that resolves the devices, stores the accepted readings with COPY, moves each
// device's last_data_received forward, runs the alert engine over the readings, and records the
// batch's idempotency key. Nothing of a batch is visible, or acknowledged, before all of it
// commits.
class IngestRepository {
 public:
  explicit IngestRepository(postgres::ConnectionPool& pool) : pool_(pool) {}

  // `batch.rejected` are readings validation already refused; they are
  // counted. With `batch.key`, a batch already committed is not stored
  // again: the result says `replayed` and counts its readings as duplicates.
  // `abandoned` is asked just before the commit: when it says the client has
  // gone, the batch is rolled back (CANCELLED) rather than stored unacknowledged.
  absl::StatusOr<IngestResult> Ingest(int64_t owner_id, BatchToStore batch,
                                      const std::function<bool()>& abandoned = nullptr);

  // Consecutive batches of one stream, each with Ingest's meaning and
  // result, in order. Batches that follow one another in time (every reading
  // of one later than every reading before it) share one transaction: one
  // COPY, one pass of the rollup triggers and of the alert engine, one commit
  // (docs/telemetry.md, "Batches stored together"). When such a transaction
  // fails, its batches are stored one at a time. The results stop at the
  // first batch that failed, with its status: the batches after it are not
  // stored.
  std::vector<absl::StatusOr<IngestResult>> IngestBatches(
      int64_t owner_id, const std::vector<BatchToStore>& batches,
      const std::function<bool()>& abandoned = nullptr);

  // Runs the alert engine over the owner's readings received at
  // `received_at` (a loading transaction's time), in reading order, as if
  // they had just been ingested: for readings loaded in bulk by SQL (the
  // demo data), so that their alerts are the engine's. How many readings.
  absl::StatusOr<int64_t> EvaluateLoadedReadings(int64_t owner_id, absl::Time received_at);

  // One reading, returning the stored row (RecordReading).
  absl::StatusOr<SensorReading> IngestOne(int64_t owner_id, const IncomingReading& reading);

  // Deletes idempotency keys and source-message receipts older than
  // `retention`.
  absl::StatusOr<int64_t> PurgeBatchKeys(absl::Duration retention);

 private:
  postgres::ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_INGEST_REPOSITORY_H_
