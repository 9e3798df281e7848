-- Fewer indexes on alerts (docs/benchmarks.md, "Alternating readings against
-- five rules"): every alert the engine writes pays for each of them, and
-- three served no query.
--  * alerts_status_idx: four statuses, and the open ones have partial
--    indexes of their own (alerts_one_open_per_rule, alerts_open_by_plant_idx).
--  * alerts_triggered_at_idx: every query of alerts is one owner's, and
--    ListAlerts filters triggered_at within the owner's alerts.
--  * alerts_user_id_idx becomes (user_id, id): ListAlerts walks one owner's
--    alerts by id, newest first, and stops at the page size.
-- Kept: alerts_rule_id_idx and alerts_plant_id_idx, which the cascades from
-- alert_rules and plants need.
CREATE INDEX alerts_user_id_id_idx ON alerts (user_id, id);
DROP INDEX alerts_user_id_idx;
DROP INDEX alerts_status_idx;
DROP INDEX alerts_triggered_at_idx;
