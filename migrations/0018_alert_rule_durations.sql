-- Flap control in time (docs/telemetry.md, "Flap control"): a rule's
-- condition must hold for_duration, by reading timestamps, before an alert
-- opens, and its clear condition clear_duration before the alert resolves.
-- 0 keeps the rules made before this migration as they were. At most 30 days:
-- longer is a typo, not a plant's need (alerting/rules.h holds the same bound).
ALTER TABLE alert_rules
  ADD COLUMN for_duration interval NOT NULL DEFAULT '0'
    CONSTRAINT alert_rules_for_duration_check
      CHECK (for_duration >= '0' AND for_duration <= '30 days'),
  ADD COLUMN clear_duration interval NOT NULL DEFAULT '0'
    CONSTRAINT alert_rules_clear_duration_check
      CHECK (clear_duration >= '0' AND clear_duration <= '30 days');

-- Where each rule's timers stand between batches: since when its condition
-- has held without an alert open (violating_since), and since when an open
-- alert's clear condition has held (clearing_since). The alert engine reads
-- and writes them in the ingest transaction; an update of the rule forgets
-- them (the condition they timed may have changed).
CREATE TABLE alert_rule_timers (
  rule_id         integer PRIMARY KEY REFERENCES alert_rules (id) ON DELETE CASCADE,
  violating_since timestamptz,
  clearing_since  timestamptz
) WITH (fillfactor = 50);
