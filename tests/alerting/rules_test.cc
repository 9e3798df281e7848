#include "alerting/rules.h"

#include <cmath>
#include <string>

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
}

TEST(RulesTest, ParametersAreCatalogueNamesThatReadAsWords) {
  for (const char* name : {"soil_moisture", "co2", "leaf_wetness2"}) {
    EXPECT_TRUE(CheckParameterName(name, "p").ok()) << name;
  }
  for (const char* name : {"", "Temperature", "2fast", "soil moisture", "x;DROP"}) {
    EXPECT_EQ(CheckParameterName(name, "p").code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_EQ(CheckParameterName(std::string(51, 'a'), "p").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Label("soil_moisture"), "Soil moisture");
  EXPECT_EQ(Label("co2"), "CO2");
  EXPECT_EQ(Label("leaf_wetness"), "Leaf wetness") << "one an administrator added";
}

TEST(RulesTest, UnknownNamesListTheVocabulary) {
  absl::StatusOr<RuleType> type = ParseRuleType("vibes", "alert_rule.rule_type");
  EXPECT_EQ(type.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(type.status().message(),
            "alert_rule.rule_type must be one of: threshold, range, deviation, no_data, "
            "battery_below, watering_overdue");
  EXPECT_EQ(ParseOperator("=<", "op").status().message(),
            "op must be one of: <, >, ==, !=, <=, >=");
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
  deviation.parameter = "humidity";
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
  EXPECT_EQ(OptimumFor("humidity", optima), 60);
  EXPECT_EQ(OptimumFor("soil_moisture", optima), std::nullopt)
      << "plant_types records no soil-moisture optimum";

  RuleDefinition threshold;  // other rule types never need an optimum
  EXPECT_TRUE(CheckFitsSpecies(threshold, SpeciesOptima{}).ok());
}

// docs/telemetry.md, "Flap control": a clear band that makes sense or none.
TEST(RulesTest, HysteresisMustLeaveAClearBand) {
  RuleDefinition rule;
  rule.op = Operator::kLess;
  rule.threshold_value = 25;
  rule.hysteresis = 3;
  EXPECT_TRUE(CheckDefinition(rule).ok());
  rule.hysteresis = -1;
  EXPECT_EQ(CheckDefinition(rule).code(), absl::StatusCode::kInvalidArgument);
  rule.hysteresis = std::nan("");
  EXPECT_EQ(CheckDefinition(rule).code(), absl::StatusCode::kInvalidArgument);
  rule.hysteresis = 1;
  rule.op = Operator::kEqual;
  EXPECT_EQ(CheckDefinition(rule).code(), absl::StatusCode::kInvalidArgument);
  rule.hysteresis = 0;
  EXPECT_TRUE(CheckDefinition(rule).ok());

  RuleDefinition range;
  range.type = RuleType::kRange;
  range.threshold_value = 18;
  range.threshold_high = 26;
  range.hysteresis = 4;
  EXPECT_TRUE(CheckDefinition(range).ok()) << "a band of width 0 in the middle";
  range.hysteresis = 4.5;
  absl::Status crossing = CheckDefinition(range);
  EXPECT_EQ(crossing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(crossing.message().find("crosses the range"), std::string::npos) << crossing;

  RuleDefinition deviation;
  deviation.type = RuleType::kDeviation;
  deviation.threshold_value = 3;
  deviation.hysteresis = 3;
  EXPECT_TRUE(CheckDefinition(deviation).ok());
  deviation.hysteresis = 3.5;
  EXPECT_EQ(CheckDefinition(deviation).code(), absl::StatusCode::kInvalidArgument);
}

TEST(RulesTest, DurationsAreFromZeroToThirtyDays) {
  RuleDefinition rule;
  rule.for_duration = absl::Minutes(10);
  rule.clear_duration = kMaxRuleDuration;
  EXPECT_TRUE(CheckDefinition(rule).ok());
  rule.for_duration = -absl::Seconds(1);
  absl::Status negative = CheckDefinition(rule);
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(negative.message().find("alert_rule.for_duration"), std::string::npos) << negative;
  rule.for_duration = absl::ZeroDuration();
  rule.clear_duration = kMaxRuleDuration + absl::Seconds(1);
  absl::Status long_one = CheckDefinition(rule);
  EXPECT_EQ(long_one.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(long_one.message().find("alert_rule.clear_duration"), std::string::npos) << long_one;
}

}  // namespace
}  // namespace plantmon::alerting
