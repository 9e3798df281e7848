#include "alerting/rules.h"

#include "gtest/gtest.h"

namespace plantmon::alerting {
namespace {

TEST(RulesTest, EveryNameParsesBackToItsValue) {
  for (RuleType type : {RuleType::kThreshold, RuleType::kRange, RuleType::kDeviation}) {
    EXPECT_EQ(ParseRuleType(Name(type), "f").value(), type) << Name(type);
  }
  for (Operator op : {Operator::kLess, Operator::kGreater, Operator::kEqual, Operator::kNotEqual,
                      Operator::kLessOrEqual, Operator::kGreaterOrEqual}) {
    EXPECT_EQ(ParseOperator(Name(op), "f").value(), op) << Name(op);
  }
  for (Parameter parameter : {Parameter::kSoilMoisture, Parameter::kTemperature,
                              Parameter::kHumidity, Parameter::kLight}) {
    EXPECT_EQ(ParseParameter(Name(parameter), "f").value(), parameter) << Name(parameter);
    EXPECT_FALSE(Label(parameter).empty());
  }
}

TEST(RulesTest, UnknownNamesListTheVocabulary) {
  absl::StatusOr<RuleType> type = ParseRuleType("vibes", "alert_rule.rule_type");
  EXPECT_EQ(type.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(type.status().message(),
            "alert_rule.rule_type must be one of: threshold, range, deviation");
  EXPECT_EQ(ParseOperator("=<", "op").status().message(),
            "op must be one of: <, >, ==, !=, <=, >=");
  EXPECT_EQ(ParseParameter("Temperature", "p").status().message(),
            "p must be one of: soil_moisture, temperature, humidity, light");
}

TEST(RulesTest, RangesNeedAnUpperBoundAtOrAboveTheLowerOne) {
  RuleDefinition range;
  range.type = RuleType::kRange;
  range.threshold_value = 18;
  EXPECT_EQ(CheckDefinition(range).code(), absl::StatusCode::kInvalidArgument);
  range.threshold_high = 17;
  EXPECT_EQ(CheckDefinition(range).code(), absl::StatusCode::kInvalidArgument);
  range.threshold_high = 18;
  EXPECT_TRUE(CheckDefinition(range).ok());
}

TEST(RulesTest, DeviationsAreDistancesFromAnOptimumTheSpeciesHas) {
  RuleDefinition deviation;
  deviation.type = RuleType::kDeviation;
  deviation.parameter = Parameter::kHumidity;
  deviation.threshold_value = -1;
  EXPECT_EQ(CheckDefinition(deviation).code(), absl::StatusCode::kInvalidArgument);
  deviation.threshold_value = 5;
  EXPECT_TRUE(CheckDefinition(deviation).ok());

  SpeciesOptima optima;
  optima.temperature = 22;
  absl::Status missing = CheckFitsSpecies(deviation, optima);
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(missing.message(),
            "a deviation rule needs the plant's species to have an optimal humidity, and it has "
            "none");
  optima.humidity = 60;
  EXPECT_TRUE(CheckFitsSpecies(deviation, optima).ok());
  EXPECT_EQ(OptimumFor(Parameter::kHumidity, optima), 60);
  EXPECT_EQ(OptimumFor(Parameter::kSoilMoisture, optima), std::nullopt)
      << "plant_types records no soil-moisture optimum";

  RuleDefinition threshold;  // other rule types never need an optimum
  EXPECT_TRUE(CheckFitsSpecies(threshold, SpeciesOptima{}).ok());
}

}  // namespace
}  // namespace plantmon::alerting
