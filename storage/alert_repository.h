#ifndef PLANTMON_STORAGE_ALERT_REPOSITORY_H_
#define PLANTMON_STORAGE_ALERT_REPOSITORY_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/field_mask.pb.h"
#include "plantmon/v1/alert.pb.h"
#include "postgres/connection_pool_fwd.h"
#include "postgres/message_table.h"
#include "storage/models.h"

namespace plantmon::storage {

struct AlertRuleFilter {
  std::optional<int64_t> plant_id;
  std::optional<bool> is_active;
};

struct AlertFilter {
  std::optional<int64_t> plant_id;
  // Any of these; empty: any status.
  std::vector<v1::AlertStatus> statuses;
  std::optional<v1::AlertSeverity> severity;
  std::optional<absl::Time> triggered_after;   // inclusive
  std::optional<absl::Time> triggered_before;  // exclusive
  // Only ACTIVE and ACKNOWLEDGED alerts.
  bool open_only = false;
};

// An alert as one change left it (table alert_events, migration 0017).
struct AlertEvent {
  int64_t event_id = 0;
  v1::Alert alert;
};

// The `alert_rules` and `alerts` tables, scoped to an owner. The alert
// lifecycle (ACTIVE -> ACKNOWLEDGED -> RESOLVED) is enforced here, in the
// UPDATE's WHERE clause, so concurrent calls cannot skip a state.
class AlertRepository {
 public:
  explicit AlertRepository(postgres::ConnectionPool& pool) : pool_(pool) {}

  // Rows are API messages (column tables in alert_repository.cc). A rule's
  // rule_type, parameter_name and condition_operator are validated names
  // (alerting/rules.h). NOT_FOUND when the plant is missing or not the owner's;
  // FAILED_PRECONDITION for a deviation rule the species has no optimum for.
  absl::StatusOr<v1::AlertRule> CreateRule(int64_t owner_id, const v1::AlertRule& rule);
  // The rule `id` of `owner_id`, described for the pipelined reader.
  static postgres::MessageRead GetRuleRead(int64_t owner_id, int64_t id);
  // A page of the owner's rules, described for the pipelined reader.
  static postgres::MessageListRead ListRulesRead(int64_t owner_id, const AlertRuleFilter& filter,
                                                 const PageRequest& page);
  // Sets the fields `mask` names (writable ones, checked by the caller).
  absl::StatusOr<v1::AlertRule> UpdateRule(int64_t owner_id, int64_t id,
                                           const v1::AlertRule& values,
                                           const google::protobuf::FieldMask& mask);
  absl::Status DeleteRule(int64_t owner_id, int64_t id);
  static const std::vector<std::string>& UpdatableRuleFields();

  // Records an alert for `rule_id` (owner, plant and severity from the rule).
  absl::StatusOr<v1::Alert> CreateAlert(int64_t owner_id, int64_t rule_id,
                                        const std::string& message,
                                        std::optional<double> triggered_value,
                                        absl::Time triggered_at);
  // The alert `id` of `owner_id`, described for the pipelined reader.
  static postgres::MessageRead GetAlertRead(int64_t owner_id, int64_t id);
  // Newest first (by id).
  absl::StatusOr<std::vector<v1::Alert>> ListAlerts(int64_t owner_id, const AlertFilter& filter,
                                                    const PageRequest& page);
  // ACTIVE -> ACKNOWLEDGED; FAILED_PRECONDITION from any other state.
  absl::StatusOr<v1::Alert> Acknowledge(int64_t owner_id, int64_t id);
  // ACTIVE or ACKNOWLEDGED -> RESOLVED; FAILED_PRECONDITION when resolved.
  absl::StatusOr<v1::Alert> Resolve(int64_t owner_id, int64_t id);
  // Acknowledges every ACTIVE alert of the owner, or of one of its plants
  // (NOT_FOUND for a plant that is not the owner's). Returns the count.
  // ACTIVE or ACKNOWLEDGED -> RESOLVED for all of the owner's alerts, or one
  // plant's (NOT_FOUND when it is not the owner's); how many.
  absl::StatusOr<int64_t> ResolveAll(int64_t owner_id, std::optional<int64_t> plant_id);
  absl::StatusOr<int64_t> AcknowledgeAll(int64_t owner_id, std::optional<int64_t> plant_id);
  // OK when the plant is the owner's, NOT_FOUND otherwise.
  absl::Status CheckPlantOwned(int64_t owner_id, int64_t plant_id);

  // The owner's alert events after `after_event_id` (of one plant if given),
  // oldest first, at most `limit`. Events of one owner commit in id order
  // (migration 0017), so a reader that moves a cursor over them misses none.
  absl::StatusOr<std::vector<AlertEvent>> ListEvents(int64_t owner_id, int64_t after_event_id,
                                                     std::optional<int64_t> plant_id, int limit);
  // Where a watch that resumes after `after_event_id` starts reading; with
  // none given, after the owner's newest event (what happens from now on).
  // OUT_OF_RANGE when events after it may have been pruned, or when it is
  // beyond every event there has been.
  absl::StatusOr<int64_t> WatchCursor(int64_t owner_id, std::optional<int64_t> after_event_id);
  // Deletes events older than `retention`; how many.
  absl::StatusOr<int64_t> PruneEvents(absl::Duration retention);

 private:
  // A lifecycle step (alert_repository.cc): what it sets, and from where.
  struct Step;
  static const Step kAcknowledge;
  static const Step kResolve;

  // `step` on alert `id`: FAILED_PRECONDITION naming its status when the
  // step does not apply to it.
  absl::StatusOr<v1::Alert> Transition(int64_t owner_id, int64_t id, const Step& step);
  // `step` on every alert of the owner it applies to, or of one plant
  // (NOT_FOUND when it is not theirs); how many rows it changed.
  absl::StatusOr<int64_t> TransitionAll(int64_t owner_id, std::optional<int64_t> plant_id,
                                        const Step& step);

  postgres::ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_ALERT_REPOSITORY_H_
