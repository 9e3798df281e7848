#include "alerting/rules.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/enum_table.h"

namespace plantmon::alerting {
namespace {

// Each vocabulary is one table: the enum value and its name.
constexpr common::EnumTable<RuleType, absl::string_view, 3> kRuleTypes({{
    {RuleType::kThreshold, "threshold"},
    {RuleType::kRange, "range"},
    {RuleType::kDeviation, "deviation"},
}});

constexpr common::EnumTable<Operator, absl::string_view, 6> kOperators({{
    {Operator::kLess, "<"},
    {Operator::kGreater, ">"},
    {Operator::kEqual, "=="},
    {Operator::kNotEqual, "!="},
    {Operator::kLessOrEqual, "<="},
    {Operator::kGreaterOrEqual, ">="},
}});

constexpr common::EnumTable<Parameter, absl::string_view, 4> kParameters({{
    {Parameter::kSoilMoisture, "soil_moisture"},
    {Parameter::kTemperature, "temperature"},
    {Parameter::kHumidity, "humidity"},
    {Parameter::kLight, "light"},
}});

constexpr common::EnumTable<Parameter, absl::string_view, 4> kParameterLabels({{
    {Parameter::kSoilMoisture, "Soil moisture"},
    {Parameter::kTemperature, "Temperature"},
    {Parameter::kHumidity, "Humidity"},
    {Parameter::kLight, "Light"},
}});

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
absl::string_view Name(Parameter parameter) { return kParameters.Forward(parameter).value_or(""); }

absl::StatusOr<RuleType> ParseRuleType(absl::string_view name, absl::string_view field) {
  return ParseIn(kRuleTypes, name, field);
}

absl::StatusOr<Operator> ParseOperator(absl::string_view name, absl::string_view field) {
  return ParseIn(kOperators, name, field);
}

absl::StatusOr<Parameter> ParseParameter(absl::string_view name, absl::string_view field) {
  return ParseIn(kParameters, name, field);
}

absl::string_view Label(Parameter parameter) {
  return kParameterLabels.Forward(parameter).value_or("");
}

std::optional<double> OptimumFor(Parameter parameter, const SpeciesOptima& optima) {
  switch (parameter) {
    case Parameter::kTemperature:
      return optima.temperature;
    case Parameter::kHumidity:
      return optima.humidity;
    case Parameter::kLight:
      return optima.light;
    case Parameter::kSoilMoisture:
      return std::nullopt;
  }
  return std::nullopt;
}

absl::Status CheckDefinition(const RuleDefinition& rule) {
  if (rule.type == RuleType::kRange &&
      (!rule.threshold_high.has_value() || *rule.threshold_high < rule.threshold_value)) {
    return absl::InvalidArgumentError(
        "range rules need alert_rule.threshold_high at or above threshold_value");
  }
  if (rule.type == RuleType::kDeviation && rule.threshold_value < 0) {
    return absl::InvalidArgumentError(
        "deviation rules need a threshold_value of 0 or more (a distance)");
  }
  return absl::OkStatus();
}

absl::Status CheckFitsSpecies(const RuleDefinition& rule, const SpeciesOptima& optima) {
  if (rule.type != RuleType::kDeviation || OptimumFor(rule.parameter, optima).has_value()) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("a deviation rule needs the plant's species to have an optimal ",
                   Name(rule.parameter), ", and it has none"));
}

}  // namespace plantmon::alerting
