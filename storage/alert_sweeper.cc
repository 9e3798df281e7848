#include "storage/alert_sweeper.h"

#include <algorithm>
#include <cstdio>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alerting/alert_engine.h"
#include "alerting/rules.h"
#include "postgres/pg_array.h"
#include "storage/row_reader.h"
#include "storage/storage_metrics.h"

namespace plantmon::storage {
namespace {

using postgres::PgIntArray;
using postgres::PgNullableFloatArray;
using postgres::PgTextArray;

// pg_advisory_lock key of the sweeper ("plantmsw" in ASCII); the migration
// runner's is another.
constexpr int64_t kSweeperLockKey = 0x706c616e746d7377;

// Every active time rule with what alerting::Sweep needs to judge it ($1:
// the time rule types). A device's battery level is the newer of its last
// `battery` reading and its last heartbeat's; the plant's is the lowest of
// its active devices (or of the one device the rule pins). A rule's newest
// reading is the newest its sources evaluated (alert_rule_sources).
const std::string& FactsQuery() {
  static const std::string* query = new std::string(absl::StrCat(
      "SELECT r.id, r.user_id, r.plant_id, r.rule_type, r.parameter_name, "
      "r.condition_operator, r.threshold_value, r.threshold_high, r.hysteresis, ",
      PLANTMON_EPOCH_US("r.for_duration"), ", ", PLANTMON_EPOCH_US("r.clear_duration"), ", ",
      PLANTMON_EPOCH_US("r.interval"), ", r.severity::text, ", PLANTMON_EPOCH_US("r.updated_at"),
      ", EXISTS (SELECT 1 FROM alerts al WHERE al.rule_id = r.id "
      "AND al.status IN ('active', 'acknowledged')), ",
      PLANTMON_EPOCH_US("(SELECT max(s.last_reading_at) FROM alert_rule_sources s "
                        "WHERE s.rule_id = r.id)"),
      ", (SELECT min(CASE WHEN b.ts IS NOT NULL AND (d.battery_level IS NULL OR "
      "d.last_heartbeat IS NULL OR b.ts > d.last_heartbeat) THEN b.value "
      "ELSE d.battery_level END) "
      "FROM plant_device_assignments a JOIN devices d ON d.id = a.device_id "
      "LEFT JOIN LATERAL (SELECT sd.measurement_value AS value, sd.\"timestamp\" AS ts "
      "FROM sensor_data sd WHERE sd.device_id = d.id AND sd.parameter_name = 'battery' "
      "ORDER BY sd.\"timestamp\" DESC LIMIT 1) b ON true "
      "WHERE a.plant_id = r.plant_id AND a.is_active "
      "AND (r.device_id IS NULL OR a.device_id = r.device_id)), ",
      PLANTMON_EPOCH_US("p.last_watered"), ", pt.water_frequency_days, ",
      PLANTMON_EPOCH_US("now()"),
      " FROM alert_rules r JOIN plants p ON p.id = r.plant_id "
      "JOIN plant_types pt ON pt.id = p.plant_type_id "
      "WHERE r.is_active AND r.rule_type = ANY($1::text[]) ORDER BY r.id"));
  return *query;
}

struct Opening {
  alerting::RuleToEvaluate rule;
  alerting::SweepVerdict verdict;
};

// One pass, in one transaction: the facts, the verdicts, the writes.
void SweepOnce(pqxx::connection& connection) {
  pqxx::work transaction(connection);
  std::vector<Opening> opens;
  std::vector<int64_t> resolves;
  std::set<int64_t> owners;
  for (const pqxx::row& row :
       transaction.exec_params(FactsQuery(), PgTextArray(alerting::RuleTypeNamesOverTime()))) {
    RowReader reader(row);
    alerting::RuleToEvaluate rule;
    rule.rule_id = reader.Next<int64_t>();
    rule.user_id = reader.Next<int64_t>();
    rule.plant_id = reader.Next<int64_t>();
    rule.definition = ReadRuleDefinition(reader);
    rule.severity = reader.Next<std::string>();
    alerting::SweepFacts facts;
    facts.rule_since = absl::FromUnixMicros(reader.Next<int64_t>());
    const bool alert_open = reader.Next<bool>();
    facts.last_reading = NextOptionalTime(reader);
    facts.battery_level = reader.NextOptional<double>();
    facts.last_watered = NextOptionalTime(reader);
    facts.water_frequency_days = reader.NextOptional<int>();
    facts.now = absl::FromUnixMicros(reader.Next<int64_t>());
    alerting::SweepVerdict verdict = alerting::Sweep(rule, facts, alert_open);
    switch (verdict.kind) {
      case alerting::SweepVerdict::Kind::kNone:
        continue;
      case alerting::SweepVerdict::Kind::kOpen:
        opens.push_back({rule, std::move(verdict)});
        break;
      case alerting::SweepVerdict::Kind::kResolve:
        resolves.push_back(rule.rule_id);
        break;
    }
    owners.insert(rule.user_id);
  }
  if (owners.empty()) return;
  LockAlertEvents(transaction, std::vector<int64_t>(owners.begin(), owners.end()));
  int64_t opened = 0;
  int64_t resolved = 0;
  if (!opens.empty()) {
    std::vector<int64_t> rules;
    std::vector<std::string> messages;
    std::vector<std::optional<double>> values;
    for (const Opening& open : opens) {
      rules.push_back(open.rule.rule_id);
      messages.push_back(open.verdict.message);
      values.push_back(open.verdict.value);
    }
    // A rule whose alert a reading (or another writer) opened meanwhile keeps
    // that one (alerts_one_open_per_rule).
    opened =
        transaction
            .exec_params(
                "INSERT INTO alerts (user_id, plant_id, rule_id, severity, message, "
                "triggered_value, "
                "threshold_value, triggered_at, latest_value, worst_value, last_triggered_at) "
                "SELECT r.user_id, r.plant_id, r.id, r.severity, v.message, v.value, "
                "r.threshold_value, "
                "now(), v.value, v.value, now() "
                "FROM unnest($1::int[], $2::text[], $3::float8[]) AS v(rule_id, message, value) "
                "JOIN alert_rules r ON r.id = v.rule_id ORDER BY r.id "
                "ON CONFLICT (rule_id) WHERE status IN ('active', 'acknowledged') DO NOTHING",
                PgIntArray(rules), PgTextArray(messages), PgNullableFloatArray(values))
            .affected_rows();
  }
  if (!resolves.empty()) {
    resolved = transaction
                   .exec_params(
                       "UPDATE alerts SET status = 'resolved', resolved_at = now() "
                       "WHERE rule_id = ANY($1::int[]) AND status IN ('active', 'acknowledged')",
                       PgIntArray(resolves))
                   .affected_rows();
  }
  transaction.commit();
  CountAlertChanges("opened", "sweeper", opened);
  CountAlertChanges("resolved", "sweeper", resolved);
}

}  // namespace

AlertSweeper::AlertSweeper(const postgres::DatabaseConfig& config, Options options)
    : connection_string_(postgres::LibpqConnectionString(config) +
                         " application_name='plantmon-alert-sweeper'"),
      options_(options) {
  thread_ = std::thread([this] { Run(); });
}

AlertSweeper::~AlertSweeper() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void AlertSweeper::Run() {
  absl::Duration backoff = options_.retry;
  while (!stop_.HasBeenNotified()) {
    try {
      pqxx::connection connection(connection_string_);
      backoff = options_.retry;
      absl::Time next_sweep = absl::Now();
      while (!stop_.HasBeenNotified()) {
        if (!sweeping_.load()) {
          pqxx::nontransaction attempt(connection);
          sweeping_ = attempt.exec_params1("SELECT pg_try_advisory_lock($1)", kSweeperLockKey)[0]
                          .as<bool>();
          if (sweeping_.load()) next_sweep = absl::Now();
        }
        if (sweeping_.load() && absl::Now() >= next_sweep) {
          SweepOnce(connection);
          sweeps_.fetch_add(1);
          next_sweep = absl::Now() + options_.every;
        }
        const absl::Duration wait = sweeping_.load()
                                        ? std::max(next_sweep - absl::Now(), absl::ZeroDuration())
                                        : options_.retry;
        stop_.WaitForNotificationWithTimeout(wait);
      }
    } catch (const std::exception& error) {
      // The session, and the lock with it, is gone (or a sweep failed and
      // the connection is suspect): start over after a pause.
      sweeping_ = false;
      std::fprintf(stderr, "alert sweeper: %s; reconnecting\n", error.what());
      stop_.WaitForNotificationWithTimeout(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(10));
    }
  }
  sweeping_ = false;
}

}  // namespace plantmon::storage
