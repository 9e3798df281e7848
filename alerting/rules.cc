#include "alerting/rules.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/enum_table.h"

namespace plantmon::alerting {
namespace {

// Each vocabulary is one table: the enum value and its name.
constexpr common::EnumTable<RuleType, absl::string_view, 6> kRuleTypes({{
    {RuleType::kThreshold, "threshold"},
    {RuleType::kRange, "range"},
    {RuleType::kDeviation, "deviation"},
    {RuleType::kNoData, "no_data"},
    {RuleType::kBatteryBelow, "battery_below"},
    {RuleType::kWateringOverdue, "watering_overdue"},
}});

constexpr common::EnumTable<Operator, absl::string_view, 6> kOperators({{
    {Operator::kLess, "<"},
    {Operator::kGreater, ">"},
    {Operator::kEqual, "=="},
    {Operator::kNotEqual, "!="},
    {Operator::kLessOrEqual, "<="},
    {Operator::kGreaterOrEqual, ">="},
}});

// How people read the catalogue's parameters (migration 0011); a parameter
// an administrator added reads as its name ("leaf_wetness": "Leaf wetness").
constexpr std::pair<absl::string_view, absl::string_view> kParameterLabels[] = {
    {"soil_moisture", "Soil moisture"},
    {"temperature", "Temperature"},
    {"humidity", "Humidity"},
    {"light", "Light"},
    {"conductivity", "Conductivity"},
    {"battery", "Battery"},
    {"soil_temperature", "Soil temperature"},
    {"co2", "CO2"},
    {"pressure", "Pressure"},
};

template <typename Table>
auto ParseIn(const Table& table, absl::string_view name, absl::string_view field)
    -> absl::StatusOr<typename decltype(table.Backward(name))::value_type> {
  if (auto value = table.Backward(name); value.has_value()) return *value;
  return absl::InvalidArgumentError(
      absl::StrCat(field, " must be one of: ",
                   absl::StrJoin(table.entries(), ", ", [](std::string* out, const auto& entry) {
                     absl::StrAppend(out, entry.second);
                   })));
}

}  // namespace

absl::string_view Name(RuleType type) { return kRuleTypes.Forward(type).value_or(""); }
absl::string_view Name(Operator op) { return kOperators.Forward(op).value_or(""); }

bool EvaluatedOnReadings(RuleType type) {
  return type != RuleType::kBatteryBelow && type != RuleType::kWateringOverdue;
}

bool EvaluatedOverTime(RuleType type) {
  return type == RuleType::kNoData || type == RuleType::kBatteryBelow ||
         type == RuleType::kWateringOverdue;
}

std::vector<std::string> RuleTypeNamesOverTime() {
  std::vector<std::string> names;
  for (const auto& [type, name] : kRuleTypes.entries()) {
    if (EvaluatedOverTime(type)) names.emplace_back(name);
  }
  return names;
}

std::optional<absl::string_view> BoundParameter(RuleType type) {
  // A watering_overdue rule watches no readings; it names soil moisture, the
  // parameter a watering raises, because every rule names a catalogued one.
  if (type == RuleType::kBatteryBelow) return "battery";
  if (type == RuleType::kWateringOverdue) return "soil_moisture";
  return std::nullopt;
}

absl::StatusOr<RuleType> ParseRuleType(absl::string_view name, absl::string_view field) {
  return ParseIn(kRuleTypes, name, field);
}

absl::StatusOr<Operator> ParseOperator(absl::string_view name, absl::string_view field) {
  return ParseIn(kOperators, name, field);
}

absl::Status CheckParameterName(absl::string_view name, absl::string_view field) {
  const bool well_formed = !name.empty() && name.size() <= 50 && absl::ascii_islower(name[0]) &&
                           std::all_of(name.begin(), name.end(), [](char c) {
                             return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
                           });
  if (well_formed) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field,
                   " must be a measurement parameter's name: 1-50 lower-case letters, digits and "
                   "underscores, starting with a letter (e.g. soil_moisture)"));
}

std::string Label(absl::string_view parameter) {
  for (const auto& [name, label] : kParameterLabels) {
    if (name == parameter) return std::string(label);
  }
  std::string label = absl::StrReplaceAll(parameter, {{"_", " "}});
  if (!label.empty()) label[0] = absl::ascii_toupper(label[0]);
  return label;
}

std::optional<double> OptimumFor(absl::string_view parameter, const SpeciesOptima& optima) {
  if (parameter == "temperature") return optima.temperature;
  if (parameter == "humidity") return optima.humidity;
  if (parameter == "light") return optima.light;
  return std::nullopt;
}

absl::Status CheckDefinition(const RuleDefinition& rule) {
  for (const auto& [name, duration] : {std::make_pair("for_duration", rule.for_duration),
                                       std::make_pair("clear_duration", rule.clear_duration)}) {
    if (duration < absl::ZeroDuration() || duration > kMaxRuleDuration) {
      return absl::InvalidArgumentError(absl::StrCat(
          "alert_rule.", name, " must be from 0 to ", absl::ToInt64Hours(kMaxRuleDuration) / 24,
          " days, not ", absl::FormatDuration(duration)));
    }
  }
  if (rule.interval < absl::ZeroDuration() || rule.interval > kMaxRuleInterval) {
    return absl::InvalidArgumentError(absl::StrCat(
        "alert_rule.interval must be from 0 to ", absl::ToInt64Hours(kMaxRuleInterval) / 24,
        " days, not ", absl::FormatDuration(rule.interval)));
  }
  if (rule.type == RuleType::kNoData && rule.interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "no_data rules need an alert_rule.interval above 0: the longest silence allowed");
  }
  if (std::optional<absl::string_view> bound = BoundParameter(rule.type);
      bound.has_value() && rule.parameter != *bound) {
    return absl::InvalidArgumentError(absl::StrCat(Name(rule.type), " rules watch ", *bound,
                                                   ", not ", rule.parameter,
                                                   " (leave parameter_name empty)"));
  }
  if (rule.type == RuleType::kBatteryBelow &&
      !(rule.threshold_value > 0 && rule.threshold_value <= 100)) {
    return absl::InvalidArgumentError(
        "battery_below rules need a threshold_value above 0 and at most 100 (a battery level in "
        "%)");
  }
  if (rule.type == RuleType::kRange &&
      (!rule.threshold_high.has_value() || *rule.threshold_high < rule.threshold_value)) {
    return absl::InvalidArgumentError(
        "range rules need alert_rule.threshold_high at or above threshold_value");
  }
  if (rule.type == RuleType::kDeviation && rule.threshold_value < 0) {
    return absl::InvalidArgumentError(
        "deviation rules need a threshold_value of 0 or more (a distance)");
  }
  const double h = rule.hysteresis;
  if (!std::isfinite(h) || h < 0) {
    return absl::InvalidArgumentError("alert_rule.hysteresis must be a number of 0 or more");
  }
  if (h == 0) return absl::OkStatus();
  if (rule.type == RuleType::kThreshold &&
      (rule.op == Operator::kEqual || rule.op == Operator::kNotEqual)) {
    return absl::InvalidArgumentError(
        "alert_rule.hysteresis needs an ordered comparison (<, <=, >, >=), not == or !=");
  }
  if (rule.type == RuleType::kRange && rule.threshold_high.has_value() &&
      2 * h > *rule.threshold_high - rule.threshold_value) {
    return absl::InvalidArgumentError(
        absl::StrCat("alert_rule.hysteresis ", h,
                     " crosses the range: a clear band needs at most half its "
                     "width (",
                     (*rule.threshold_high - rule.threshold_value) / 2, ")"));
  }
  if (rule.type == RuleType::kDeviation && h > rule.threshold_value) {
    return absl::InvalidArgumentError(
        absl::StrCat("alert_rule.hysteresis ", h,
                     " crosses the threshold: a deviation rule's clear band is "
                     "at most its threshold_value (",
                     rule.threshold_value, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckFitsSpecies(const RuleDefinition& rule, const SpeciesOptima& optima) {
  if (rule.type == RuleType::kWateringOverdue && rule.interval == absl::ZeroDuration() &&
      !optima.water_frequency_days.has_value()) {
    return absl::FailedPreconditionError(
        "a watering_overdue rule without an interval goes by the species' "
        "water_frequency_days, and the plant's species has none: give the rule an interval");
  }
  if (rule.type != RuleType::kDeviation || OptimumFor(rule.parameter, optima).has_value()) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("a deviation rule needs the plant's species to have an optimal ", rule.parameter,
                   ", and it has none"));
}

}  // namespace plantmon::alerting
