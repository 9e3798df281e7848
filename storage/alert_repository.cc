#include "storage/alert_repository.h"

#include "absl/strings/str_cat.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/row_reader.h"

namespace plantmon::storage {

using postgres::RunInTransaction;
using postgres::ViolatedConstraint;
namespace {

constexpr char kRuleColumns[] =
    "id, user_id, plant_id, rule_name, rule_type, parameter_name, condition_operator, "
    "threshold_value, threshold_high, severity::text, is_active, " PLANTMON_EPOCH_US(
        "created_at") ", " PLANTMON_EPOCH_US("updated_at");

constexpr char kAlertColumns[] =
    "id, user_id, plant_id, rule_id, severity::text, status::text, message, "
    "triggered_value, threshold_value, " PLANTMON_EPOCH_US("triggered_at") ", "
    PLANTMON_EPOCH_US("acknowledged_at") ", " PLANTMON_EPOCH_US("resolved_at")
    ", " PLANTMON_EPOCH_US("created_at") ", " PLANTMON_EPOCH_US("updated_at")
    ", occurrence_count, latest_value, worst_value, "
    PLANTMON_EPOCH_US("last_triggered_at");

AlertRule ReadRule(const pqxx::row& row) {
  RowReader reader(row);
  AlertRule rule;
  rule.id = reader.Next<int64_t>();
  rule.user_id = reader.Next<int64_t>();
  rule.plant_id = reader.Next<int64_t>();
  rule.rule_name = reader.Next<std::string>();
  rule.definition = ReadRuleDefinition(reader);
  rule.severity =
      AlertSeverityFromName(reader.Next<std::string>()).value_or(AlertSeverity::kWarning);
  rule.is_active = reader.Next<bool>();
  rule.created_at = reader.NextTime();
  rule.updated_at = reader.NextTime();
  return rule;
}

Alert ReadAlert(const pqxx::row& row) {
  RowReader reader(row);
  Alert alert;
  alert.id = reader.Next<int64_t>();
  alert.user_id = reader.Next<int64_t>();
  alert.plant_id = reader.Next<int64_t>();
  alert.rule_id = reader.Next<int64_t>();
  alert.severity =
      AlertSeverityFromName(reader.Next<std::string>()).value_or(AlertSeverity::kWarning);
  alert.status = AlertStatusFromName(reader.Next<std::string>()).value_or(AlertStatus::kActive);
  alert.message = reader.Next<std::string>();
  alert.triggered_value = reader.NextOptional<double>();
  alert.threshold_value = reader.NextOptional<double>();
  alert.triggered_at = reader.NextTime();
  alert.acknowledged_at = reader.NextOptionalTime();
  alert.resolved_at = reader.NextOptionalTime();
  alert.created_at = reader.NextTime();
  alert.updated_at = reader.NextTime();
  alert.occurrence_count = reader.Next<int64_t>();
  alert.latest_value = reader.NextOptional<double>();
  alert.worst_value = reader.NextOptional<double>();
  alert.last_triggered_at = reader.NextOptionalTime();
  return alert;
}

// Deviation rules need an optimum for their parameter on the plant's species
// (alerting::CheckFitsSpecies decides; this reads the species).
absl::Status CheckFitsSpecies(pqxx::work& transaction, int64_t plant_id,
                              const alerting::RuleDefinition& rule) {
  if (rule.type != alerting::RuleType::kDeviation) return absl::OkStatus();
  alerting::SpeciesOptima optima;
  pqxx::result rows = transaction.exec_params(
      "SELECT t.optimal_temperature, t.optimal_humidity, t.optimal_light "
      "FROM plants p JOIN plant_types t ON t.id = p.plant_type_id WHERE p.id = $1",
      plant_id);
  if (!rows.empty()) {
    RowReader reader(rows[0]);
    optima.temperature = reader.NextOptional<double>();
    optima.humidity = reader.NextOptional<double>();
    optima.light = reader.NextOptional<double>();
  }
  return alerting::CheckFitsSpecies(rule, optima);
}

// A broken range constraint, in the words of the request fields.
absl::Status ExplainRuleError(absl::Status status) {
  if (ViolatedConstraint(status) == "alert_rules_range_check") {
    return absl::InvalidArgumentError(
        "range rules need threshold_high at or above threshold_value");
  }
  return status;
}

template <typename T>
absl::StatusOr<T> ExplainedRule(absl::StatusOr<T> result) {
  if (!result.ok()) return ExplainRuleError(result.status());
  return result;
}

}  // namespace

absl::StatusOr<AlertRule> AlertRepository::CreateRule(int64_t owner_id, const AlertRule& rule) {
  return ExplainedRule<AlertRule>(
      RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<AlertRule> {
        if (!ExistsWith(transaction, kOwnedPlant, rule.plant_id, owner_id)) {
          return NotFound("plant", rule.plant_id);
        }
        if (absl::Status usable = CheckFitsSpecies(transaction, rule.plant_id, rule.definition);
            !usable.ok()) {
          return usable;
        }
        return ReadRule(transaction.exec_params1(
            std::string("INSERT INTO alert_rules (user_id, plant_id, rule_name, "
                        "rule_type, parameter_name, condition_operator, "
                        "threshold_value, severity, is_active, threshold_high) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, "
                        "$8::alert_severity_enum, $9, $10) RETURNING ") +
                kRuleColumns,
            owner_id, rule.plant_id, rule.rule_name,
            std::string(alerting::Name(rule.definition.type)),
            std::string(alerting::Name(rule.definition.parameter)),
            std::string(alerting::Name(rule.definition.op)), rule.definition.threshold_value,
            AlertSeverityName(rule.severity), rule.is_active, rule.definition.threshold_high));
      }));
}

absl::StatusOr<AlertRule> AlertRepository::GetRule(int64_t owner_id, int64_t id) {
  return QueryOne<AlertRule>(
      pool_, "alert rule", id, ReadRule,
      std::string("SELECT ") + kRuleColumns + " FROM alert_rules WHERE id = $1 AND user_id = $2",
      id, owner_id);
}

absl::StatusOr<std::vector<AlertRule>> AlertRepository::ListRules(int64_t owner_id,
                                                                  const AlertRuleFilter& filter,
                                                                  const PageRequest& page) {
  return QueryMany<AlertRule>(pool_, ReadRule,
                              std::string("SELECT ") + kRuleColumns +
                                  " FROM alert_rules WHERE user_id = $1 AND id > $2 "
                                  "AND ($3::integer IS NULL OR plant_id = $3) "
                                  "AND ($4::boolean IS NULL OR is_active = $4) "
                                  "ORDER BY id LIMIT $5",
                              owner_id, page.after_id, filter.plant_id, filter.is_active,
                              page.limit);
}

absl::StatusOr<AlertRule> AlertRepository::UpdateRule(int64_t owner_id, int64_t id,
                                                      const AlertRuleUpdate& update) {
  std::optional<std::string> severity;
  if (update.severity.has_value()) severity = AlertSeverityName(*update.severity);
  // Stored by name, as the columns' CHECK constraints spell them.
  auto name_of = [](const auto& field) -> std::optional<std::string> {
    if (!field.has_value()) return std::nullopt;
    return std::string(alerting::Name(*field));
  };
  return ExplainedRule<
      AlertRule>(RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<AlertRule> {
    pqxx::result rows = transaction.exec_params(
        std::string(
            "UPDATE alert_rules SET "
            "rule_name = CASE WHEN $3 THEN $4 ELSE rule_name END, "
            "rule_type = CASE WHEN $5 THEN $6 ELSE rule_type END, "
            "parameter_name = CASE WHEN $7 THEN $8 ELSE parameter_name END, "
            "condition_operator = CASE WHEN $9 THEN $10 ELSE condition_operator END, "
            "threshold_value = CASE WHEN $11 THEN $12::double precision ELSE threshold_value END, "
            "severity = CASE WHEN $13 THEN $14::alert_severity_enum ELSE severity END, "
            "is_active = CASE WHEN $15 THEN $16::boolean ELSE is_active END, "
            "threshold_high = CASE WHEN $17 THEN $18::double precision ELSE threshold_high END "
            "WHERE id = $1 AND user_id = $2 RETURNING ") +
            kRuleColumns,
        id, owner_id, IsSet(update.rule_name), ValueOf(update.rule_name), IsSet(update.rule_type),
        name_of(update.rule_type), IsSet(update.parameter_name), name_of(update.parameter_name),
        IsSet(update.condition_operator), name_of(update.condition_operator),
        IsSet(update.threshold_value), ValueOf(update.threshold_value), IsSet(update.severity),
        severity, IsSet(update.is_active), ValueOf(update.is_active), IsSet(update.threshold_high),
        ValueOf(update.threshold_high));
    if (rows.empty()) return NotFound("alert rule", id);
    AlertRule rule = ReadRule(rows[0]);
    if (absl::Status usable = CheckFitsSpecies(transaction, rule.plant_id, rule.definition);
        !usable.ok()) {
      return usable;  // rolls the update back
    }
    return rule;
  }));
}

absl::Status AlertRepository::DeleteRule(int64_t owner_id, int64_t id) {
  return UpdateOne(pool_, "alert rule", id,
                   "DELETE FROM alert_rules WHERE id = $1 AND user_id = $2", id, owner_id);
}

absl::StatusOr<Alert> AlertRepository::CreateAlert(int64_t owner_id, int64_t rule_id,
                                                   const std::string& message,
                                                   std::optional<double> triggered_value,
                                                   absl::Time triggered_at) {
  return QueryOne<Alert>(
      pool_, "alert rule", rule_id, ReadAlert,
      std::string("INSERT INTO alerts (user_id, plant_id, rule_id, severity, "
                  "message, triggered_value, threshold_value, triggered_at) "
                  "SELECT user_id, plant_id, id, severity, $3, $4, "
                  "threshold_value, epoch_us_to_timestamptz($5) FROM alert_rules "
                  "WHERE id = $1 AND user_id = $2 RETURNING ") +
          kAlertColumns,
      rule_id, owner_id, message, triggered_value, absl::ToUnixMicros(triggered_at));
}

absl::StatusOr<Alert> AlertRepository::GetAlert(int64_t owner_id, int64_t id) {
  return QueryOne<Alert>(
      pool_, "alert", id, ReadAlert,
      std::string("SELECT ") + kAlertColumns + " FROM alerts WHERE id = $1 AND user_id = $2", id,
      owner_id);
}

absl::StatusOr<std::vector<Alert>> AlertRepository::ListAlerts(int64_t owner_id,
                                                               const AlertFilter& filter,
                                                               const PageRequest& page) {
  std::optional<std::string> status;
  if (filter.status.has_value()) status = AlertStatusName(*filter.status);
  std::optional<std::string> severity;
  if (filter.severity.has_value()) severity = AlertSeverityName(*filter.severity);
  // Newest first: the keyset walks ids downwards; after_id 0 means "start".
  return QueryMany<Alert>(
      pool_, ReadAlert,
      std::string("SELECT ") + kAlertColumns +
          " FROM alerts WHERE user_id = $1 AND ($2 = 0 OR id < $2) "
          "AND ($3::integer IS NULL OR plant_id = $3) "
          "AND ($4::alert_status_enum IS NULL OR status = $4) "
          "AND ($5::alert_severity_enum IS NULL OR severity = $5) "
          "AND ($6::bigint IS NULL OR triggered_at >= epoch_us_to_timestamptz($6)) "
          "AND ($7::bigint IS NULL OR triggered_at < epoch_us_to_timestamptz($7)) "
          "AND (NOT $9 OR status IN ('active', 'acknowledged')) "
          "ORDER BY id DESC LIMIT $8",
      owner_id, page.after_id, filter.plant_id, status, severity,
      OptionalMicros(filter.triggered_after), OptionalMicros(filter.triggered_before), page.limit,
      filter.open_only);
}

absl::StatusOr<Alert> AlertRepository::Transition(int64_t owner_id, int64_t id,
                                                  const std::string& sql,
                                                  absl::string_view allowed_from) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<Alert> {
    pqxx::result updated = transaction.exec_params(sql, id, owner_id);
    if (!updated.empty()) return ReadAlert(updated[0]);
    pqxx::result current = transaction.exec_params(
        "SELECT status::text FROM alerts WHERE id = $1 AND user_id = $2", id, owner_id);
    if (current.empty()) return NotFound("alert", id);
    return absl::FailedPreconditionError(
        absl::StrCat("alert ", id, " is ", current[0][0].as<std::string>(), "; only ", allowed_from,
                     " alerts can make this change"));
  });
}

absl::StatusOr<Alert> AlertRepository::Acknowledge(int64_t owner_id, int64_t id) {
  return Transition(owner_id, id,
                    std::string("UPDATE alerts SET status = 'acknowledged', "
                                "acknowledged_at = now() WHERE id = $1 AND user_id = $2 "
                                "AND status = 'active' RETURNING ") +
                        kAlertColumns,
                    "active");
}

absl::StatusOr<Alert> AlertRepository::Resolve(int64_t owner_id, int64_t id) {
  return Transition(owner_id, id,
                    std::string("UPDATE alerts SET status = 'resolved', resolved_at = now() "
                                "WHERE id = $1 AND user_id = $2 AND status IN "
                                "('active', 'acknowledged') RETURNING ") +
                        kAlertColumns,
                    "active or acknowledged");
}

absl::StatusOr<int64_t> AlertRepository::AcknowledgeAll(int64_t owner_id,
                                                        std::optional<int64_t> plant_id) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<int64_t> {
    if (plant_id.has_value() && !ExistsWith(transaction, kOwnedPlant, *plant_id, owner_id)) {
      return NotFound("plant", *plant_id);
    }
    return static_cast<int64_t>(transaction
                                    .exec_params("UPDATE alerts SET status = 'acknowledged', "
                                                 "acknowledged_at = now() WHERE user_id = $1 "
                                                 "AND status = 'active' "
                                                 "AND ($2::integer IS NULL OR plant_id = $2)",
                                                 owner_id, plant_id)
                                    .affected_rows());
  });
}

absl::Status AlertRepository::CheckPlantOwned(int64_t owner_id, int64_t plant_id) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::Status {
    if (!ExistsWith(transaction, kOwnedPlant, plant_id, owner_id)) {
      return NotFound("plant", plant_id);
    }
    return absl::OkStatus();
  });
}

}  // namespace plantmon::storage
