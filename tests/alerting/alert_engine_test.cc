#include "alerting/alert_engine.h"

#include <vector>

#include "gtest/gtest.h"

namespace plantmon::alerting {
namespace {

RuleToEvaluate Threshold(const std::string& op, double threshold,
                         const std::string& parameter = "soil_moisture") {
  RuleToEvaluate rule;
  rule.rule_id = 1;
  rule.definition.type = RuleType::kThreshold;
  rule.definition.parameter = parameter;
  rule.definition.op = ParseOperator(op, "op").value();
  rule.definition.threshold_value = threshold;
  rule.severity = "warning";
  return rule;
}

EvaluatedReading At(double value, int minute, std::optional<std::string> unit = "%") {
  return {value, absl::FromUnixSeconds(1700000000 + 60 * minute), std::move(unit)};
}

TEST(AlertEngineTest, ThresholdOperators) {
  EXPECT_TRUE(Violates(Threshold("<", 25), 24.9));
  EXPECT_FALSE(Violates(Threshold("<", 25), 25));
  EXPECT_TRUE(Violates(Threshold("<=", 25), 25));
  EXPECT_TRUE(Violates(Threshold(">", 30), 30.1));
  EXPECT_FALSE(Violates(Threshold(">", 30), 30));
  EXPECT_TRUE(Violates(Threshold(">=", 30), 30));
  EXPECT_TRUE(Violates(Threshold("==", 0), 0));
  EXPECT_FALSE(Violates(Threshold("==", 0), 0.5));
  EXPECT_TRUE(Violates(Threshold("!=", 1), 0));
  EXPECT_FALSE(Violates(Threshold("!=", 1), 1));
}

TEST(AlertEngineTest, RangeRulesFireOutsideTheirInterval) {
  RuleToEvaluate rule = Threshold(">", 18, "temperature");
  rule.definition.type = RuleType::kRange;
  rule.definition.threshold_high = 26;
  EXPECT_TRUE(Violates(rule, 17.5));
  EXPECT_FALSE(Violates(rule, 18));
  EXPECT_FALSE(Violates(rule, 26));
  EXPECT_TRUE(Violates(rule, 27));
  EXPECT_DOUBLE_EQ(Distance(rule, 15), 3);
  EXPECT_DOUBLE_EQ(Distance(rule, 30), 4);
  EXPECT_EQ(Distance(rule, 20), 0);
}

TEST(AlertEngineTest, DeviationRulesMeasureFromTheSpeciesOptimum) {
  RuleToEvaluate rule = Threshold(">", 3, "temperature");
  rule.definition.type = RuleType::kDeviation;
  rule.optimum = 22.5;
  EXPECT_FALSE(Violates(rule, 25.5));
  EXPECT_TRUE(Violates(rule, 25.6));
  EXPECT_TRUE(Violates(rule, 19));
  EXPECT_DOUBLE_EQ(Distance(rule, 19), 3.5);
  rule.optimum.reset();
  EXPECT_FALSE(Violates(rule, 100)) << "no optimum, no alert";
}

TEST(AlertEngineTest, MessagesReadLikeTheSeed) {
  EXPECT_EQ(AlertMessage(Threshold("<", 25), At(18, 0)),
            "Soil moisture dropped to 18% (threshold: 25%)");
  EXPECT_EQ(AlertMessage(Threshold(">", 30, "temperature"), At(31.25, 0, "°C")),
            "Temperature rose to 31.25°C (threshold: 30°C)");
  EXPECT_EQ(AlertMessage(Threshold(">", 20000, "light"), At(25000, 0, "lux")),
            "Light rose to 25000 lux (threshold: 20000 lux)");
  RuleToEvaluate range = Threshold(">", 40, "humidity");
  range.definition.type = RuleType::kRange;
  range.definition.threshold_high = 70;
  EXPECT_EQ(AlertMessage(range, At(82, 0)), "Humidity is 82% (allowed: 40% to 70%)");
}

TEST(AlertEngineTest, AViolationRunOpensOneAlertWithCountLatestAndWorst) {
  RuleToEvaluate rule = Threshold("<", 25);
  // Out of order on purpose: the plan follows timestamps.
  std::vector<AlertChange> changes =
      PlanAlertChanges(rule, {At(20, 2), At(18, 1), At(22, 3)}, /*alert_open=*/false);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, AlertChange::Kind::kViolations);
  EXPECT_EQ(changes[0].count, 3);
  EXPECT_EQ(changes[0].first.value, 18);
  EXPECT_EQ(changes[0].latest.value, 22);
  EXPECT_EQ(changes[0].worst.value, 18);
}

TEST(AlertEngineTest, AClearReadingResolvesAndALaterViolationOpensAgain) {
  RuleToEvaluate rule = Threshold("<", 25);
  std::vector<AlertChange> changes =
      PlanAlertChanges(rule, {At(20, 0), At(30, 1), At(31, 2), At(10, 3)}, false);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].kind, AlertChange::Kind::kViolations);
  EXPECT_EQ(changes[1].kind, AlertChange::Kind::kResolve);
  EXPECT_EQ(changes[1].resolved_at, At(30, 1).timestamp);
  EXPECT_EQ(changes[2].kind, AlertChange::Kind::kViolations);
  EXPECT_EQ(changes[2].count, 1);
}

TEST(AlertEngineTest, ClearReadingsResolveOnlyAnAlertThatIsOpen) {
  RuleToEvaluate rule = Threshold("<", 25);
  EXPECT_TRUE(PlanAlertChanges(rule, {At(30, 0), At(40, 1)}, false).empty());
  std::vector<AlertChange> changes = PlanAlertChanges(rule, {At(30, 0), At(40, 1)}, true);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, AlertChange::Kind::kResolve);
}

// docs/telemetry.md, "Flap control": with hysteresis 3, a violated "< 25"
// rule resolves only at 28 or more; readings in between leave it open.
TEST(AlertEngineTest, HysteresisHoldsAnAlertUntilTheClearBand) {
  RuleToEvaluate rule = Threshold("<", 25);
  rule.definition.hysteresis = 3;
  EXPECT_TRUE(Clears(rule, 28));
  EXPECT_FALSE(Clears(rule, 27.9));
  EXPECT_FALSE(Clears(rule, 24));
  std::vector<AlertChange> changes = PlanAlertChanges(
      rule, {At(24, 0), At(26, 1), At(24.5, 2), At(27.5, 3), At(28, 4), At(26, 5)}, false);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].kind, AlertChange::Kind::kViolations);
  EXPECT_EQ(changes[0].count, 2);
  EXPECT_EQ(changes[1].kind, AlertChange::Kind::kResolve);
  EXPECT_EQ(changes[1].resolved_at, At(28, 4).timestamp);

  // Without it, the same readings flap: open, resolve, open, resolve.
  rule.definition.hysteresis = 0;
  changes = PlanAlertChanges(
      rule, {At(24, 0), At(26, 1), At(24.5, 2), At(27.5, 3), At(28, 4), At(26, 5)}, false);
  EXPECT_EQ(changes.size(), 4u);

  // Each kind of rule has its band on the good side.
  RuleToEvaluate hot = Threshold(">", 30);
  hot.definition.hysteresis = 2;
  EXPECT_FALSE(Clears(hot, 29));
  EXPECT_TRUE(Clears(hot, 28));
  RuleToEvaluate range = Threshold(">", 18, "temperature");
  range.definition.type = RuleType::kRange;
  range.definition.threshold_high = 26;
  range.definition.hysteresis = 1;
  EXPECT_FALSE(Clears(range, 18.5));
  EXPECT_TRUE(Clears(range, 19));
  EXPECT_TRUE(Clears(range, 25));
  EXPECT_FALSE(Clears(range, 25.5));
  RuleToEvaluate deviation = Threshold(">", 3, "temperature");
  deviation.definition.type = RuleType::kDeviation;
  deviation.optimum = 22;
  deviation.definition.hysteresis = 1;
  EXPECT_FALSE(Clears(deviation, 24.5));
  EXPECT_TRUE(Clears(deviation, 24));
}

// A reading no newer than what the rule already evaluated for its device (a
// late batch) changes nothing; another device's readings are their own.
TEST(AlertEngineTest, StaleReadingsChangeNoAlert) {
  RuleToEvaluate rule = Threshold("<", 25);
  EvaluatedReading late_clear = At(40, -60);
  late_clear.device_id = 7;
  NewestEvaluated newest = {{7, At(0, 0).timestamp}};
  EXPECT_TRUE(PlanAlertChanges(rule, {late_clear}, true, newest).empty());
  EvaluatedReading same_time = At(40, 0);
  same_time.device_id = 7;
  EXPECT_TRUE(PlanAlertChanges(rule, {same_time}, true, newest).empty());
  EvaluatedReading other_device = At(40, -60);
  other_device.device_id = 8;
  EXPECT_EQ(PlanAlertChanges(rule, {other_device}, true, newest).size(), 1u);
  EvaluatedReading fresh = At(40, 1);
  fresh.device_id = 7;
  std::vector<AlertChange> changes = PlanAlertChanges(rule, {late_clear, fresh}, true, newest);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].resolved_at, fresh.timestamp);
}

TEST(AlertEngineTest, ForDurationOpensOnlyOnceTheViolationHeldThatLong) {
  RuleToEvaluate rule = Threshold("<", 25);
  rule.definition.for_duration = absl::Minutes(10);
  RuleTimers timers;
  // Minutes 0 to 9 dry: nothing yet, the timer runs from minute 0.
  EXPECT_TRUE(PlanAlertChanges(rule, {At(20, 0), At(19, 9)}, false, {}, &timers).empty());
  EXPECT_EQ(timers.violating_since, At(0, 0).timestamp);
  // Minute 10, in the next batch: it opens there, counting from there.
  std::vector<AlertChange> changes =
      PlanAlertChanges(rule, {At(18, 10), At(12, 11)}, false, {}, &timers);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, AlertChange::Kind::kViolations);
  EXPECT_EQ(changes[0].first.timestamp, At(0, 10).timestamp);
  EXPECT_EQ(changes[0].count, 2);
  EXPECT_EQ(changes[0].worst.value, 12);
  EXPECT_FALSE(timers.violating_since.has_value());
  // Without the earlier batch's timer, the same readings open nothing.
  RuleTimers fresh;
  EXPECT_TRUE(PlanAlertChanges(rule, {At(18, 10), At(12, 11)}, false, {}, &fresh).empty());
}

TEST(AlertEngineTest, AnyBreakRestartsTheForDuration) {
  RuleToEvaluate rule = Threshold("<", 25);
  rule.definition.for_duration = absl::Minutes(10);
  rule.definition.hysteresis = 3;
  RuleTimers timers;
  // A reading in the band (26: not dry, not clear either) breaks the wait.
  EXPECT_TRUE(
      PlanAlertChanges(rule, {At(20, 0), At(26, 5), At(20, 6), At(20, 15)}, false, {}, &timers)
          .empty());
  EXPECT_EQ(timers.violating_since, At(0, 6).timestamp);
  EXPECT_EQ(PlanAlertChanges(rule, {At(20, 16)}, false, {}, &timers).size(), 1u);
}

TEST(AlertEngineTest, ClearDurationResolvesOnlyOnceTheReadingsStayedClear) {
  RuleToEvaluate rule = Threshold("<", 25);
  rule.definition.clear_duration = absl::Minutes(5);
  RuleTimers timers;
  // Open alert; clear for 4 minutes, a violation, clear for 5: resolved at
  // the fifth minute of the second stretch.
  std::vector<AlertChange> changes =
      PlanAlertChanges(rule, {At(30, 0), At(30, 4), At(20, 5), At(30, 6), At(30, 10), At(30, 11)},
                       true, {}, &timers);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].kind, AlertChange::Kind::kViolations);
  EXPECT_EQ(changes[0].count, 1);
  EXPECT_EQ(changes[1].kind, AlertChange::Kind::kResolve);
  EXPECT_EQ(changes[1].resolved_at, At(0, 11).timestamp);
  EXPECT_FALSE(timers.clearing_since.has_value());
  // Across batches the clear timer carries over.
  timers = {};
  EXPECT_TRUE(PlanAlertChanges(rule, {At(30, 20)}, true, {}, &timers).empty());
  changes = PlanAlertChanges(rule, {At(30, 25)}, true, {}, &timers);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].resolved_at, At(0, 25).timestamp);
}

TEST(AlertEngineTest, DurationsTurnAWobbleIntoNoAlertsAtAll) {
  RuleToEvaluate rule = Threshold("<", 25);
  rule.definition.for_duration = absl::Minutes(1);
  std::vector<EvaluatedReading> readings;
  for (int i = 0; i < 2000; ++i) readings.push_back(At(i % 2 == 0 ? 20 : 27, i));
  RuleTimers timers;
  EXPECT_TRUE(PlanAlertChanges(rule, readings, false, {}, &timers).empty());
}

TEST(AlertEngineTest, SweepJudgesSilenceBatteryAndWatering) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  SweepFacts facts;
  facts.now = now;
  facts.rule_since = now - absl::Hours(100);

  RuleToEvaluate silent = Threshold(">", 0);
  silent.definition.type = RuleType::kNoData;
  silent.definition.interval = absl::Hours(2);
  facts.last_reading = now - absl::Minutes(125);
  SweepVerdict verdict = Sweep(silent, facts, false);
  EXPECT_EQ(verdict.kind, SweepVerdict::Kind::kOpen);
  EXPECT_EQ(verdict.message, "No soil moisture reading for 2h5m (allowed: 2h)");
  EXPECT_EQ(Sweep(silent, facts, true).kind, SweepVerdict::Kind::kNone);  // already open
  facts.last_reading = now - absl::Minutes(5);
  EXPECT_EQ(Sweep(silent, facts, true).kind, SweepVerdict::Kind::kResolve);
  // A rule made a minute ago has not waited its interval, whatever came before.
  facts.last_reading.reset();
  facts.rule_since = now - absl::Minutes(1);
  EXPECT_EQ(Sweep(silent, facts, false).kind, SweepVerdict::Kind::kNone);

  RuleToEvaluate battery = Threshold(">", 20, "battery");
  battery.definition.type = RuleType::kBatteryBelow;
  battery.definition.hysteresis = 5;
  EXPECT_EQ(Sweep(battery, facts, false).kind, SweepVerdict::Kind::kNone);  // nothing reported
  facts.battery_level = 12;
  verdict = Sweep(battery, facts, false);
  EXPECT_EQ(verdict.kind, SweepVerdict::Kind::kOpen);
  EXPECT_EQ(verdict.message, "Battery at 12% (threshold: 20%)");
  facts.battery_level = 24;  // in the band
  EXPECT_EQ(Sweep(battery, facts, true).kind, SweepVerdict::Kind::kNone);
  facts.battery_level = 25;
  EXPECT_EQ(Sweep(battery, facts, true).kind, SweepVerdict::Kind::kResolve);

  RuleToEvaluate watering = Threshold(">", 0);
  watering.definition.type = RuleType::kWateringOverdue;
  facts.water_frequency_days = 7;
  facts.last_watered = now - absl::Hours(24 * 9);
  verdict = Sweep(watering, facts, false);
  EXPECT_EQ(verdict.kind, SweepVerdict::Kind::kOpen);
  EXPECT_EQ(verdict.message, "Not watered for 9 days (every 7 days)");
  EXPECT_DOUBLE_EQ(*verdict.value, 9);
  // The rule's own interval wins over the species'.
  watering.definition.interval = absl::Hours(24 * 10);
  EXPECT_EQ(Sweep(watering, facts, false).kind, SweepVerdict::Kind::kNone);
  EXPECT_EQ(Sweep(watering, facts, true).kind, SweepVerdict::Kind::kResolve);
  // Value rules are not the sweeper's.
  EXPECT_EQ(Sweep(Threshold("<", 25), facts, false).kind, SweepVerdict::Kind::kNone);
}

}  // namespace
}  // namespace plantmon::alerting
