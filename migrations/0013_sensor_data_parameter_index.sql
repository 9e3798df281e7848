-- plantmon:no-transaction
-- sensor_data.parameter_name becomes NOT NULL, and the listing index leads
-- with what listings filter on: the device, then the parameter, then time
-- (ListSensorData, AggregateSensorData and GetLatestReadings each read one
-- device's parameter over a time range; a listing of all of a device's
-- parameters reads each parameter's range and merges them). Each step runs
-- on its own so that none holds a lock that stops ingest for long:
--  * the index is built CONCURRENTLY (writes go on while it builds);
--  * NOT NULL is proven by a CHECK constraint added NOT VALID (instant) and
--    validated without blocking writes, after which SET NOT NULL needs no
--    scan of its own.
-- Rows a server older than 0011 inserted between 0011 and 0012 (0011 gives
-- later ones 'unspecified') are filled first, as 0012 fills them.
UPDATE sensor_data s SET parameter_name = coalesce(
  (SELECT a.assignment_type COLLATE "C" FROM plant_device_assignments a
   WHERE a.device_id = s.device_id AND a.assignment_type <> 'pump'
   ORDER BY a.is_active DESC, a.plant_id LIMIT 1),
  (SELECT t.primary_parameter FROM devices d JOIN device_types t ON t.id = d.device_type_id
   WHERE d.id = s.device_id), 'unspecified')
WHERE s.parameter_name IS NULL;
-- plantmon:step
CREATE INDEX CONCURRENTLY IF NOT EXISTS sensor_data_device_parameter_timestamp_idx
  ON sensor_data (device_id, parameter_name, "timestamp")
  INCLUDE (id, measurement_value, measurement_unit, data_quality, is_anomaly, received_at);
-- plantmon:step
DROP INDEX CONCURRENTLY IF EXISTS sensor_data_device_id_timestamp_idx;
-- plantmon:step
ALTER TABLE sensor_data DROP CONSTRAINT IF EXISTS sensor_data_parameter_name_present;
-- plantmon:step
ALTER TABLE sensor_data ADD CONSTRAINT sensor_data_parameter_name_present
  CHECK (parameter_name IS NOT NULL) NOT VALID;
-- plantmon:step
ALTER TABLE sensor_data VALIDATE CONSTRAINT sensor_data_parameter_name_present;
-- plantmon:step
ALTER TABLE sensor_data ALTER COLUMN parameter_name SET NOT NULL;
-- plantmon:step
ALTER TABLE sensor_data DROP CONSTRAINT sensor_data_parameter_name_present;
