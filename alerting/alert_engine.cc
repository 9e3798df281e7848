#include "alerting/alert_engine.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace plantmon::alerting {
namespace {

// 18 -> "18", 22.456 -> "22.46"; with the unit glued on for % and °C.
std::string WithUnit(double value, const std::optional<std::string>& unit) {
  std::string number = absl::StrFormat("%.2f", value);
  while (!number.empty() && number.back() == '0') number.pop_back();
  if (!number.empty() && number.back() == '.') number.pop_back();
  if (number == "-0") number = "0";
  if (!unit.has_value() || unit->empty()) return number;
  if (*unit == "%" || *unit == "°C" || *unit == "°F") return number + *unit;
  return absl::StrCat(number, " ", *unit);
}

}  // namespace

bool Violates(const RuleToEvaluate& rule, double value) {
  const RuleDefinition& definition = rule.definition;
  const double t = definition.threshold_value;
  switch (definition.type) {
    case RuleType::kRange:
      if (!definition.threshold_high.has_value()) return false;
      return value < t || value > *definition.threshold_high;
    case RuleType::kDeviation:
      if (!rule.optimum.has_value()) return false;
      return std::fabs(value - *rule.optimum) > t;
    case RuleType::kBatteryBelow:
      return value < t;
    case RuleType::kNoData:
    case RuleType::kWateringOverdue:
      return false;  // a value never breaks them; time does (Sweep)
    case RuleType::kThreshold:
      break;
  }
  switch (definition.op) {
    case Operator::kLess:
      return value < t;
    case Operator::kGreater:
      return value > t;
    case Operator::kLessOrEqual:
      return value <= t;
    case Operator::kGreaterOrEqual:
      return value >= t;
    case Operator::kEqual:
      return value == t;
    case Operator::kNotEqual:
      return value != t;
  }
  return false;
}

bool Clears(const RuleToEvaluate& rule, double value) {
  const RuleDefinition& definition = rule.definition;
  const double h = definition.hysteresis;
  if (h <= 0) return !Violates(rule, value);
  const double t = definition.threshold_value;
  switch (definition.type) {
    case RuleType::kRange:
      if (!definition.threshold_high.has_value()) return true;
      return value >= t + h && value <= *definition.threshold_high - h;
    case RuleType::kDeviation:
      if (!rule.optimum.has_value()) return true;
      return std::fabs(value - *rule.optimum) <= t - h;
    case RuleType::kBatteryBelow:
      return value >= t + h;
    case RuleType::kNoData:
    case RuleType::kWateringOverdue:
      return true;
    case RuleType::kThreshold:
      break;
  }
  switch (definition.op) {
    case Operator::kLess:
    case Operator::kLessOrEqual:
      return value >= t + h;
    case Operator::kGreater:
    case Operator::kGreaterOrEqual:
      return value <= t - h;
    case Operator::kEqual:
    case Operator::kNotEqual:
      break;  // refused with a hysteresis (CheckDefinition)
  }
  return !Violates(rule, value);
}

double Distance(const RuleToEvaluate& rule, double value) {
  if (!Violates(rule, value)) return 0;
  const RuleDefinition& definition = rule.definition;
  switch (definition.type) {
    case RuleType::kRange:
      return std::max(definition.threshold_value - value, value - *definition.threshold_high);
    case RuleType::kDeviation:
      return std::fabs(value - *rule.optimum);
    case RuleType::kBatteryBelow:
    case RuleType::kNoData:
    case RuleType::kWateringOverdue:
    case RuleType::kThreshold:
      break;
  }
  return std::fabs(value - definition.threshold_value);
}

std::string AlertMessage(const RuleToEvaluate& rule, const EvaluatedReading& reading) {
  const RuleDefinition& definition = rule.definition;
  const std::string label = Label(definition.parameter);
  const std::string value = WithUnit(reading.value, reading.unit);
  switch (definition.type) {
    case RuleType::kRange:
      return absl::StrCat(label, " is ", value,
                          " (allowed: ", WithUnit(definition.threshold_value, reading.unit), " to ",
                          WithUnit(definition.threshold_high.value_or(0), reading.unit), ")");
    case RuleType::kDeviation:
      return absl::StrCat(
          label, " is ", value, ", ",
          WithUnit(std::fabs(reading.value - rule.optimum.value_or(0)), reading.unit),
          " from the optimum ", WithUnit(rule.optimum.value_or(0), reading.unit),
          " (allowed: ", WithUnit(definition.threshold_value, reading.unit), ")");
    case RuleType::kBatteryBelow:
      return absl::StrCat("Battery at ", WithUnit(reading.value, "%"),
                          " (threshold: ", WithUnit(definition.threshold_value, "%"), ")");
    case RuleType::kNoData:           // Sweep words these
    case RuleType::kWateringOverdue:  // (never on a reading)
    case RuleType::kThreshold:
      break;
  }
  const std::string threshold = WithUnit(definition.threshold_value, reading.unit);
  switch (definition.op) {
    case Operator::kLess:
    case Operator::kLessOrEqual:
      return absl::StrCat(label, " dropped to ", value, " (threshold: ", threshold, ")");
    case Operator::kGreater:
    case Operator::kGreaterOrEqual:
      return absl::StrCat(label, " rose to ", value, " (threshold: ", threshold, ")");
    case Operator::kEqual:
      return absl::StrCat(label, " reached ", value, " (threshold: ", threshold, ")");
    case Operator::kNotEqual:
      break;
  }
  return absl::StrCat(label, " is ", value, " (expected: ", threshold, ")");
}

std::vector<AlertChange> PlanAlertChanges(const RuleToEvaluate& rule,
                                          std::vector<EvaluatedReading> readings, bool alert_open,
                                          const NewestEvaluated& newest, RuleTimers* timers) {
  readings.erase(std::remove_if(readings.begin(), readings.end(),
                                [&](const EvaluatedReading& reading) {
                                  auto it = newest.find(reading.device_id);
                                  return it != newest.end() && reading.timestamp <= it->second;
                                }),
                 readings.end());
  std::stable_sort(readings.begin(), readings.end(),
                   [](const EvaluatedReading& a, const EvaluatedReading& b) {
                     return a.timestamp < b.timestamp;
                   });
  RuleTimers local;
  RuleTimers& timer = timers != nullptr ? *timers : local;
  const RuleDefinition& definition = rule.definition;
  std::vector<AlertChange> changes;
  // Violations not written yet: for the alert open before the batch
  // (alert_open), or for one the batch opened.
  std::optional<AlertChange> run;
  for (const EvaluatedReading& reading : readings) {
    if (Violates(rule, reading.value)) {
      timer.clearing_since.reset();
      if (!alert_open && !run.has_value()) {
        if (!timer.violating_since.has_value()) timer.violating_since = reading.timestamp;
        if (reading.timestamp - *timer.violating_since < definition.for_duration) continue;
        timer.violating_since.reset();  // it opens now
      }
      if (!run.has_value()) {
        run = AlertChange{AlertChange::Kind::kViolations, 0, reading, reading, reading, {}};
      }
      ++run->count;
      run->latest = reading;
      if (Distance(rule, reading.value) > Distance(rule, run->worst.value)) {
        run->worst = reading;
      }
      continue;
    }
    // The violation is broken: an alert that was waiting to open never does.
    timer.violating_since.reset();
    // In the band: neither a violation nor clear of it; the alert stays, and
    // its clear timer starts again.
    if (!Clears(rule, reading.value)) {
      timer.clearing_since.reset();
      continue;
    }
    if (!alert_open && !run.has_value()) continue;  // nothing to resolve
    if (!timer.clearing_since.has_value()) timer.clearing_since = reading.timestamp;
    if (reading.timestamp - *timer.clearing_since < definition.clear_duration) continue;
    timer.clearing_since.reset();
    if (run.has_value()) {
      changes.push_back(*run);
      run.reset();
    }
    AlertChange resolve;
    resolve.kind = AlertChange::Kind::kResolve;
    resolve.resolved_at = reading.timestamp;
    changes.push_back(resolve);
    alert_open = false;
  }
  if (run.has_value()) changes.push_back(*run);
  return changes;
}

namespace {

// "2h5m", "3 days": a silence or a wait as people read it, to the minute.
std::string Span(absl::Duration span) {
  if (span >= absl::Hours(48)) {
    return absl::StrCat(absl::ToInt64Hours(span) / 24, " days");
  }
  return absl::FormatDuration(absl::Trunc(span, absl::Minutes(1)));
}

}  // namespace

SweepVerdict Sweep(const RuleToEvaluate& rule, const SweepFacts& facts, bool alert_open) {
  const RuleDefinition& definition = rule.definition;
  SweepVerdict verdict;
  auto decide = [&](bool broken) {
    if (broken && !alert_open) verdict.kind = SweepVerdict::Kind::kOpen;
    if (!broken && alert_open) verdict.kind = SweepVerdict::Kind::kResolve;
  };
  switch (definition.type) {
    case RuleType::kNoData: {
      const absl::Time since =
          std::max(facts.last_reading.value_or(facts.rule_since), facts.rule_since);
      const absl::Duration silence = facts.now - since;
      decide(silence > definition.interval);
      verdict.message =
          absl::StrCat("No ", absl::AsciiStrToLower(Label(definition.parameter)), " reading for ",
                       Span(silence), " (allowed: ", Span(definition.interval), ")");
      return verdict;
    }
    case RuleType::kBatteryBelow: {
      if (!facts.battery_level.has_value()) return verdict;  // nothing reported yet
      const double level = *facts.battery_level;
      if (Violates(rule, level)) {
        decide(true);
      } else if (Clears(rule, level)) {
        decide(false);
      }
      verdict.value = level;
      verdict.message = AlertMessage(rule, {level, facts.now, "%"});
      return verdict;
    }
    case RuleType::kWateringOverdue: {
      absl::Duration every = definition.interval;
      if (every == absl::ZeroDuration()) {
        if (!facts.water_frequency_days.has_value()) return verdict;
        every = absl::Hours(24) * *facts.water_frequency_days;
      }
      const absl::Time since = facts.last_watered.value_or(facts.rule_since);
      const absl::Duration dry = facts.now - since;
      decide(dry > every);
      verdict.value = absl::ToDoubleHours(dry) / 24;
      verdict.message = absl::StrCat(
          facts.last_watered.has_value() ? "Not watered for " : "No watering recorded in ",
          Span(dry), " (every ", Span(every), ")");
      return verdict;
    }
    case RuleType::kThreshold:
    case RuleType::kRange:
    case RuleType::kDeviation:
      break;
  }
  return verdict;
}

}  // namespace plantmon::alerting
