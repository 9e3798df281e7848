#include "alerting/rules.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace plantmon::alerting {
namespace {

// Each vocabulary is one table: the enum value and its name.
constexpr std::array<std::pair<RuleType, absl::string_view>, 3> kRuleTypes = {{
    {RuleType::kThreshold, "threshold"},
    {RuleType::kRange, "range"},
    {RuleType::kDeviation, "deviation"},
}};

constexpr std::array<std::pair<Operator, absl::string_view>, 6> kOperators = {{
    {Operator::kLess, "<"},
    {Operator::kGreater, ">"},
    {Operator::kEqual, "=="},
    {Operator::kNotEqual, "!="},
    {Operator::kLessOrEqual, "<="},
    {Operator::kGreaterOrEqual, ">="},
}};

struct ParameterInfo {
  Parameter parameter;
  absl::string_view name;
  absl::string_view label;
};
constexpr std::array<ParameterInfo, 4> kParameters = {{
    {Parameter::kSoilMoisture, "soil_moisture", "Soil moisture"},
    {Parameter::kTemperature, "temperature", "Temperature"},
    {Parameter::kHumidity, "humidity", "Humidity"},
    {Parameter::kLight, "light", "Light"},
}};

template <typename Table, typename Value>
absl::string_view NameIn(const Table& table, Value value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "";
}

template <typename Value, typename Table>
absl::StatusOr<Value> ParseIn(const Table& table, absl::string_view name, absl::string_view field) {
  for (const auto& [value, candidate] : table) {
    if (candidate == name) return value;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field,
      " must be one of: ", absl::StrJoin(table, ", ", [](std::string* out, const auto& entry) {
        absl::StrAppend(out, entry.second);
      })));
}

const ParameterInfo* Find(Parameter parameter) {
  for (const ParameterInfo& info : kParameters) {
    if (info.parameter == parameter) return &info;
  }
  return nullptr;
}

}  // namespace

absl::string_view Name(RuleType type) { return NameIn(kRuleTypes, type); }
absl::string_view Name(Operator op) { return NameIn(kOperators, op); }
absl::string_view Name(Parameter parameter) {
  const ParameterInfo* info = Find(parameter);
  return info == nullptr ? "" : info->name;
}

absl::StatusOr<RuleType> ParseRuleType(absl::string_view name, absl::string_view field) {
  return ParseIn<RuleType>(kRuleTypes, name, field);
}

absl::StatusOr<Operator> ParseOperator(absl::string_view name, absl::string_view field) {
  return ParseIn<Operator>(kOperators, name, field);
}

absl::StatusOr<Parameter> ParseParameter(absl::string_view name, absl::string_view field) {
  std::array<std::pair<Parameter, absl::string_view>, kParameters.size()> names;
  for (size_t i = 0; i < kParameters.size(); ++i) {
    names[i] = {kParameters[i].parameter, kParameters[i].name};
  }
  return ParseIn<Parameter>(names, name, field);
}

absl::string_view Label(Parameter parameter) {
  const ParameterInfo* info = Find(parameter);
  return info == nullptr ? "" : info->label;
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
