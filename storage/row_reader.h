#ifndef PLANTMON_STORAGE_ROW_READER_H_
#define PLANTMON_STORAGE_ROW_READER_H_

// Helpers shared by the repositories for reading rows and binding updates.

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "alerting/rules.h"
#include "postgres/field_text.h"
#include "postgres/pg_array.h"
#include "postgres/transaction.h"
#include "storage/models.h"

namespace plantmon::storage {

// SQL expression for a timestamptz column as integer microseconds since the
// epoch: exact, and free of time-zone and text-format questions.
#define PLANTMON_EPOCH_US(column) "(extract(epoch FROM " column ") * 1000000)::bigint"

// Reads the columns of a row in order.
class RowReader {
 public:
  explicit RowReader(const pqxx::row& row) : row_(row) {}
  // The reader keeps a reference: a temporary row (result[i] returns one by
  // value) would dangle.
  explicit RowReader(const pqxx::row&& row) = delete;

  template <typename T>
  T Next() {
    return postgres::FieldAs<T>(row_[index_++]);
  }
  template <typename T>
  std::optional<T> NextOptional() {
    const pqxx::field field = row_[index_++];
    if (field.is_null()) return std::nullopt;
    return postgres::FieldAs<T>(field);
  }
  absl::Time NextTime() { return absl::FromUnixMicros(Next<int64_t>()); }
  std::optional<absl::Time> NextOptionalTime() {
    std::optional<int64_t> micros = NextOptional<int64_t>();
    if (!micros.has_value()) return std::nullopt;
    return absl::FromUnixMicros(*micros);
  }

 private:
  const pqxx::row& row_;
  int index_ = 0;
};

// The next column, epoch microseconds or NULL, as a time.
inline std::optional<absl::Time> NextOptionalTime(RowReader& reader) {
  if (std::optional<int64_t> micros = reader.NextOptional<int64_t>()) {
    return absl::FromUnixMicros(*micros);
  }
  return std::nullopt;
}

// A stored rule's definition from its column values. The columns' CHECK
// constraints hold the same vocabularies as alerting/rules.h, so every stored
// name parses.
inline alerting::RuleDefinition StoredRuleDefinition(
    const std::string& rule_type, const std::string& parameter_name,
    const std::string& condition_operator, double threshold_value,
    std::optional<double> threshold_high, double hysteresis, absl::Duration for_duration,
    absl::Duration clear_duration, absl::Duration interval) {
  alerting::RuleDefinition rule;
  rule.type =
      alerting::ParseRuleType(rule_type, "rule_type").value_or(alerting::RuleType::kThreshold);
  rule.parameter = parameter_name;
  rule.op = alerting::ParseOperator(condition_operator, "condition_operator")
                .value_or(alerting::Operator::kGreater);
  rule.threshold_value = threshold_value;
  rule.threshold_high = threshold_high;
  rule.hysteresis = hysteresis;
  rule.for_duration = for_duration;
  rule.clear_duration = clear_duration;
  rule.interval = interval;
  return rule;
}

// Reads rule_type, parameter_name, condition_operator, threshold_value,
// threshold_high, hysteresis, and for_duration, clear_duration and interval
// in microseconds, in that order.
inline alerting::RuleDefinition ReadRuleDefinition(RowReader& reader) {
  auto type = reader.Next<std::string>();
  auto parameter = reader.Next<std::string>();
  auto op = reader.Next<std::string>();
  auto threshold = reader.Next<double>();
  auto high = reader.NextOptional<double>();
  auto hysteresis = reader.Next<double>();
  auto for_us = reader.Next<int64_t>();
  auto clear_us = reader.Next<int64_t>();
  auto interval_us = reader.Next<int64_t>();
  return StoredRuleDefinition(type, parameter, op, threshold, high, hysteresis,
                              absl::Microseconds(for_us), absl::Microseconds(clear_us),
                              absl::Microseconds(interval_us));
}

// Reads a species' optimal_temperature, optimal_humidity and optimal_light, in
// that order.
inline alerting::SpeciesOptima ReadSpeciesOptima(RowReader& reader) {
  alerting::SpeciesOptima optima;
  optima.temperature = reader.NextOptional<double>();
  optima.humidity = reader.NextOptional<double>();
  optima.light = reader.NextOptional<double>();
  return optima;
}

// Ownership probes shared by the repositories: $1 is the id, $2 the owner.
inline constexpr char kOwnedPlant[] = "SELECT 1 FROM plants WHERE id = $1 AND user_id = $2";
inline constexpr char kOwnedDevice[] = "SELECT 1 FROM devices WHERE id = $1 AND user_id = $2";

// True if `sql` (taking one id parameter) returns a row.
inline bool Exists(pqxx::transaction_base& transaction, const std::string& sql, int64_t id) {
  return !postgres::ExecPrepared(transaction, sql, id).empty();
}
template <typename... Args>
bool ExistsWith(pqxx::transaction_base& transaction, const std::string& sql, const Args&... args) {
  return !postgres::ExecPrepared(transaction, sql, args...).empty();
}

inline absl::Status NotFound(absl::string_view what, int64_t id) {
  return absl::NotFoundError(absl::StrCat(what, " ", id, " not found"));
}

// OK when `table` has the row `id`, else NOT_FOUND naming `what`: a
// reference checked before a write, so that it reads as a missing row.
inline absl::Status CheckRowExists(pqxx::transaction_base& transaction, absl::string_view table,
                                   absl::string_view what, int64_t id) {
  if (Exists(transaction, absl::StrCat("SELECT 1 FROM ", table, " WHERE id = $1"), id)) {
    return absl::OkStatus();
  }
  return NotFound(what, id);
}

// A watering to record (table watering_events, migration 0016).
struct WateringRow {
  int64_t owner_id = 0;
  int64_t plant_id = 0;
  absl::Time watered_at;
  std::optional<int32_t> amount_ml;
  std::optional<std::string> note;
  bool detected = false;  // from a rise in soil moisture (migration 0020)
};

// Records `watering` of a plant the caller has locked and moves the plant's
// last_watered forward to it, never back (a watering recorded late does not
// hide a newer one). Returns the new row as `returning` selects it.
inline pqxx::row InsertWatering(pqxx::transaction_base& transaction, const WateringRow& watering,
                                const std::string& returning) {
  const int64_t micros = absl::ToUnixMicros(watering.watered_at);
  pqxx::row row = transaction.exec_params1(
      "INSERT INTO watering_events (user_id, plant_id, watered_at, amount_ml, note, detected) "
      "VALUES ($1, $2, epoch_us_to_timestamptz($3), $4, $5, $6) RETURNING " +
          returning,
      watering.owner_id, watering.plant_id, micros, watering.amount_ml, watering.note,
      watering.detected);
  transaction.exec_params(
      "UPDATE plants SET last_watered = epoch_us_to_timestamptz($2) WHERE id = $1 "
      "AND (last_watered IS NULL OR last_watered < epoch_us_to_timestamptz($2))",
      watering.plant_id, micros);
  return row;
}

// Takes the alert-event locks of `user_ids` (migration 0017) for the rest of
// the transaction. Every writer of alerts calls it before its first change,
// so that the owners' events commit in id order without deadlocks.
inline void LockAlertEvents(pqxx::transaction_base& transaction,
                            const std::vector<int64_t>& user_ids) {
  postgres::ExecPrepared(transaction, "SELECT lock_alert_events($1::integer[])",
                         postgres::PgIntArray(user_ids));
}

// Runs a statement that returns at most one row and reads it with `read`;
// NOT_FOUND naming `what` and `id` when it returns none.
template <typename T, typename Read, typename... Args>
absl::StatusOr<T> ReadFirstRow(pqxx::transaction_base& transaction, absl::string_view what,
                               int64_t id, Read read, const std::string& sql, const Args&... args) {
  pqxx::result rows = postgres::ExecPrepared(transaction, sql, args...);
  if (rows.empty()) return NotFound(what, id);
  return read(rows[0]);
}

// ReadFirstRow in a transaction of its own, for a statement that writes.
template <typename T, typename Read, typename... Args>
absl::StatusOr<T> QueryOne(postgres::ConnectionPool& pool, absl::string_view what, int64_t id,
                           Read read, const std::string& sql, const Args&... args) {
  return postgres::RunInTransaction(pool, [&](pqxx::work& transaction) {
    return ReadFirstRow<T>(transaction, what, id, read, sql, args...);
  });
}

// The same for a SELECT: autocommit, no BEGIN or COMMIT (RunReadOnly).
template <typename T, typename Read, typename... Args>
absl::StatusOr<T> ReadOne(postgres::ConnectionPool& pool, absl::string_view what, int64_t id,
                          Read read, const std::string& sql, const Args&... args) {
  return postgres::RunReadOnly(pool, [&](pqxx::transaction_base& transaction) {
    return ReadFirstRow<T>(transaction, what, id, read, sql, args...);
  });
}

template <typename T, typename Read, typename... Args>
absl::StatusOr<std::vector<T>> ReadMany(postgres::ConnectionPool& pool, Read read,
                                        const std::string& sql, const Args&... args) {
  return postgres::RunReadOnly(
      pool, [&](pqxx::transaction_base& transaction) -> absl::StatusOr<std::vector<T>> {
        std::vector<T> values;
        for (const pqxx::row& row : postgres::ExecPrepared(transaction, sql, args...)) {
          values.push_back(read(row));
        }
        return values;
      });
}

// Runs a statement meant to touch the row `id` of `what` (parameters `args`):
// NOT_FOUND when it touched none.
template <typename... Args>
absl::Status UpdateOne(postgres::ConnectionPool& pool, absl::string_view what, int64_t id,
                       const std::string& sql, const Args&... args) {
  absl::StatusOr<int64_t> affected = postgres::ExecuteUpdate(pool, sql, args...);
  if (!affected.ok()) return affected.status();
  return *affected == 0 ? NotFound(what, id) : absl::OkStatus();
}

// UpdateOne for statements whose only parameter is the id.
inline absl::Status UpdateById(postgres::ConnectionPool& pool, absl::string_view what,
                               const std::string& sql, int64_t id) {
  return UpdateOne(pool, what, id, sql, id);
}

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_ROW_READER_H_
