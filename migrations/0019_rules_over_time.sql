-- Rules over time (docs/telemetry.md, "Rules over time"): no_data,
-- battery_below and watering_overdue, judged by the alert sweeper, and the
-- interval no_data and watering_overdue rules go by. At most a year: longer
-- is a typo (alerting/rules.h holds the same bound).
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_rule_type_check;
ALTER TABLE alert_rules
  ADD CONSTRAINT alert_rules_rule_type_check CHECK (rule_type IN (
    'threshold', 'range', 'deviation', 'no_data', 'battery_below', 'watering_overdue')),
  ADD COLUMN "interval" interval NOT NULL DEFAULT '0'
    CONSTRAINT alert_rules_interval_check CHECK ("interval" >= '0' AND "interval" <= '365 days'),
  ADD CONSTRAINT alert_rules_no_data_interval_check
    CHECK (rule_type <> 'no_data' OR "interval" > '0');

