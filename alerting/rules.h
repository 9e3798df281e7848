#ifndef PLANTMON_ALERTING_RULES_H_
#define PLANTMON_ALERTING_RULES_H_

// The vocabulary of alert rules, in one place: rule types and comparison
// operators, each with the name the API and the database spell it with
// (migrations/0003_telemetry_and_alert_engine.sql holds the same sets as CHECK
// constraints), how parameters read, and the checks a rule must pass before
// storage persists it.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace plantmon::alerting {

// threshold: `value <op> threshold_value`. range: outside [threshold_value,
// threshold_high]. deviation: further than threshold_value from the species'
// optimum for the parameter. These three judge readings as they arrive.
//
// The rest judge time, in the sweeper (docs/telemetry.md, "Rules over
// time"): no_data, no reading of the parameter from the plant's devices for
// longer than the rule's interval (a reading resolves it at once);
// battery_below, a device of the plant reports a battery level below
// threshold_value (readings of `battery` or heartbeats); watering_overdue,
// not watered for longer than the rule's interval or, without one, the
// species' water_frequency_days.
enum class RuleType { kThreshold, kRange, kDeviation, kNoData, kBatteryBelow, kWateringOverdue };

// True for the rule types the ingest path evaluates reading by reading
// (no_data too: its readings resolve it); false for those only the sweeper
// judges.
bool EvaluatedOnReadings(RuleType type);
// True for the rule types the sweeper judges.
bool EvaluatedOverTime(RuleType type);
// Their names, in the vocabulary's order.
std::vector<std::string> RuleTypeNamesOverTime();
// The parameter a rule type is bound to ("battery" for battery_below), if
// any: rules of that type store it whatever the request named.
std::optional<absl::string_view> BoundParameter(RuleType type);

enum class Operator { kLess, kGreater, kEqual, kNotEqual, kLessOrEqual, kGreaterOrEqual };

absl::string_view Name(RuleType type);
absl::string_view Name(Operator op);

// The value `name` spells, or INVALID_ARGUMENT "<field> must be one of: ...".
absl::StatusOr<RuleType> ParseRuleType(absl::string_view name, absl::string_view field);
absl::StatusOr<Operator> ParseOperator(absl::string_view name, absl::string_view field);
// Parameters are the catalogue's (table measurement_parameters, migration
// 0011), so whether one exists is the database's to say; this checks only
// the form its CHECK constraint holds: INVALID_ARGUMENT naming `field`.
absl::Status CheckParameterName(absl::string_view name, absl::string_view field);

// How people read a parameter: "Soil moisture".
std::string Label(absl::string_view parameter);

// A species' optima, as plant_types records them (none for soil moisture).
struct SpeciesOptima {
  std::optional<double> temperature;
  std::optional<double> humidity;
  std::optional<double> light;
  // Not an optimum, but the species' care the same way: watering_overdue
  // rules without an interval of their own go by it.
  std::optional<int> water_frequency_days;
};

// The optimum a deviation rule over `parameter` measures from, if the species
// has one.
std::optional<double> OptimumFor(absl::string_view parameter, const SpeciesOptima& optima);

// What a rule says, whole.
struct RuleDefinition {
  RuleType type = RuleType::kThreshold;
  // A catalogued measurement parameter's name.
  std::string parameter = "soil_moisture";
  Operator op = Operator::kLess;
  double threshold_value = 0;
  std::optional<double> threshold_high;
  // The clear band, in the parameter's unit (docs/telemetry.md, "Flap
  // control"): a violated "< 25" rule with hysteresis 3 resolves only at 28
  // or more.
  double hysteresis = 0;
  // How long, by reading timestamps, the condition must hold before an alert
  // opens, and the clear condition before it resolves (docs/telemetry.md,
  // "Flap control"). Zero: at the first reading.
  absl::Duration for_duration = absl::ZeroDuration();
  absl::Duration clear_duration = absl::ZeroDuration();
  // no_data: the longest silence allowed (above 0). watering_overdue: the
  // longest time between waterings (0: the species' water_frequency_days).
  absl::Duration interval = absl::ZeroDuration();
};

// The longest interval (migration 0019 holds the same).
inline constexpr absl::Duration kMaxRuleInterval = absl::Hours(24 * 365);

// The longest for_duration or clear_duration (migration 0018 holds the same).
inline constexpr absl::Duration kMaxRuleDuration = absl::Hours(24 * 30);

// The checks across fields (INVALID_ARGUMENT): a range needs threshold_high at
// or above threshold_value; a deviation's threshold is a distance, so not
// negative; a hysteresis is not negative, needs an ordered comparison (not
// == or !=), and leaves a clear band: at most half a range's width, at most
// a deviation's threshold; for_duration and clear_duration are from 0 to
// kMaxRuleDuration; an interval is from 0 to kMaxRuleInterval, and above 0
// for no_data; battery_below's threshold is a level above 0 and at most 100;
// a rule bound to a parameter names that one.
absl::Status CheckDefinition(const RuleDefinition& rule);

// FAILED_PRECONDITION when a deviation rule watches a parameter the plant's
// species has no optimum for, or a watering_overdue rule without an interval
// has a species without a watering frequency.
absl::Status CheckFitsSpecies(const RuleDefinition& rule, const SpeciesOptima& optima);

}  // namespace plantmon::alerting

#endif  // PLANTMON_ALERTING_RULES_H_
