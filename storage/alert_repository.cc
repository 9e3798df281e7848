#include "storage/alert_repository.h"

#include "absl/strings/str_cat.h"
#include "alerting/rules.h"
#include "google/protobuf/util/time_util.h"
#include "postgres/message_table.h"
#include "postgres/pg_array.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/message_rows.h"
#include "storage/row_reader.h"
#include "storage/storage_metrics.h"
#include "storage/tables.h"

namespace plantmon::storage {

using postgres::RunInTransaction;
using postgres::ViolatedConstraint;
namespace {

// `alert_rules` and `alerts` (migrations 0001, 0003, 0006), as API messages.
const postgres::MessageTable& Rules() {
  static const auto* table =
      new postgres::MessageTable("alert_rules", v1::AlertRule::descriptor(),
                                 postgres::FieldColumns()
                                     .ReadOnly({"id", "user_id", "created_at", "updated_at"})
                                     .CreateOnly({"plant_id"})
                                     .Enum("severity", "alert_severity_enum"));
  return *table;
}

v1::Alert ReadAlert(const pqxx::row& row) { return Alerts().Read<v1::Alert>(row); }

// What the alerting package checks a stored rule by. The names were
// validated before they were stored (and the columns' CHECKs hold them).
alerting::RuleDefinition DefinitionOf(const v1::AlertRule& rule) {
  auto duration = [](const google::protobuf::Duration& value) {
    return absl::Microseconds(google::protobuf::util::TimeUtil::DurationToMicroseconds(value));
  };
  return StoredRuleDefinition(
      rule.rule_type(), rule.parameter_name(), rule.condition_operator(), rule.threshold_value(),
      rule.has_threshold_high() ? std::optional<double>(rule.threshold_high()) : std::nullopt,
      rule.hysteresis(), duration(rule.for_duration()), duration(rule.clear_duration()),
      duration(rule.interval()));
}

// A rule fits its plant: a pinned device is assigned to it (migration 0011),
// a deviation rule has an optimum for its parameter on the plant's species,
// and a watering_overdue rule without an interval a watering frequency
// (alerting::CheckFitsSpecies decides; this reads the species).
absl::Status CheckFitsPlant(pqxx::work& transaction, const v1::AlertRule& stored) {
  const int64_t plant_id = stored.plant_id();
  if (stored.has_device_id() &&
      transaction
          .exec_params("SELECT 1 FROM plant_device_assignments WHERE plant_id = $1 "
                       "AND device_id = $2",
                       plant_id, stored.device_id())
          .empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("alert_rule.device_id: device ", stored.device_id(),
                     " is not assigned to plant ", plant_id, " (AssignDevice first)"));
  }
  const alerting::RuleDefinition rule = DefinitionOf(stored);
  // The whole rule as it will be stored: an update that changes one field
  // must leave a rule that still makes sense (a deviation's threshold, a
  // clear band).
  if (absl::Status valid = alerting::CheckDefinition(rule); !valid.ok()) return valid;
  if (rule.type != alerting::RuleType::kDeviation &&
      rule.type != alerting::RuleType::kWateringOverdue) {
    return absl::OkStatus();
  }
  alerting::SpeciesOptima optima;
  pqxx::result rows = transaction.exec_params(
      "SELECT t.optimal_temperature, t.optimal_humidity, t.optimal_light, "
      "t.water_frequency_days "
      "FROM plants p JOIN plant_types t ON t.id = p.plant_type_id WHERE p.id = $1",
      plant_id);
  if (!rows.empty()) {
    const pqxx::row row = rows[0];
    RowReader reader(row);
    optima = ReadSpeciesOptima(reader);
    optima.water_frequency_days = reader.NextOptional<int>();
  }
  return alerting::CheckFitsSpecies(rule, optima);
}

// A broken constraint, in the words of the request fields.
absl::Status ExplainRuleError(absl::Status status, const v1::AlertRule& rule) {
  const std::optional<std::string> constraint = ViolatedConstraint(status);
  if (constraint == "alert_rules_range_check") {
    return absl::InvalidArgumentError(
        "range rules need threshold_high at or above threshold_value");
  }
  if (constraint == "alert_rules_device_id_fkey") {
    return absl::FailedPreconditionError(absl::StrCat(
        "alert_rule.device_id: device ", rule.device_id(), " is not assigned to the plant"));
  }
  if (constraint == "alert_rules_parameter_name_fkey") {
    return absl::InvalidArgumentError(
        absl::StrCat("alert_rule.parameter_name: ", rule.parameter_name(),
                     " is not a catalogued measurement parameter "
                     "(DeviceService.ListMeasurementParameters)"));
  }
  return status;
}

template <typename T>
absl::StatusOr<T> ExplainedRule(absl::StatusOr<T> result, const v1::AlertRule& rule) {
  if (!result.ok()) return ExplainRuleError(result.status(), rule);
  return result;
}

}  // namespace

const std::vector<std::string>& AlertRepository::UpdatableRuleFields() {
  return Rules().updatable();
}

absl::StatusOr<v1::AlertRule> AlertRepository::CreateRule(int64_t owner_id,
                                                          const v1::AlertRule& rule) {
  return ExplainedRule(
      InsertMessage(pool_, Rules(), rule, {{"user_id", std::to_string(owner_id)}},
                    [&](pqxx::work& transaction) {
                      if (!ExistsWith(transaction, kOwnedPlant, rule.plant_id(), owner_id)) {
                        return NotFound("plant", rule.plant_id());
                      }
                      return CheckFitsPlant(transaction, rule);
                    }),
      rule);
}

postgres::MessageRead AlertRepository::GetRuleRead(int64_t owner_id, int64_t id) {
  return OwnedMessageRead(Rules(), "alert rule", owner_id, id);
}

postgres::MessageListRead AlertRepository::ListRulesRead(int64_t owner_id,
                                                         const AlertRuleFilter& filter,
                                                         const PageRequest& page) {
  return OwnedListRead(Rules(), owner_id, page,
                       "AND ($3::integer IS NULL OR plant_id = $3) "
                       "AND ($4::boolean IS NULL OR is_active = $4)",
                       filter.plant_id, filter.is_active);
}

absl::StatusOr<v1::AlertRule> AlertRepository::UpdateRule(int64_t owner_id, int64_t id,
                                                          const v1::AlertRule& values,
                                                          const google::protobuf::FieldMask& mask) {
  return ExplainedRule(UpdateMessage<v1::AlertRule>(
                           pool_, Rules(), "alert rule", id, "id = $1 AND user_id = $2",
                           {std::to_string(id), std::to_string(owner_id)}, values, mask, nullptr,
                           [](pqxx::work& transaction, const v1::AlertRule& rule) {
                             // What the rule's timers timed may have changed
                             // (migration 0018): they start again.
                             transaction.exec_params(
                                 "DELETE FROM alert_rule_timers WHERE rule_id = $1", rule.id());
                             // A rule that no longer fits its plant rolls the update back.
                             return CheckFitsPlant(transaction, rule);
                           }),
                       values);
}

absl::Status AlertRepository::DeleteRule(int64_t owner_id, int64_t id) {
  return UpdateOne(pool_, "alert rule", id,
                   "DELETE FROM alert_rules WHERE id = $1 AND user_id = $2", id, owner_id);
}

absl::StatusOr<v1::Alert> AlertRepository::CreateAlert(int64_t owner_id, int64_t rule_id,
                                                       const std::string& message,
                                                       std::optional<double> triggered_value,
                                                       absl::Time triggered_at) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<v1::Alert> {
    LockAlertEvents(transaction, {owner_id});
    pqxx::result rows = transaction.exec_params(
        "INSERT INTO alerts (user_id, plant_id, rule_id, severity, "
        "message, triggered_value, threshold_value, triggered_at) "
        "SELECT user_id, plant_id, id, severity, $3, $4, "
        "threshold_value, epoch_us_to_timestamptz($5) FROM alert_rules "
        "WHERE id = $1 AND user_id = $2 RETURNING " +
            Alerts().select_list(),
        rule_id, owner_id, message, triggered_value, absl::ToUnixMicros(triggered_at));
    if (rows.empty()) return NotFound("alert rule", rule_id);
    return ReadAlert(rows[0]);
  });
}

postgres::MessageRead AlertRepository::GetAlertRead(int64_t owner_id, int64_t id) {
  return OwnedMessageRead(Alerts(), "alert", owner_id, id);
}

absl::StatusOr<std::vector<v1::Alert>> AlertRepository::ListAlerts(int64_t owner_id,
                                                                   const AlertFilter& filter,
                                                                   const PageRequest& page) {
  std::vector<std::string> statuses;
  for (v1::AlertStatus status : filter.statuses) {
    statuses.push_back(
        postgres::DatabaseEnumName(v1::AlertStatus_descriptor()->FindValueByNumber(status)));
  }
  std::optional<std::string> severity;
  if (filter.severity.has_value()) {
    severity = postgres::DatabaseEnumName(
        v1::AlertSeverity_descriptor()->FindValueByNumber(*filter.severity));
  }
  // Newest first: the keyset walks ids downwards; after_id 0 means "start".
  return ReadMany<v1::Alert>(
      pool_, ReadAlert,
      "SELECT " + Alerts().select_list() +
          " FROM alerts WHERE user_id = $1 AND ($2 = 0 OR id < $2) "
          "AND ($3::integer IS NULL OR plant_id = $3) "
          "AND (cardinality($4::alert_status_enum[]) = 0 OR status = ANY($4)) "
          "AND ($5::alert_severity_enum IS NULL OR severity = $5) "
          "AND ($6::bigint IS NULL OR triggered_at >= epoch_us_to_timestamptz($6)) "
          "AND ($7::bigint IS NULL OR triggered_at < epoch_us_to_timestamptz($7)) "
          "AND (NOT $9 OR status IN ('active', 'acknowledged')) "
          "ORDER BY id DESC LIMIT $8",
      owner_id, page.after_id, filter.plant_id, postgres::PgTextArray(statuses), severity,
      OptionalMicros(filter.triggered_after), OptionalMicros(filter.triggered_before), page.limit,
      filter.open_only);
}

// ACTIVE -> ACKNOWLEDGED -> RESOLVED (docs/api.md): each step's SET clause,
// the statuses it applies to, and those in words for its refusal.
struct AlertRepository::Step {
  const char* set;
  const char* from;
  const char* from_in_words;
  const char* change;  // for plantmon_alert_changes_total
};
const AlertRepository::Step AlertRepository::kAcknowledge = {
    "status = 'acknowledged', acknowledged_at = now()", "('active')", "active", "acknowledged"};
const AlertRepository::Step AlertRepository::kResolve = {"status = 'resolved', resolved_at = now()",
                                                         "('active', 'acknowledged')",
                                                         "active or acknowledged", "resolved"};

absl::StatusOr<v1::Alert> AlertRepository::Transition(int64_t owner_id, int64_t id,
                                                      const Step& step) {
  absl::StatusOr<v1::Alert> changed =
      RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<v1::Alert> {
        LockAlertEvents(transaction, {owner_id});
        pqxx::result updated =
            transaction.exec_params(absl::StrCat("UPDATE alerts SET ", step.set,
                                                 " WHERE id = $1 AND user_id = $2 AND status IN ",
                                                 step.from, " RETURNING ", Alerts().select_list()),
                                    id, owner_id);
        if (!updated.empty()) return ReadAlert(updated[0]);
        pqxx::result current = transaction.exec_params(
            "SELECT status::text FROM alerts WHERE id = $1 AND user_id = $2", id, owner_id);
        if (current.empty()) return NotFound("alert", id);
        return absl::FailedPreconditionError(
            absl::StrCat("alert ", id, " is ", current[0][0].as<std::string>(), "; only ",
                         step.from_in_words, " alerts can make this change"));
      });
  if (changed.ok()) CountAlertChanges(step.change, "user", 1);
  return changed;
}

absl::StatusOr<v1::Alert> AlertRepository::Acknowledge(int64_t owner_id, int64_t id) {
  return Transition(owner_id, id, kAcknowledge);
}

absl::StatusOr<v1::Alert> AlertRepository::Resolve(int64_t owner_id, int64_t id) {
  return Transition(owner_id, id, kResolve);
}

absl::StatusOr<int64_t> AlertRepository::AcknowledgeAll(int64_t owner_id,
                                                        std::optional<int64_t> plant_id) {
  return TransitionAll(owner_id, plant_id, kAcknowledge);
}

absl::StatusOr<int64_t> AlertRepository::ResolveAll(int64_t owner_id,
                                                    std::optional<int64_t> plant_id) {
  return TransitionAll(owner_id, plant_id, kResolve);
}

absl::StatusOr<int64_t> AlertRepository::TransitionAll(int64_t owner_id,
                                                       std::optional<int64_t> plant_id,
                                                       const Step& step) {
  absl::StatusOr<int64_t> changed =
      RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<int64_t> {
        if (plant_id.has_value() && !ExistsWith(transaction, kOwnedPlant, *plant_id, owner_id)) {
          return NotFound("plant", *plant_id);
        }
        LockAlertEvents(transaction, {owner_id});
        return static_cast<int64_t>(
            transaction
                .exec_params(absl::StrCat("UPDATE alerts SET ", step.set,
                                          " WHERE user_id = $1 AND status IN ", step.from,
                                          " AND ($2::integer IS NULL OR plant_id = $2)"),
                             owner_id, plant_id)
                .affected_rows());
      });
  if (changed.ok()) CountAlertChanges(step.change, "user", *changed);
  return changed;
}

absl::Status AlertRepository::CheckPlantOwned(int64_t owner_id, int64_t plant_id) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::Status {
    if (!ExistsWith(transaction, kOwnedPlant, plant_id, owner_id)) {
      return NotFound("plant", plant_id);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<AlertEvent>> AlertRepository::ListEvents(int64_t owner_id,
                                                                    int64_t after_event_id,
                                                                    std::optional<int64_t> plant_id,
                                                                    int limit) {
  // The event holds an alerts row (migration 0017), which the alerts column
  // table reads as usual.
  return ReadMany<AlertEvent>(
      pool_,
      [](const pqxx::row& row) {
        return AlertEvent{row[static_cast<int>(Alerts().column_count())].as<int64_t>(),
                          ReadAlert(row)};
      },
      "SELECT " + Alerts().SelectList("(e.alert)") +
          ", e.id FROM alert_events e "
          "WHERE e.user_id = $1 AND e.id > $2 AND ($3::integer IS NULL OR e.plant_id = $3) "
          "ORDER BY e.id LIMIT $4",
      owner_id, after_event_id, plant_id, limit);
}

absl::StatusOr<int64_t> AlertRepository::WatchCursor(int64_t owner_id,
                                                     std::optional<int64_t> after_event_id) {
  return postgres::RunReadOnly(
      pool_, [&](pqxx::transaction_base& transaction) -> absl::StatusOr<int64_t> {
        const pqxx::row row = postgres::ExecPrepared(
            transaction,
            "SELECT (SELECT coalesce(max(id), 0) FROM alert_events WHERE user_id = $1), "
            "(SELECT coalesce(max(id), 0) FROM alert_events), "
            "(SELECT pruned_before FROM alert_event_horizon)",
            owner_id)[0];
        const auto owners_newest = row[0].as<int64_t>();
        if (!after_event_id.has_value()) return owners_newest;
        const auto pruned_before = row[2].as<int64_t>();
        const int64_t newest = std::max(row[1].as<int64_t>(), pruned_before - 1);
        if (*after_event_id > newest) {
          return absl::OutOfRangeError(absl::StrCat(
              "resume_after_event_id ", *after_event_id, " is beyond the newest alert event (",
              newest, "); watch without it, and list what you need with ListAlerts"));
        }
        if (*after_event_id + 1 < pruned_before) {
          return absl::OutOfRangeError(absl::StrCat(
              "alert events before ", pruned_before,
              " are no longer kept, so what came after resume_after_event_id ", *after_event_id,
              " cannot all be replayed; list the alerts with ListAlerts and watch without it"));
        }
        return *after_event_id;
      });
}

absl::StatusOr<int64_t> AlertRepository::PruneEvents(absl::Duration retention) {
  // In slices, so that pruning a long backlog never holds one huge
  // transaction; the horizon moves in the same transaction as each slice.
  constexpr int kSlice = 10000;
  int64_t pruned = 0;
  for (;;) {
    absl::StatusOr<int64_t> slice =
        RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<int64_t> {
          const pqxx::row row = postgres::ExecPrepared(
              transaction,
              "WITH gone AS (DELETE FROM alert_events WHERE id IN (SELECT id FROM alert_events "
              "WHERE occurred_at < now() - make_interval(secs => $1) LIMIT $2) RETURNING id), "
              "moved AS (UPDATE alert_event_horizon SET pruned_before = "
              "greatest(pruned_before, (SELECT max(id) + 1 FROM gone)) "
              "WHERE EXISTS (SELECT 1 FROM gone)) "
              "SELECT count(*) FROM gone",
              absl::ToDoubleSeconds(retention), kSlice)[0];
          return row[0].as<int64_t>();
        });
    if (!slice.ok()) return slice.status();
    pruned += *slice;
    if (*slice < kSlice) return pruned;
  }
}

}  // namespace plantmon::storage
