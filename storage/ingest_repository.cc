#include "storage/ingest_repository.h"

#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "alerting/alert_engine.h"
#include "alerting/watering.h"
#include "metrics/registry.h"
#include "postgres/copy_format.h"
#include "postgres/pg_array.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/partition_keeper.h"
#include "storage/row_reader.h"
#include "storage/storage_metrics.h"

namespace plantmon::storage {

using alerting::AlertChange;
using alerting::EvaluatedReading;
using alerting::RuleToEvaluate;

using postgres::CopyTimestampText;
using postgres::ExecuteUpdate;
using postgres::PgIntArray;
using postgres::PgNullableFloatArray;
using postgres::PgNullableIntArray;
using postgres::PgTextArray;
using postgres::RunInTransaction;
namespace {

// The rejection reason for a device that is missing or someone else's.
constexpr char kDeviceNotFound[] = "device not found";

// What a device type measures (device_type_measurements, migration 0011),
// with the catalogue's unit and plausible range where the type gives none.
struct Measurement {
  std::optional<std::string> unit;
  std::optional<double> min_value;
  std::optional<double> max_value;
};

struct DeviceInfo {
  int64_t id = 0;
  int64_t type_id = 0;
  // What a reading without a parameter means: the type's primary
  // measurement.
  std::optional<std::string> primary;
  // For a type that declares no measurements (made before migration 0011, or
  // by a client that never declared any): the device's assignment role,
  // which is what its readings meant before parameters existed.
  std::optional<std::string> role;
  // For a type that declares none: the seed's unit and range, which then
  // describe the role's quantity.
  Measurement undeclared;
  std::map<std::string, Measurement> measurements;
};

struct ResolvedDevices {
  absl::flat_hash_map<int64_t, DeviceInfo> by_id;
  absl::flat_hash_map<std::string, int64_t> id_by_identifier;
};

// The owner's devices among those the readings (of one batch or of several)
// name, one row per declared measurement. Not locked: the COPY's foreign-key checks lock them
// anyway, and a device deleted in between makes the batch fail as a whole (FAILED_PRECONDITION,
// nothing stored) so that the gateway's retry sees the device gone and gets those readings
// rejected.
ResolvedDevices ResolveDevices(pqxx::work& transaction, int64_t owner_id,
                               const std::vector<const std::vector<IncomingReading>*>& batches) {
  std::set<int64_t> ids;
  std::set<std::string> identifiers;
  for (const std::vector<IncomingReading>* readings : batches) {
    for (const IncomingReading& reading : *readings) {
      if (reading.device_id) ids.insert(*reading.device_id);
      if (reading.unique_identifier) identifiers.insert(*reading.unique_identifier);
    }
  }
  ResolvedDevices resolved;
  if (ids.empty() && identifiers.empty()) return resolved;
  for (const pqxx::row& row : postgres::ExecPrepared(
           transaction,
           // The role matters only for types that declare no measurements;
           // it is looked up once for the batch's devices, not per row.
           // The listed devices joined from the arrays, by id and by
           // identifier apart: the prepared (generic) plan cannot hash an
           // `= ANY($2)` list, and a linear search of it for every one of
           // the owner's devices cost more than the rest of the query.
           "WITH d AS (SELECT x.id, x.unique_identifier, x.device_type_id "
           "FROM unnest($2::int[]) AS want(id) JOIN devices x ON x.id = want.id "
           "WHERE x.user_id = $1 UNION "
           "SELECT x.id, x.unique_identifier, x.device_type_id "
           "FROM unnest($3::text[]) AS want(uid) JOIN devices x ON x.unique_identifier = want.uid "
           "WHERE x.user_id = $1), "
           "role AS (SELECT DISTINCT ON (a.device_id) a.device_id, a.assignment_type "
           "FROM plant_device_assignments a WHERE a.device_id IN (SELECT id FROM d) "
           "AND a.assignment_type <> 'pump' ORDER BY a.device_id, a.is_active DESC, a.plant_id) "
           "SELECT d.id, d.unique_identifier, t.id, t.primary_parameter, t.data_unit, t.min_value, "
           "t.max_value, role.assignment_type, m.parameter_name, coalesce(m.unit, p.unit), "
           "coalesce(m.min_value, p.min_plausible), coalesce(m.max_value, p.max_plausible) "
           "FROM d JOIN device_types t ON t.id = d.device_type_id "
           "LEFT JOIN role ON role.device_id = d.id "
           "LEFT JOIN device_type_measurements m ON m.device_type_id = t.id "
           "LEFT JOIN measurement_parameters p ON p.name = m.parameter_name",
           owner_id, PgIntArray({ids.begin(), ids.end()}),
           PgTextArray({identifiers.begin(), identifiers.end()}))) {
    RowReader reader(row);
    const auto id = reader.Next<int64_t>();
    DeviceInfo& info = resolved.by_id[id];
    info.id = id;
    resolved.id_by_identifier[reader.Next<std::string>()] = id;
    info.type_id = reader.Next<int64_t>();
    auto primary = reader.NextOptional<std::string>();
    info.undeclared.unit = reader.NextOptional<std::string>();
    info.undeclared.min_value = reader.NextOptional<double>();
    info.undeclared.max_value = reader.NextOptional<double>();
    auto role = reader.NextOptional<std::string>();
    auto parameter = reader.NextOptional<std::string>();
    if (parameter.has_value()) {
      Measurement& measurement = info.measurements[*parameter];
      measurement.unit = reader.NextOptional<std::string>();
      measurement.min_value = reader.NextOptional<double>();
      measurement.max_value = reader.NextOptional<double>();
    }
    info.primary = primary;
    info.role = role;
  }
  return resolved;
}

// A reading ready to store.
struct Accepted {
  int64_t device_id = 0;
  std::string parameter;
  double value = 0;
  std::optional<std::string> unit;
  int32_t quality = 100;
  bool is_anomaly = false;
  absl::Time timestamp;
  std::optional<std::string> raw_data;
};

// The measurement a reading is of, or why it cannot be stored.
absl::StatusOr<std::pair<std::string, const Measurement*>> MeasurementOf(
    const IncomingReading& reading, const DeviceInfo& device) {
  if (device.measurements.empty()) {
    // A type that declares nothing: readings are of the device's role, as
    // before parameters existed, or 'unspecified' (migration 0011) for a
    // device without one, whose readings no rule ever took.
    const std::string parameter = device.role.value_or("unspecified");
    if (reading.parameter_name && *reading.parameter_name != parameter) {
      return absl::InvalidArgumentError(absl::StrCat("parameter ", *reading.parameter_name,
                                                     " is not one device type ", device.type_id,
                                                     " measures (it declares no measurements)"));
    }
    return std::make_pair(parameter, &device.undeclared);
  }
  const std::string parameter =
      reading.parameter_name.value_or(device.primary.value_or(device.measurements.begin()->first));
  auto it = device.measurements.find(parameter);
  if (it == device.measurements.end()) {
    std::vector<std::string> declared;
    for (const auto& [name, measurement] : device.measurements) declared.push_back(name);
    return absl::InvalidArgumentError(
        absl::StrCat("parameter ", parameter, " is not one device type ", device.type_id,
                     " measures (", absl::StrJoin(declared, ", "), ")"));
  }
  return std::make_pair(parameter, &it->second);
}

// Splits readings into accepted ones (with server-side defaults applied) and
// rejections for devices the owner does not have and parameters their types
// do not measure.
std::vector<Accepted> Accept(const std::vector<IncomingReading>& readings,
                             const ResolvedDevices& devices,
                             std::vector<RejectedReading>& rejected) {
  std::vector<Accepted> accepted;
  accepted.reserve(readings.size());
  for (const IncomingReading& reading : readings) {
    const DeviceInfo* device = nullptr;
    if (reading.device_id) {
      auto it = devices.by_id.find(*reading.device_id);
      if (it != devices.by_id.end()) device = &it->second;
    } else if (reading.unique_identifier) {
      auto it = devices.id_by_identifier.find(*reading.unique_identifier);
      if (it != devices.id_by_identifier.end()) device = &devices.by_id.at(it->second);
    }
    if (device == nullptr) {
      // The same words for a missing device and someone else's.
      rejected.push_back({reading.index, kDeviceNotFound});
      continue;
    }
    absl::StatusOr<std::pair<std::string, const Measurement*>> measured =
        MeasurementOf(reading, *device);
    if (!measured.ok()) {
      rejected.push_back({reading.index, std::string(measured.status().message())});
      continue;
    }
    const Measurement& measurement = *measured->second;
    Accepted row;
    row.device_id = device->id;
    row.parameter = std::move(measured->first);
    row.value = reading.measurement_value;
    row.unit = reading.measurement_unit ? reading.measurement_unit : measurement.unit;
    row.quality = reading.data_quality;
    const bool out_of_range = (measurement.min_value && row.value < *measurement.min_value) ||
                              (measurement.max_value && row.value > *measurement.max_value);
    row.is_anomaly =
        reading.is_anomaly.value_or(false) || out_of_range || row.quality < kLowQualityThreshold;
    row.timestamp = reading.timestamp;
    row.raw_data = reading.raw_data;
    accepted.push_back(std::move(row));
  }
  return accepted;
}

void CopyInto(pqxx::work& transaction, const std::string& table,
              const std::vector<const Accepted*>& rows) {
  pqxx::stream_to copy(transaction, table,
                       std::vector<std::string>{"device_id", "parameter_name", "measurement_value",
                                                "measurement_unit", "data_quality", "is_anomaly",
                                                "timestamp", "raw_data"});
  for (const Accepted* row : rows) {
    copy << std::make_tuple(row->device_id, row->parameter, row->value, row->unit, row->quality,
                            row->is_anomaly, CopyTimestampText(row->timestamp), row->raw_data);
  }
  copy.complete();
}

// Copies each reading straight into the partition that holds its week (a
// weekly one or the history), where that partition has its rollup trigger
// (migration 0026), and the rest into sensor_data, which routes them. COPY
// into the partitioned table itself inserts one row at a time, because of the
// rollup trigger's transition table there; into a partition it batches rows
// (docs/scaling.md, "Figures"). Weeks are whole in every partition: bounds
// fall on WeekStart.
void CopyReadings(pqxx::work& transaction, const std::vector<Accepted>& rows) {
  std::map<int64_t, std::vector<const Accepted*>> by_week;  // by WeekStart, Unix micros
  for (const Accepted& row : rows) {
    by_week[absl::ToUnixMicros(WeekStart(row.timestamp))].push_back(&row);
  }
  std::vector<int64_t> weeks;
  weeks.reserve(by_week.size());
  for (const auto& [week, week_rows] : by_week) weeks.push_back(week);
  static const std::string kPartitionsOfWeeks = R"sql(
      SELECT w.us, p.partition_name
        FROM unnest($1::bigint[]) AS w(us)
        JOIN sensor_data_partition_bounds() p
          ON p.rolls_up AND NOT p.detach_pending
         AND (p.lower_bound IS NULL OR p.lower_bound <= epoch_us_to_timestamptz(w.us))
         AND (p.upper_bound IS NULL
              OR epoch_us_to_timestamptz(w.us + $2) <= p.upper_bound))sql";
  std::map<int64_t, std::string> partition_of_week;
  // A week in microseconds, not interval '1 week', which is 167 or 169 hours
  // across a daylight-saving change in the session's time zone.
  constexpr int64_t kWeekMicros = int64_t{7} * 24 * 3600 * 1000 * 1000;
  for (const pqxx::row& row :
       transaction.exec_params(kPartitionsOfWeeks, PgIntArray(weeks), kWeekMicros)) {
    partition_of_week[row[0].as<int64_t>()] = row[1].as<std::string>();
  }
  std::map<std::string, std::vector<const Accepted*>> by_partition;
  std::vector<const Accepted*> through_parent;
  for (const auto& [week, week_rows] : by_week) {
    auto partition = partition_of_week.find(week);
    std::vector<const Accepted*>& target =
        partition == partition_of_week.end() ? through_parent : by_partition[partition->second];
    target.insert(target.end(), week_rows.begin(), week_rows.end());
  }
  for (const auto& [partition, partition_rows] : by_partition) {
    CopyInto(transaction, partition, partition_rows);
  }
  if (!through_parent.empty()) CopyInto(transaction, "sensor_data", through_parent);
}

struct WatchingRule {
  RuleToEvaluate rule;
  bool alert_open = false;
  // The newest reading of this device the rule evaluated before
  // (alert_rule_sources, migration 0015).
  std::optional<absl::Time> newest_evaluated;
  // The rule's duration timers (alert_rule_timers, migration 0018).
  alerting::RuleTimers timers;
};

// One round trip for two jobs, as this runs once per batch:
//  - last_data_received moves forward only: a late batch never moves it back
//    (devices updated in id order, one lock order for concurrent batches);
//  - the active rules of the plants these devices are actively assigned to
//    (or of the one device a rule pins), keyed by device, with whether each
//    has an open alert; which readings a rule takes is its parameter's.
std::multimap<int64_t, WatchingRule> AdvanceDevicesAndFindRules(pqxx::work& transaction,
                                                                int64_t owner_id,
                                                                const std::vector<Accepted>& rows) {
  std::map<int64_t, absl::Time> newest;
  for (const Accepted& row : rows) {
    auto [it, inserted] = newest.emplace(row.device_id, row.timestamp);
    if (!inserted && row.timestamp > it->second) it->second = row.timestamp;
  }
  std::vector<int64_t> ids;
  std::vector<int64_t> micros;
  for (const auto& [id, time] : newest) {
    ids.push_back(id);
    micros.push_back(absl::ToUnixMicros(time));
  }
  std::multimap<int64_t, WatchingRule> rules;
  // Each rule once per device it watches, with its definition, species
  // optima, whether an alert is open, the newest reading it evaluated from
  // that device, and its duration timers.
  static const std::string kAdvanceAndFind = absl::StrCat(
      "WITH advanced AS ("
      "  UPDATE devices d SET last_data_received = epoch_us_to_timestamptz(v.us) "
      "  FROM unnest($2::int[], $3::bigint[]) AS v(id, us) "
      "  WHERE d.id = v.id AND (d.last_data_received IS NULL OR "
      "  d.last_data_received < epoch_us_to_timestamptz(v.us)) RETURNING d.id) "
      "SELECT a.device_id, r.id, r.user_id, r.plant_id, r.rule_type, r.parameter_name, "
      "r.condition_operator, r.threshold_value, r.threshold_high, r.hysteresis, ",
      PLANTMON_EPOCH_US("r.for_duration"), ", ", PLANTMON_EPOCH_US("r.clear_duration"), ", ",
      PLANTMON_EPOCH_US("r.interval"), ", ",
      "r.severity::text, pt.optimal_temperature, pt.optimal_humidity, pt.optimal_light, "
      "EXISTS (SELECT 1 FROM alerts al WHERE al.rule_id = r.id "
      "AND al.status IN ('active', 'acknowledged')), ",
      PLANTMON_EPOCH_US("s.last_reading_at"), ", ", PLANTMON_EPOCH_US("t.violating_since"), ", ",
      PLANTMON_EPOCH_US("t.clearing_since"),
      " FROM alert_rules r "
      "LEFT JOIN alert_rule_timers t ON t.rule_id = r.id "
      "JOIN plant_device_assignments a ON a.plant_id = r.plant_id AND a.is_active "
      "AND (r.device_id IS NULL OR r.device_id = a.device_id) "
      "LEFT JOIN alert_rule_sources s ON s.rule_id = r.id AND s.device_id = a.device_id "
      "JOIN plants p ON p.id = r.plant_id "
      "JOIN plant_types pt ON pt.id = p.plant_type_id "
      "WHERE r.is_active AND r.user_id = $1 AND a.device_id = ANY($2::int[])");
  for (const pqxx::row& row :
       transaction.exec_params(kAdvanceAndFind, owner_id, PgIntArray(ids), PgIntArray(micros))) {
    RowReader reader(row);
    auto device_id = reader.Next<int64_t>();
    RuleToEvaluate rule;
    rule.rule_id = reader.Next<int64_t>();
    rule.user_id = reader.Next<int64_t>();
    rule.plant_id = reader.Next<int64_t>();
    rule.definition = ReadRuleDefinition(reader);
    // Some rule types are the sweeper's alone (battery_below, watering_overdue).
    if (!alerting::EvaluatedOnReadings(rule.definition.type)) continue;
    rule.severity = reader.Next<std::string>();
    rule.optimum = alerting::OptimumFor(rule.definition.parameter, ReadSpeciesOptima(reader));
    bool alert_open = reader.Next<bool>();
    std::optional<absl::Time> newest = NextOptionalTime(reader);
    alerting::RuleTimers timers;
    timers.violating_since = NextOptionalTime(reader);
    timers.clearing_since = NextOptionalTime(reader);
    rules.emplace(device_id, WatchingRule{std::move(rule), alert_open, newest, timers});
  }
  return rules;
}

// What a batch's alert changes write, gathered so that they take three
// statements however many rules and readings there are (docs/telemetry.md,
// "The alert engine"): one UPDATE of the rules' open alerts, one INSERT of
// the alerts that opened (and perhaps resolved) within the batch, one upsert
// of the newest reading each rule evaluated per device.
class AlertWrites {
 public:
  // A rule's changes, in order, given whether its alert was open before.
  void Add(const RuleToEvaluate& rule, const std::vector<AlertChange>& changes, bool alert_open) {
    size_t i = 0;
    if (alert_open) {
      // The first changes go to the alert already open: a run extends it,
      // a resolve closes it.
      Existing existing;
      existing.rule_id = rule.rule_id;
      if (i < changes.size() && changes[i].kind == AlertChange::Kind::kViolations) {
        existing.run = changes[i++];
      }
      if (i < changes.size() && changes[i].kind == AlertChange::Kind::kResolve) {
        existing.resolved_at = changes[i++].resolved_at;
      }
      if (existing.run || existing.resolved_at) existing_.emplace_back(rule, existing);
    }
    // Then alerts opened by the batch: closed by the next change, or left open.
    while (i < changes.size()) {
      NewAlert alert{rule, changes[i++], std::nullopt};
      if (i < changes.size() && changes[i].kind == AlertChange::Kind::kResolve) {
        alert.resolved_at = changes[i++].resolved_at;
      }
      new_.push_back(std::move(alert));
    }
  }

  // A rule's timers after the batch, when they differ from before it.
  void NoteTimers(int64_t rule_id, const alerting::RuleTimers& timers) {
    timers_.emplace_back(rule_id, timers);
  }

  void NoteEvaluated(int64_t rule_id, int64_t device_id, absl::Time timestamp) {
    auto [it, inserted] = evaluated_.emplace(std::make_pair(rule_id, device_id), timestamp);
    if (!inserted && timestamp > it->second) it->second = timestamp;
  }

  int64_t opened() const { return static_cast<int64_t>(new_.size()); }
  int64_t resolved() const {
    int64_t count = 0;
    for (const auto& [rule, existing] : existing_) count += existing.resolved_at.has_value();
    for (const NewAlert& alert : new_) count += alert.resolved_at.has_value();
    return count;
  }

  void Write(pqxx::work& transaction) const {
    if (!existing_.empty() || !new_.empty()) {
      std::vector<int64_t> owners;
      for (const auto& [rule, existing] : existing_) owners.push_back(rule.user_id);
      for (const NewAlert& alert : new_) owners.push_back(alert.rule.user_id);
      LockAlertEvents(transaction, owners);
    }
    WriteExisting(transaction);
    WriteNew(transaction);
    WriteEvaluated(transaction);
    WriteTimers(transaction);
  }

 private:
  struct Existing {
    int64_t rule_id = 0;
    std::optional<AlertChange> run;
    std::optional<absl::Time> resolved_at;
  };
  struct NewAlert {
    RuleToEvaluate rule;
    AlertChange run;
    std::optional<absl::Time> resolved_at;
  };

  void WriteExisting(pqxx::work& transaction) const {
    if (existing_.empty()) return;
    std::vector<int64_t> ids;
    std::vector<int64_t> counts;
    std::vector<std::optional<double>> latest;
    std::vector<std::optional<double>> worst;
    std::vector<std::optional<double>> distance;
    std::vector<std::optional<int64_t>> last_us;
    std::vector<std::optional<int64_t>> resolved_us;
    std::vector<std::string> messages;
    for (const auto& [rule, existing] : existing_) {
      ids.push_back(existing.rule_id);
      counts.push_back(existing.run ? existing.run->count : 0);
      latest.push_back(existing.run ? std::optional<double>(existing.run->latest.value)
                                    : std::nullopt);
      worst.push_back(existing.run ? std::optional<double>(existing.run->worst.value)
                                   : std::nullopt);
      distance.push_back(
          existing.run ? std::optional<double>(alerting::Distance(rule, existing.run->worst.value))
                       : std::nullopt);
      last_us.push_back(
          existing.run ? std::optional<int64_t>(absl::ToUnixMicros(existing.run->latest.timestamp))
                       : std::nullopt);
      resolved_us.push_back(OptionalMicros(existing.resolved_at));
      messages.push_back(existing.run ? alerting::AlertMessage(rule, existing.run->latest) : "");
    }
    // The engine decided each run's worst and its distance; keep the further.
    // The alerts are locked in rule order first, as every batch locks them.
    transaction.exec_params(
        "WITH locked AS (SELECT id FROM alerts WHERE rule_id = ANY($1::int[]) "
        "AND status IN ('active', 'acknowledged') ORDER BY rule_id FOR UPDATE) "
        "UPDATE alerts a SET occurrence_count = a.occurrence_count + v.n, "
        "latest_value = coalesce(v.latest, a.latest_value), "
        "message = coalesce(nullif(v.message, ''), a.message), "
        "last_triggered_at = CASE WHEN v.last_us IS NULL THEN a.last_triggered_at "
        "ELSE greatest(a.last_triggered_at, epoch_us_to_timestamptz(v.last_us)) END, "
        "worst_value = CASE WHEN v.distance IS NOT NULL AND (a.worst_distance IS NULL OR "
        "v.distance > a.worst_distance) THEN v.worst ELSE a.worst_value END, "
        "worst_distance = greatest(a.worst_distance, v.distance), "
        "status = CASE WHEN v.resolved_us IS NULL THEN a.status ELSE 'resolved' END, "
        "resolved_at = CASE WHEN v.resolved_us IS NULL THEN a.resolved_at "
        "ELSE greatest(a.triggered_at, epoch_us_to_timestamptz(v.resolved_us)) END "
        "FROM unnest($1::int[], $2::bigint[], $3::float8[], $4::float8[], $5::float8[], "
        "$6::bigint[], $7::bigint[], $8::text[]) "
        "AS v(rule_id, n, latest, worst, distance, last_us, resolved_us, message) "
        "WHERE a.id IN (SELECT id FROM locked) AND a.rule_id = v.rule_id",
        PgIntArray(ids), PgIntArray(counts), PgNullableFloatArray(latest),
        PgNullableFloatArray(worst), PgNullableFloatArray(distance), PgNullableIntArray(last_us),
        PgNullableIntArray(resolved_us), PgTextArray(messages));
  }

  void WriteNew(pqxx::work& transaction) const {
    if (new_.empty()) return;
    std::vector<int64_t> users, plants, rules, counts;
    std::vector<std::string> severities, messages;
    std::vector<std::optional<double>> first, threshold, latest, worst, distance;
    std::vector<std::optional<int64_t>> first_us, last_us, resolved_us;
    for (const NewAlert& alert : new_) {
      users.push_back(alert.rule.user_id);
      plants.push_back(alert.rule.plant_id);
      rules.push_back(alert.rule.rule_id);
      counts.push_back(alert.run.count);
      severities.push_back(alert.rule.severity);
      messages.push_back(alerting::AlertMessage(alert.rule, alert.run.latest));
      first.emplace_back(alert.run.first.value);
      threshold.emplace_back(alert.rule.definition.threshold_value);
      latest.emplace_back(alert.run.latest.value);
      worst.emplace_back(alert.run.worst.value);
      distance.emplace_back(alerting::Distance(alert.rule, alert.run.worst.value));
      first_us.emplace_back(absl::ToUnixMicros(alert.run.first.timestamp));
      last_us.emplace_back(absl::ToUnixMicros(alert.run.latest.timestamp));
      resolved_us.push_back(OptionalMicros(alert.resolved_at));
    }
    // Rule by rule (the lock order every batch keeps), each rule's in the
    // order they opened. An open one may meet an alert a concurrent batch
    // opened for the rule: the partial unique index alerts_one_open_per_rule
    // makes it extend that one instead, atomically.
    transaction.exec_params(
        "INSERT INTO alerts AS a (user_id, plant_id, rule_id, severity, message, "
        "triggered_value, threshold_value, triggered_at, occurrence_count, latest_value, "
        "worst_value, last_triggered_at, worst_distance, status, resolved_at) "
        "SELECT v.user_id, v.plant_id, v.rule_id, v.severity::alert_severity_enum, v.message, "
        "v.first, v.threshold, epoch_us_to_timestamptz(v.first_us), v.n, v.latest, v.worst, "
        "epoch_us_to_timestamptz(v.last_us), v.distance, "
        "CASE WHEN v.resolved_us IS NULL THEN 'active' ELSE 'resolved' END::alert_status_enum, "
        "CASE WHEN v.resolved_us IS NULL THEN NULL ELSE greatest(epoch_us_to_timestamptz("
        "v.first_us), epoch_us_to_timestamptz(v.resolved_us)) END "
        "FROM unnest($1::int[], $2::int[], $3::int[], $4::text[], $5::text[], $6::float8[], "
        "$7::float8[], $8::bigint[], $9::bigint[], $10::float8[], $11::float8[], $12::bigint[], "
        "$13::float8[], $14::bigint[]) WITH ORDINALITY AS v(user_id, plant_id, rule_id, "
        "severity, message, first, threshold, first_us, n, latest, worst, last_us, distance, "
        "resolved_us, position) ORDER BY v.rule_id, v.first_us, v.position "
        "ON CONFLICT (rule_id) WHERE status IN ('active', 'acknowledged') DO UPDATE SET "
        "occurrence_count = a.occurrence_count + EXCLUDED.occurrence_count, "
        "latest_value = EXCLUDED.latest_value, message = EXCLUDED.message, "
        "last_triggered_at = greatest(a.last_triggered_at, EXCLUDED.last_triggered_at), "
        "worst_value = CASE WHEN a.worst_distance IS NULL OR EXCLUDED.worst_distance > "
        "a.worst_distance THEN EXCLUDED.worst_value ELSE a.worst_value END, "
        "worst_distance = greatest(a.worst_distance, EXCLUDED.worst_distance)",
        PgIntArray(users), PgIntArray(plants), PgIntArray(rules), PgTextArray(severities),
        PgTextArray(messages), PgNullableFloatArray(first), PgNullableFloatArray(threshold),
        PgNullableIntArray(first_us), PgIntArray(counts), PgNullableFloatArray(latest),
        PgNullableFloatArray(worst), PgNullableIntArray(last_us), PgNullableFloatArray(distance),
        PgNullableIntArray(resolved_us));
  }

  void WriteEvaluated(pqxx::work& transaction) const {
    if (evaluated_.empty()) return;
    std::vector<int64_t> rules, devices, micros;
    for (const auto& [key, time] : evaluated_) {
      rules.push_back(key.first);
      devices.push_back(key.second);
      micros.push_back(absl::ToUnixMicros(time));
    }
    transaction.exec_params(
        "INSERT INTO alert_rule_sources AS s (rule_id, device_id, last_reading_at) "
        "SELECT v.rule_id, v.device_id, epoch_us_to_timestamptz(v.us) "
        "FROM unnest($1::int[], $2::int[], $3::bigint[]) AS v(rule_id, device_id, us) "
        "ON CONFLICT (rule_id, device_id) DO UPDATE "
        "SET last_reading_at = greatest(s.last_reading_at, EXCLUDED.last_reading_at)",
        PgIntArray(rules), PgIntArray(devices), PgIntArray(micros));
  }

  void WriteTimers(pqxx::work& transaction) const {
    if (timers_.empty()) return;
    std::vector<int64_t> rules;
    std::vector<std::optional<int64_t>> violating_us, clearing_us;
    for (const auto& [rule_id, timers] : timers_) {
      rules.push_back(rule_id);
      violating_us.push_back(OptionalMicros(timers.violating_since));
      clearing_us.push_back(OptionalMicros(timers.clearing_since));
    }
    // Rules in id order (timers_ is filled in that order), as every batch
    // locks them.
    transaction.exec_params(
        "INSERT INTO alert_rule_timers AS t (rule_id, violating_since, clearing_since) "
        "SELECT v.rule_id, epoch_us_to_timestamptz(v.violating_us), "
        "epoch_us_to_timestamptz(v.clearing_us) "
        "FROM unnest($1::int[], $2::bigint[], $3::bigint[]) AS v(rule_id, violating_us, "
        "clearing_us) "
        "ON CONFLICT (rule_id) DO UPDATE SET violating_since = EXCLUDED.violating_since, "
        "clearing_since = EXCLUDED.clearing_since",
        PgIntArray(rules), PgNullableIntArray(violating_us), PgNullableIntArray(clearing_us));
  }

  std::vector<std::pair<RuleToEvaluate, Existing>> existing_;
  std::vector<std::pair<int64_t, alerting::RuleTimers>> timers_;
  std::vector<NewAlert> new_;
  // (rule, device) in key order: one lock order for concurrent batches.
  std::map<std::pair<int64_t, int64_t>, absl::Time> evaluated_;
};

// Waterings detected from the batch's soil moisture readings
// (alerting::DetectWaterings) on the owner's plants that detect them
// (plants.watering_detection_jump, migration 0020), recorded as detected
// waterings in the batch's transaction. One statement for a batch with soil
// moisture readings and no such plant; none for a batch without them.
void DetectWaterings(pqxx::work& transaction, int64_t owner_id, const std::vector<Accepted>& rows) {
  std::map<int64_t, std::pair<absl::Time, absl::Time>> span_by_device;  // first, last reading
  for (const Accepted& row : rows) {
    if (row.parameter != "soil_moisture" || row.is_anomaly) continue;
    auto [it, inserted] =
        span_by_device.emplace(row.device_id, std::make_pair(row.timestamp, row.timestamp));
    it->second.first = std::min(it->second.first, row.timestamp);
    it->second.second = std::max(it->second.second, row.timestamp);
  }
  if (span_by_device.empty()) return;
  std::vector<int64_t> devices;
  for (const auto& [device, span] : span_by_device) devices.push_back(device);
  struct Watched {
    alerting::WateringDetection detection;
    std::optional<absl::Time> last_watered;
    std::vector<int64_t> devices;
  };
  std::map<int64_t, Watched> plants;
  for (const pqxx::row& row : transaction.exec_params(
           absl::StrCat("SELECT p.id, p.watering_detection_jump, ",
                        PLANTMON_EPOCH_US("p.watering_detection_window"), ", ",
                        PLANTMON_EPOCH_US("p.last_watered"),
                        ", a.device_id FROM plants p JOIN plant_device_assignments a "
                        "ON a.plant_id = p.id AND a.is_active "
                        "WHERE p.user_id = $1 AND p.watering_detection_jump IS NOT NULL "
                        "AND a.device_id = ANY($2::int[]) ORDER BY p.id"),
           owner_id, PgIntArray(devices))) {
    RowReader reader(row);
    Watched& plant = plants[reader.Next<int64_t>()];
    plant.detection.jump = reader.Next<double>();
    plant.detection.window = absl::Microseconds(reader.Next<int64_t>());
    plant.last_watered = NextOptionalTime(reader);
    plant.devices.push_back(reader.Next<int64_t>());
  }
  for (auto& [plant_id, plant] : plants) {
    const absl::Duration window = alerting::DetectionWindow(plant.detection);
    absl::Time first = absl::InfiniteFuture();
    absl::Time last = absl::InfinitePast();
    for (int64_t device : plant.devices) {
      first = std::min(first, span_by_device[device].first);
      last = std::max(last, span_by_device[device].second);
    }
    // The batch's readings (already stored) and the window's history.
    std::vector<alerting::MoistureReading> readings;
    for (const pqxx::row& row : transaction.exec_params(
             absl::StrCat("SELECT ", PLANTMON_EPOCH_US("\"timestamp\""),
                          ", measurement_value FROM sensor_data WHERE device_id = ANY($1::int[]) "
                          "AND parameter_name = 'soil_moisture' AND NOT is_anomaly "
                          "AND \"timestamp\" >= epoch_us_to_timestamptz($2) "
                          "AND \"timestamp\" <= epoch_us_to_timestamptz($3)"),
             PgIntArray(plant.devices), absl::ToUnixMicros(first - window),
             absl::ToUnixMicros(last))) {
      readings.push_back({absl::FromUnixMicros(row[0].as<int64_t>()), row[1].as<double>()});
    }
    const std::vector<alerting::DetectedWatering> detected =
        alerting::DetectWaterings(std::move(readings), plant.detection, first, plant.last_watered);
    if (detected.empty()) continue;
    transaction.exec_params("SELECT 1 FROM plants WHERE id = $1 FOR UPDATE", plant_id);
    for (const alerting::DetectedWatering& watering : detected) {
      WateringRow row;
      row.owner_id = owner_id;
      row.plant_id = plant_id;
      row.watered_at = watering.at;
      row.detected = true;
      row.note = absl::StrFormat("Detected: soil moisture rose from %.4g%% to %.4g%%",
                                 watering.from, watering.to);
      InsertWatering(transaction, row, "id");
    }
  }
}

// Alerts a batch opened and resolved.
struct AlertCounts {
  int64_t opened = 0;
  int64_t resolved = 0;
};

// Detects waterings, moves devices' last_data_received and runs the alert
// engine over the batch.
AlertCounts AfterReadingsStored(pqxx::work& transaction, int64_t owner_id,
                                const std::vector<Accepted>& rows) {
  DetectWaterings(transaction, owner_id, rows);
  std::multimap<int64_t, WatchingRule> rules =
      AdvanceDevicesAndFindRules(transaction, owner_id, rows);
  if (rules.empty()) return AlertCounts{};

  // Each rule's readings, from every device that feeds it; rules in id order
  // so that concurrent batches take alert locks in one order.
  struct RuleReadings {
    RuleToEvaluate rule;
    bool alert_open = false;
    std::vector<EvaluatedReading> readings;
    alerting::NewestEvaluated newest;
    alerting::RuleTimers timers;
  };
  std::map<int64_t, RuleReadings> by_rule;
  for (const Accepted& row : rows) {
    auto [begin, end] = rules.equal_range(row.device_id);
    for (auto it = begin; it != end; ++it) {
      if (it->second.rule.definition.parameter != row.parameter) continue;
      auto [found, inserted] = by_rule.try_emplace(it->second.rule.rule_id);
      RuleReadings& entry = found->second;
      if (inserted) {
        entry.rule = it->second.rule;
        entry.alert_open = it->second.alert_open;
        entry.timers = it->second.timers;
      }
      if (it->second.newest_evaluated) {
        entry.newest[row.device_id] = *it->second.newest_evaluated;
      }
      entry.readings.push_back({row.value, row.timestamp, row.unit, row.device_id});
    }
  }
  AlertWrites writes;
  for (auto& [id, entry] : by_rule) {
    for (const EvaluatedReading& reading : entry.readings) {
      writes.NoteEvaluated(id, reading.device_id, reading.timestamp);
    }
    const alerting::RuleTimers before = entry.timers;
    writes.Add(entry.rule,
               alerting::PlanAlertChanges(entry.rule, std::move(entry.readings), entry.alert_open,
                                          entry.newest, &entry.timers),
               entry.alert_open);
    if (entry.timers != before) writes.NoteTimers(id, entry.timers);
  }
  writes.Write(transaction);
  return {writes.opened(), writes.resolved()};
}

// What stored readings add to the metrics (docs/operations.md), counted once
// their transaction committed (a retried transaction counts once).
class IngestMetrics {
 public:
  static IngestMetrics& Get() {
    static auto* metrics = new IngestMetrics();
    return *metrics;
  }

  void Record(int64_t readings, int64_t rejected, int64_t batches, const AlertCounts& alerts) {
    readings_.Add({}, static_cast<double>(readings));
    rejected_.Add({}, static_cast<double>(rejected));
    batches_.Add({}, static_cast<double>(batches));
    transactions_.Add({}, 1);
    CountAlertChanges("opened", "readings", alerts.opened);
    CountAlertChanges("resolved", "readings", alerts.resolved);
  }

 private:
  IngestMetrics()
      : readings_(metrics::DefaultRegistry().Counter(
            "plantmon_readings_ingested_total",
            "Readings stored by this process (batches, uploads, RecordReading, MQTT).")),
        rejected_(metrics::DefaultRegistry().Counter(
            "plantmon_readings_rejected_total",
            "Readings of committed batches that were refused (each with its reason).")),
        batches_(metrics::DefaultRegistry().Counter(
            "plantmon_reading_batches_ingested_total",
            "Batches committed by this process (StreamReadings, UploadReadings, MQTT); replays "
            "of committed batches are not counted.")),
        transactions_(metrics::DefaultRegistry().Counter(
            "plantmon_ingest_transactions_total",
            "Transactions that stored readings; one holds several batches of a gateway stream "
            "when they waited together.")) {}

  metrics::CounterFamily& readings_;
  metrics::CounterFamily& rejected_;
  metrics::CounterFamily& batches_;
  metrics::CounterFamily& transactions_;
};

// The readings of `readings` that came from redelivered source messages
// whose receipts were committed before: their positions. Digests travel as
// hex text (libpqxx 6.4 has no bytea[] parameter).
std::set<int64_t> AlreadyStoredPositions(pqxx::work& transaction, int64_t owner_id,
                                         const BatchKey& key) {
  std::vector<int64_t> ids;
  std::vector<std::string> digests;
  for (const SourceMessage& message : key.source_messages) {
    if (!message.redelivered) continue;
    ids.push_back(message.id);
    digests.push_back(absl::BytesToHexString(message.digest));
  }
  std::set<int64_t> positions;
  if (ids.empty()) return positions;
  std::set<int64_t> stored_ids;
  for (const pqxx::row& row : transaction.exec_params(
           "SELECT r.message_id FROM unnest($3::bigint[], $4::text[]) AS m(id, digest) "
           "JOIN ingest_source_receipts r ON r.user_id = $1 AND r.gateway_id = $2 "
           "AND r.message_id = m.id AND r.digest = decode(m.digest, 'hex')",
           owner_id, key.gateway_id, PgIntArray(ids), PgTextArray(digests))) {
    stored_ids.insert(row[0].as<int64_t>());
  }
  for (const SourceMessage& message : key.source_messages) {
    if (!message.redelivered || stored_ids.count(message.id) == 0) continue;
    for (int64_t i = 0; i < message.reading_count; ++i) positions.insert(message.first_index + i);
  }
  return positions;
}

// Records the batch's source messages as committed with it, each replacing
// the receipt its id had: the source reuses an id only once its previous
// message was acknowledged, that is, committed.
void RecordSourceMessages(pqxx::work& transaction, int64_t owner_id, const BatchKey& key) {
  if (key.source_messages.empty()) return;
  std::vector<int64_t> ids;
  std::vector<std::string> digests;
  for (const SourceMessage& message : key.source_messages) {
    ids.push_back(message.id);
    digests.push_back(absl::BytesToHexString(message.digest));
  }
  transaction.exec_params(
      "INSERT INTO ingest_source_receipts (user_id, gateway_id, message_id, digest) "
      "SELECT $1, $2, m.id, decode(m.digest, 'hex') "
      "FROM unnest($3::bigint[], $4::text[]) AS m(id, digest) "
      "ON CONFLICT (user_id, gateway_id, message_id) DO UPDATE "
      "SET digest = EXCLUDED.digest, received_at = now()",
      owner_id, key.gateway_id, PgIntArray(ids), PgTextArray(digests));
}

// The earliest and the latest reading time of a batch; an empty batch has
// none (InfiniteFuture, InfinitePast), so that it follows any batch.
std::pair<absl::Time, absl::Time> TimeSpanOf(const BatchToStore& batch) {
  absl::Time earliest = absl::InfiniteFuture();
  absl::Time latest = absl::InfinitePast();
  for (const IncomingReading& reading : batch.readings) {
    earliest = std::min(earliest, reading.timestamp);
    latest = std::max(latest, reading.timestamp);
  }
  return {earliest, latest};
}

// Stores `batches` in one transaction, each as if alone and in order (its
// redelivered source messages, its key and its counts), with their readings
// copied, checked for waterings and evaluated by the alert engine together.
// The caller passes batches whose readings follow one another in time
// (IngestBatches).
absl::StatusOr<std::vector<IngestResult>> StoreTogether(
    postgres::ConnectionPool& pool, int64_t owner_id,
    const std::vector<const BatchToStore*>& batches, const std::function<bool()>& abandoned) {
  return RunInTransaction(
      pool, [&](pqxx::work& transaction) -> absl::StatusOr<std::vector<IngestResult>> {
        std::vector<IngestResult> results(batches.size());
        // The devices of every batch in one statement: a batch's replayed
        // readings are resolved too, and not used.
        std::vector<const std::vector<IncomingReading>*> named;
        for (const BatchToStore* batch : batches) named.push_back(&batch->readings);
        const ResolvedDevices devices = ResolveDevices(transaction, owner_id, named);
        std::vector<Accepted> accepted;
        for (size_t b = 0; b < batches.size(); ++b) {
          const BatchToStore& batch = *batches[b];
          IngestResult& result = results[b];
          std::vector<RejectedReading> rejected = batch.rejected;
          // Readings of redelivered source messages already stored (by an
          // earlier transaction or an earlier batch of this one) are left out.
          std::vector<IncomingReading> fresh;
          const std::vector<IncomingReading>* to_store = &batch.readings;
          const std::optional<BatchKey>& key = batch.key;
          if (key.has_value() && !key->source_messages.empty()) {
            const std::set<int64_t> stored = AlreadyStoredPositions(transaction, owner_id, *key);
            if (!stored.empty()) {
              for (const IncomingReading& reading : batch.readings) {
                if (stored.count(reading.index) == 0) fresh.push_back(reading);
              }
              to_store = &fresh;
              result.duplicate = static_cast<int64_t>(batch.readings.size() - fresh.size());
            }
          }
          std::vector<Accepted> batch_accepted = Accept(*to_store, devices, rejected);
          result.accepted = static_cast<int64_t>(batch_accepted.size());
          result.rejected = static_cast<int64_t>(rejected.size());
          if (key.has_value()) {
            // Claims the batch's key with its counts; a key already committed
            // (or being committed by a concurrent replay, which this waits
            // for, or claimed by an earlier batch of this transaction) means
            // the batch is a replay: report what it stored and store nothing.
            const pqxx::binarystring digest(key->digest);
            pqxx::result claimed = transaction.exec_params(
                "INSERT INTO ingest_batches (user_id, gateway_id, sequence, accepted, rejected, "
                "digest) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1",
                owner_id, key->gateway_id, key->sequence, result.accepted, result.rejected, digest);
            if (claimed.empty()) {
              pqxx::row stored = transaction.exec_params1(
                  "SELECT accepted, rejected, digest FROM ingest_batches "
                  "WHERE user_id = $1 AND gateway_id = $2 AND sequence = $3",
                  owner_id, key->gateway_id, key->sequence);
              // Keys committed before migration 0009 carry no digest.
              if (!stored[2].is_null() && pqxx::binarystring(stored[2]).str() != key->digest) {
                return absl::FailedPreconditionError(absl::StrCat(
                    "gateway \"", key->gateway_id, "\" already committed sequence ", key->sequence,
                    " with other readings; a gateway that restarts its sequence numbers must use "
                    "a new gateway_id (docs/telemetry.md)"));
              }
              IngestResult replay;
              replay.replayed = true;
              replay.duplicate = stored[0].as<int64_t>();
              replay.rejected = stored[1].as<int64_t>();
              result = std::move(replay);
              continue;
            }
            RecordSourceMessages(transaction, owner_id, *key);
          }
          std::sort(
              rejected.begin(), rejected.end(),
              [](const RejectedReading& a, const RejectedReading& b) { return a.index < b.index; });
          result.rejections = std::move(rejected);
          std::move(batch_accepted.begin(), batch_accepted.end(), std::back_inserter(accepted));
        }
        if (!accepted.empty()) {
          CopyReadings(transaction, accepted);
          // The alert changes are counted once, on the first batch.
          const AlertCounts alerts = AfterReadingsStored(transaction, owner_id, accepted);
          results.front().alerts_opened = alerts.opened;
          results.front().alerts_resolved = alerts.resolved;
        }
        if (abandoned && abandoned()) {
          return absl::CancelledError("the client went away; the batch was rolled back");
        }
        return results;
      });
}

}  // namespace

std::vector<absl::StatusOr<IngestResult>> IngestRepository::IngestBatches(
    int64_t owner_id, const std::vector<BatchToStore>& batches,
    const std::function<bool()>& abandoned) {
  std::vector<absl::StatusOr<IngestResult>> results;
  const auto record = [](const std::vector<IngestResult>& stored) {
    IngestResult total;
    int64_t committed = 0;
    for (const IngestResult& result : stored) {
      if (result.replayed) continue;
      ++committed;
      total.accepted += result.accepted;
      total.rejected += result.rejected;
      total.alerts_opened += result.alerts_opened;
      total.alerts_resolved += result.alerts_resolved;
    }
    if (committed > 0) {
      IngestMetrics::Get().Record(total.accepted, total.rejected, committed,
                                  {total.alerts_opened, total.alerts_resolved});
    }
  };
  size_t begin = 0;
  while (begin < batches.size()) {
    // A run of batches each of whose readings all come after every reading
    // of the batches before it in the run. The alert engine and watering
    // detection follow reading time and skip a reading no newer than one
    // already evaluated: over such a run, evaluating the readings together
    // changes what they would change one batch at a time in nothing (an
    // alert's intermediate updates are written once). Batches that overlap
    // in time are stored apart, as before.
    std::vector<const BatchToStore*> run = {&batches[begin]};
    absl::Time latest = TimeSpanOf(batches[begin]).second;
    size_t end = begin + 1;
    for (; end < batches.size(); ++end) {
      const auto [earliest, last] = TimeSpanOf(batches[end]);
      if (earliest <= latest) break;
      latest = std::max(latest, last);
      run.push_back(&batches[end]);
    }
    absl::StatusOr<std::vector<IngestResult>> stored =
        StoreTogether(pool_, owner_id, run, abandoned);
    const bool gone = abandoned && abandoned();
    if (!stored.ok() && run.size() > 1 && !gone) {
      // One batch of the run failed the whole transaction: store them one at
      // a time, so that those before the failing one commit as they would
      // have alone, and the failure is that batch's own. (Not when the
      // stream is over: nothing would be acknowledged.)
      for (const BatchToStore* batch : run) {
        absl::StatusOr<std::vector<IngestResult>> one =
            StoreTogether(pool_, owner_id, {batch}, abandoned);
        if (!one.ok()) {
          results.emplace_back(one.status());
          return results;
        }
        record(*one);
        results.emplace_back(std::move(one->front()));
      }
    } else if (!stored.ok()) {
      results.emplace_back(stored.status());
      return results;
    } else {
      record(*stored);
      for (IngestResult& result : *stored) results.emplace_back(std::move(result));
    }
    begin = end;
  }
  return results;
}

absl::StatusOr<IngestResult> IngestRepository::Ingest(int64_t owner_id, BatchToStore batch,
                                                      const std::function<bool()>& abandoned) {
  std::vector<BatchToStore> batches;
  batches.push_back(std::move(batch));
  return std::move(IngestBatches(owner_id, batches, abandoned).front());
}

absl::StatusOr<SensorReading> IngestRepository::IngestOne(int64_t owner_id,
                                                          const IncomingReading& reading) {
  AlertCounts alerts;
  absl::StatusOr<SensorReading> stored_reading =
      RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<SensorReading> {
        const std::vector<IncomingReading> readings = {reading};
        ResolvedDevices devices = ResolveDevices(transaction, owner_id, {&readings});
        std::vector<RejectedReading> rejected;
        std::vector<Accepted> accepted = Accept(readings, devices, rejected);
        if (accepted.empty()) {
          if (!rejected.empty() && rejected.front().reason != kDeviceNotFound) {
            return absl::InvalidArgumentError(rejected.front().reason);
          }
          return NotFound("device", reading.device_id.value_or(0));
        }
        const Accepted& row = accepted.front();
        pqxx::row stored = transaction.exec_params1(
            "INSERT INTO sensor_data (device_id, measurement_value, measurement_unit, "
            "data_quality, is_anomaly, \"timestamp\", raw_data, parameter_name) VALUES ($1, $2, "
            "$3, "
            "$4, $5, epoch_us_to_timestamptz($6), $7, $8) RETURNING id, " PLANTMON_EPOCH_US(
                "received_at"),
            row.device_id, row.value, row.unit, row.quality, row.is_anomaly,
            absl::ToUnixMicros(row.timestamp), row.raw_data, row.parameter);
        alerts = AfterReadingsStored(transaction, owner_id, accepted);
        SensorReading out;
        out.id = stored[0].as<int64_t>();
        out.received_at = absl::FromUnixMicros(stored[1].as<int64_t>());
        out.device_id = row.device_id;
        out.measurement_value = row.value;
        out.measurement_unit = row.unit;
        out.data_quality = row.quality;
        out.is_anomaly = row.is_anomaly;
        out.timestamp = absl::FromUnixMicros(absl::ToUnixMicros(row.timestamp));
        out.raw_data = row.raw_data;
        out.parameter_name = row.parameter;
        return out;
      });
  if (stored_reading.ok()) IngestMetrics::Get().Record(1, 0, 0, alerts);
  return stored_reading;
}

absl::StatusOr<int64_t> IngestRepository::EvaluateLoadedReadings(int64_t owner_id,
                                                                 absl::Time received_at) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<int64_t> {
    std::vector<Accepted> rows;
    for (const pqxx::row& row : transaction.exec_params(
             absl::StrCat("SELECT s.device_id, s.parameter_name, s.measurement_value, "
                          "s.measurement_unit, s.data_quality, s.is_anomaly, ",
                          PLANTMON_EPOCH_US("s.\"timestamp\""),
                          " FROM sensor_data s JOIN devices d ON d.id = s.device_id "
                          "WHERE d.user_id = $1 AND s.received_at = epoch_us_to_timestamptz($2) "
                          "ORDER BY s.\"timestamp\", s.id"),
             owner_id, absl::ToUnixMicros(received_at))) {
      RowReader reader(row);
      Accepted accepted;
      accepted.device_id = reader.Next<int64_t>();
      accepted.parameter = reader.Next<std::string>();
      accepted.value = reader.Next<double>();
      accepted.unit = reader.NextOptional<std::string>();
      accepted.quality = reader.Next<int32_t>();
      accepted.is_anomaly = reader.Next<bool>();
      accepted.timestamp = absl::FromUnixMicros(reader.Next<int64_t>());
      rows.push_back(std::move(accepted));
    }
    if (!rows.empty()) AfterReadingsStored(transaction, owner_id, rows);
    return static_cast<int64_t>(rows.size());
  });
}

absl::StatusOr<int64_t> IngestRepository::PurgeBatchKeys(absl::Duration retention) {
  // Receipts are bounded anyway (one per source message id); an old one
  // belongs to a gateway that went away.
  absl::StatusOr<int64_t> receipts = ExecuteUpdate(
      pool_,
      "DELETE FROM ingest_source_receipts WHERE received_at < now() - $1 * interval '1 second'",
      absl::ToInt64Seconds(retention));
  if (!receipts.ok()) return receipts.status();
  absl::StatusOr<int64_t> batches = ExecuteUpdate(
      pool_, "DELETE FROM ingest_batches WHERE received_at < now() - $1 * interval '1 second'",
      absl::ToInt64Seconds(retention));
  if (!batches.ok()) return batches.status();
  return *receipts + *batches;
}

}  // namespace plantmon::storage
