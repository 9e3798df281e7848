-- Flap control (docs/telemetry.md, "The alert engine").
--
-- A rule's clear band: a violated "< 25" rule with hysteresis 3 resolves only
-- at 28 or more. 0 keeps the rules made before this migration as they were.
ALTER TABLE alert_rules ADD COLUMN hysteresis double precision NOT NULL DEFAULT 0
  CONSTRAINT alert_rules_hysteresis_check CHECK (hysteresis >= 0);

-- The newest reading each rule has evaluated, per device: evaluation follows
-- reading time, so a reading no newer than that (a gateway's late batch)
-- is stored but changes no alert.
CREATE TABLE alert_rule_sources (
  rule_id         integer NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
  device_id       integer NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  last_reading_at timestamptz NOT NULL,
  PRIMARY KEY (rule_id, device_id)
);
CREATE INDEX alert_rule_sources_device_id_idx ON alert_rule_sources (device_id);

-- Plant health: the worst open severity of a plant is read from its open
-- alerts alone, never from its alert history...
CREATE INDEX alerts_open_by_plant_idx ON alerts (plant_id, severity)
  WHERE status IN ('active', 'acknowledged');

-- ... and once per statement for the plants it changed, not once per alert
-- row: the alert engine writes a batch's alerts in a few statements.
CREATE FUNCTION refresh_plants_health() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  WITH worst AS (
    SELECT c.plant_id,
           (SELECT max(a.severity) FROM alerts a
             WHERE a.plant_id = c.plant_id AND a.status IN ('active', 'acknowledged')) AS severity
      FROM (SELECT DISTINCT plant_id FROM changed) c)
  UPDATE plants p
     SET is_healthy = w.severity IS NULL OR w.severity = 'info',
         health_status = CASE WHEN w.severity IS NULL THEN 'healthy'
                              ELSE w.severity::text || ' alert open' END
    FROM worst w
   WHERE p.id = w.plant_id
     AND (p.is_healthy, p.health_status) IS DISTINCT FROM
         (w.severity IS NULL OR w.severity = 'info',
          CASE WHEN w.severity IS NULL THEN 'healthy' ELSE w.severity::text || ' alert open' END);
  RETURN NULL;
END;
$$;
DROP TRIGGER alerts_refresh_plant_health ON alerts;
DROP FUNCTION refresh_plant_health();
CREATE TRIGGER alerts_refresh_plants_health_insert AFTER INSERT ON alerts
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION refresh_plants_health();
CREATE TRIGGER alerts_refresh_plants_health_update AFTER UPDATE ON alerts
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION refresh_plants_health();
