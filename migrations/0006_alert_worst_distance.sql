-- An open alert keeps its worst value: the reading furthest beyond its rule.
-- How far a reading is beyond a rule is the alert engine's to decide
-- (alerting/alert_engine.cc, Distance), so the engine now stores the distance
-- with the value, and extending an open alert only compares two stored
-- distances instead of computing them again in SQL.
ALTER TABLE alerts ADD COLUMN worst_distance double precision;

-- Open alerts from before this migration: their distance, translated once from
-- the engine's rules (range: beyond the nearer bound; deviation: from the
-- species' optimum; threshold: from the threshold). Resolved alerts are never
-- extended again and keep NULL.
UPDATE alerts a SET worst_distance =
  CASE r.rule_type
    WHEN 'range' THEN greatest(r.threshold_value - a.worst_value, a.worst_value - r.threshold_high)
    WHEN 'deviation' THEN abs(a.worst_value - CASE r.parameter_name
      WHEN 'temperature' THEN t.optimal_temperature
      WHEN 'humidity' THEN t.optimal_humidity
      WHEN 'light' THEN t.optimal_light END)
    ELSE abs(a.worst_value - r.threshold_value)
  END
FROM alert_rules r, plants p, plant_types t
WHERE r.id = a.rule_id AND p.id = a.plant_id AND t.id = p.plant_type_id
  AND a.worst_value IS NOT NULL AND a.status IN ('active', 'acknowledged');
