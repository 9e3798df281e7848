-- plantmon:no-transaction
-- Gives every reading stored before migration 0011 its parameter, in
-- batches of 20,000 rows, each committed on its own, so that ingest (which
-- only inserts) goes on beside it and no transaction holds millions of row
-- versions. The parameter is, in this order:
--  1. the device's assignment role (its active assignment first, then the
--     lowest plant id), because that is what the alert engine took the
--     reading to be when it was stored, so alerts raised from these rows
--     keep their meaning;
--  2. the device type's primary measurement (migration 0011);
--  3. 'unspecified', for readings nothing says anything about.
-- Idempotent: a run that stops half-way is finished by the next one.
CREATE TABLE IF NOT EXISTS sensor_data_parameter_backfill AS
SELECT d.id AS device_id, coalesce(
  (SELECT a.assignment_type COLLATE "C" FROM plant_device_assignments a
   WHERE a.device_id = d.id AND a.assignment_type <> 'pump'
   ORDER BY a.is_active DESC, a.plant_id LIMIT 1),
  t.primary_parameter, 'unspecified') AS parameter_name
FROM devices d JOIN device_types t ON t.id = d.device_type_id;
-- plantmon:step
CREATE UNIQUE INDEX IF NOT EXISTS sensor_data_parameter_backfill_device_id
  ON sensor_data_parameter_backfill (device_id);
-- plantmon:step
DO $$
DECLARE
  low bigint := (SELECT coalesce(min(id), 0) FROM sensor_data);
  high bigint := (SELECT coalesce(max(id), 0) FROM sensor_data);
BEGIN
  WHILE low <= high LOOP
    -- Every reading's device is in the table (sensor_data.device_id is a
    -- foreign key); readings of devices made since are stored with their
    -- parameter by the server.
    UPDATE sensor_data s SET parameter_name = b.parameter_name
    FROM sensor_data_parameter_backfill b
    WHERE b.device_id = s.device_id AND s.id >= low AND s.id < low + 20000
      AND s.parameter_name IS NULL;
    COMMIT;
    low := low + 20000;
  END LOOP;
END $$;
-- plantmon:step
DROP TABLE sensor_data_parameter_backfill;
