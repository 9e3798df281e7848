#include "alerting/alert_engine.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace plantmon::alerting {
namespace {

std::string ParameterLabel(const std::string& parameter_name) {
  if (parameter_name == "soil_moisture") return "Soil moisture";
  if (parameter_name == "temperature") return "Temperature";
  if (parameter_name == "humidity") return "Humidity";
  if (parameter_name == "light") return "Light";
  return parameter_name;
}

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
  if (rule.rule_type == "range") {
    if (!rule.threshold_high.has_value()) return false;
    return value < rule.threshold_value || value > *rule.threshold_high;
  }
  if (rule.rule_type == "deviation") {
    if (!rule.optimum.has_value()) return false;
    return std::fabs(value - *rule.optimum) > rule.threshold_value;
  }
  const std::string& op = rule.condition_operator;
  const double t = rule.threshold_value;
  if (op == "<") return value < t;
  if (op == ">") return value > t;
  if (op == "<=") return value <= t;
  if (op == ">=") return value >= t;
  if (op == "==") return value == t;
  if (op == "!=") return value != t;
  return false;
}

double Distance(const RuleToEvaluate& rule, double value) {
  if (!Violates(rule, value)) return 0;
  if (rule.rule_type == "range") {
    return std::max(rule.threshold_value - value, value - *rule.threshold_high);
  }
  if (rule.rule_type == "deviation") return std::fabs(value - *rule.optimum);
  return std::fabs(value - rule.threshold_value);
}

std::string AlertMessage(const RuleToEvaluate& rule, const EvaluatedReading& reading) {
  const std::string label = ParameterLabel(rule.parameter_name);
  const std::string value = WithUnit(reading.value, reading.unit);
  if (rule.rule_type == "range") {
    return absl::StrCat(label, " is ", value,
                        " (allowed: ", WithUnit(rule.threshold_value, reading.unit), " to ",
                        WithUnit(rule.threshold_high.value_or(0), reading.unit), ")");
  }
  if (rule.rule_type == "deviation") {
    return absl::StrCat(label, " is ", value, ", ",
                        WithUnit(std::fabs(reading.value - rule.optimum.value_or(0)), reading.unit),
                        " from the optimum ", WithUnit(rule.optimum.value_or(0), reading.unit),
                        " (allowed: ", WithUnit(rule.threshold_value, reading.unit), ")");
  }
  const std::string threshold = WithUnit(rule.threshold_value, reading.unit);
  const std::string& op = rule.condition_operator;
  if (op == "<" || op == "<=") {
    return absl::StrCat(label, " dropped to ", value, " (threshold: ", threshold, ")");
  }
  if (op == ">" || op == ">=") {
    return absl::StrCat(label, " rose to ", value, " (threshold: ", threshold, ")");
  }
  if (op == "==") {
    return absl::StrCat(label, " reached ", value, " (threshold: ", threshold, ")");
  }
  return absl::StrCat(label, " is ", value, " (expected: ", threshold, ")");
}

std::vector<AlertChange> PlanAlertChanges(const RuleToEvaluate& rule,
                                          std::vector<EvaluatedReading> readings, bool alert_open) {
  std::stable_sort(readings.begin(), readings.end(),
                   [](const EvaluatedReading& a, const EvaluatedReading& b) {
                     return a.timestamp < b.timestamp;
                   });
  std::vector<AlertChange> changes;
  std::optional<AlertChange> run;
  for (const EvaluatedReading& reading : readings) {
    if (Violates(rule, reading.value)) {
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
    if (run.has_value()) {
      changes.push_back(*run);
      run.reset();
      alert_open = true;
    }
    if (alert_open) {
      AlertChange resolve;
      resolve.kind = AlertChange::Kind::kResolve;
      resolve.resolved_at = reading.timestamp;
      changes.push_back(resolve);
      alert_open = false;
    }
  }
  if (run.has_value()) changes.push_back(*run);
  return changes;
}

}  // namespace plantmon::alerting
