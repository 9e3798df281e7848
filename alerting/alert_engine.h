#ifndef PLANTMON_ALERTING_ALERT_ENGINE_H_
#define PLANTMON_ALERTING_ALERT_ENGINE_H_

// The alert engine's pure part: whether a reading breaks a rule, how far, the
// message people read, and what a batch of readings does to a rule's open
// alert. No SQL here; storage/ingest_repository.cc persists what it decides
// inside the transaction that stores the readings.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "alerting/rules.h"

namespace plantmon::alerting {

// An active rule as the engine sees it, joined with its plant's species.
struct RuleToEvaluate {
  int64_t rule_id = 0;
  int64_t user_id = 0;
  int64_t plant_id = 0;
  RuleDefinition definition;
  std::optional<double> optimum;  // deviation rules: the species' optimum
  std::string severity;
};

struct EvaluatedReading {
  double value = 0;
  absl::Time timestamp;
  std::optional<std::string> unit;
  int64_t device_id = 0;
};

// True if `value` breaks `rule`. A deviation rule without an optimum never
// fires (the species lost it after the rule was made).
bool Violates(const RuleToEvaluate& rule, double value);

// True if `value` ends a violation of `rule`: beyond the threshold by the
// rule's hysteresis (no violation at all when it has none). A value that
// neither violates nor clears is in the band, and leaves an alert as it is.
bool Clears(const RuleToEvaluate& rule, double value);

// How far beyond the rule `value` is (0 when it does not break it): the
// "worst" value of an alert is the one with the largest distance.
double Distance(const RuleToEvaluate& rule, double value);

// e.g. "Soil moisture dropped to 18% (threshold: 25%)".
std::string AlertMessage(const RuleToEvaluate& rule, const EvaluatedReading& reading);

// One change to a rule's open alert, in order.
struct AlertChange {
  enum class Kind {
    // Open an alert, or extend the open one, with a run of violations.
    kViolations,
    // Resolve the open alert: a reading no longer breaks the rule.
    kResolve,
  };
  Kind kind = Kind::kViolations;
  int64_t count = 0;
  EvaluatedReading first;   // of the run
  EvaluatedReading latest;  // of the run
  EvaluatedReading worst;   // of the run
  absl::Time resolved_at;   // kResolve: the clearing reading's time
};

// The newest reading time already evaluated for a rule, per device.
using NewestEvaluated = std::map<int64_t, absl::Time>;

// A rule's timers between batches (table alert_rule_timers): since when its
// condition has held with no alert open, and since when an open alert's
// clear condition has held. Readings that break a condition stop its timer.
struct RuleTimers {
  std::optional<absl::Time> violating_since;
  std::optional<absl::Time> clearing_since;
  bool operator==(const RuleTimers& other) const {
    return violating_since == other.violating_since && clearing_since == other.clearing_since;
  }
  bool operator!=(const RuleTimers& other) const { return !(*this == other); }
};

// Walks `readings` (any order; sorted here by timestamp) and returns the
// changes they make to the rule's alert, given whether one is open now.
// Evaluation follows reading time: a reading no newer than the newest one
// already evaluated for the rule and its device (`newest`) changes nothing.
//
// With a for_duration, a violating reading opens an alert only once the
// rule's readings have violated it without a break for that long (from the
// first of them to this one); the alert's count and worst begin at the
// reading that opens it. With a clear_duration, a clearing reading resolves
// the alert only once the readings have cleared it without a break for that
// long. `timers` carries where both stand from one batch to the next (in and
// out); without it they start unset and are forgotten.
std::vector<AlertChange> PlanAlertChanges(const RuleToEvaluate& rule,
                                          std::vector<EvaluatedReading> readings, bool alert_open,
                                          const NewestEvaluated& newest = {},
                                          RuleTimers* timers = nullptr);

// What the sweeper knows of a time rule's plant (docs/telemetry.md, "Rules
// over time").
struct SweepFacts {
  absl::Time now;
  // When the rule was made or last changed: a silence or a wait counts from
  // then at the earliest.
  absl::Time rule_since;
  // no_data: the newest reading of the parameter from the plant's devices.
  std::optional<absl::Time> last_reading;
  // battery_below: the lowest current level among the plant's devices, each
  // device's newer of its last battery reading and its last heartbeat.
  std::optional<double> battery_level;
  // watering_overdue: the plant's last watering and the species' frequency.
  std::optional<absl::Time> last_watered;
  std::optional<int> water_frequency_days;
};

struct SweepVerdict {
  enum class Kind { kNone, kOpen, kResolve };
  Kind kind = Kind::kNone;
  // The alert's value: a battery level, days since watering; none for
  // no_data.
  std::optional<double> value;
  // e.g. "No soil moisture reading for 2h5m (allowed: 2h)".
  std::string message;
};

// What a sweep does to a time rule's alert (open it, resolve it, or leave
// it), given whether one is open. Rules judged on readings get kNone.
SweepVerdict Sweep(const RuleToEvaluate& rule, const SweepFacts& facts, bool alert_open);

}  // namespace plantmon::alerting

#endif  // PLANTMON_ALERTING_ALERT_ENGINE_H_
