-- Daily rollups of sensor_data (docs/telemetry.md, "Rollups"): one row per
-- device, parameter, UTC day and anomaly flag, with the columns of the hourly
-- rollups (0023). They answer AggregateSensorData's day, week and month
-- buckets in UTC with a row a day instead of 24, and are the form telemetry
-- is kept in longest.
--
-- Made by a job with a watermark, not by the ingest trigger: a trigger would
-- add a second upsert per device and parameter to every statement that stores
-- readings, where a closed day needs to be summed once. The job is the
-- partition keeper's round (storage/daily_rollups.cc), which sums whole UTC
-- days from the hourly rollups once they are closed.
--
-- The watermark has two parts, in sensor_data_daily_state:
--  * marked_before: a statement that stores readings of a day before it
--    records (device, day) in sensor_data_daily_stale, in the same
--    transaction as the readings (a late reading);
--  * rolled_before: days before it have their daily rows; a day with a stale
--    mark for the device is read from hourly rollups instead until the job
--    sums it again.
-- The job moves marked_before first, under an exclusive advisory lock that
-- waits for every statement storing readings to finish (each takes the lock
-- shared, for its transaction), so that every reading of a day it then sums
-- is either in its snapshot or marked; then it sums the days, re-sums the
-- marked ones, and moves rolled_before, in one transaction.
-- The hourly table's columns, key and constraints, with the day for the hour.
CREATE TABLE sensor_data_daily (LIKE sensor_data_hourly INCLUDING ALL);
ALTER TABLE sensor_data_daily RENAME COLUMN hour TO day;
ALTER TABLE sensor_data_daily
  ADD FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE;

CREATE TABLE sensor_data_daily_state (
  one_row        boolean PRIMARY KEY DEFAULT true CHECK (one_row),
  marked_before  timestamptz NOT NULL,
  rolled_before  timestamptz NOT NULL,
  CHECK (rolled_before <= marked_before)
);
INSERT INTO sensor_data_daily_state (marked_before, rolled_before)
VALUES ('-infinity', '-infinity');

-- No key: each statement adds its own marks, so that the job deletes only
-- marks whose readings its snapshot holds (a mark it did not see stays).
CREATE TABLE sensor_data_daily_stale (
  device_id  integer NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  day        timestamptz NOT NULL
);
CREATE INDEX sensor_data_daily_stale_idx ON sensor_data_daily_stale (device_id, day);

-- The daily job's advisory lock key ("plantmdy" in ASCII), taken shared by
-- every statement that stores readings.
CREATE FUNCTION sensor_data_daily_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE AS 'SELECT 8100956956760302713';

-- The rollup trigger's function, now taking the lock above and marking the
-- days of late readings: readings of a day before marked_before. Its
-- statements are written into the function's text (the hourly upsert from
-- sensor_data_roll_up_statement, 0023) rather than run with EXECUTE, so
-- that PL/pgSQL plans them once per session instead of for every statement
-- that stores readings. For readings of open days the marking reads the
-- batch and writes nothing.
DO $do$
BEGIN
  EXECUTE format($create$
    CREATE OR REPLACE FUNCTION sensor_data_roll_up() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(sensor_data_daily_lock_key());
      %s;
      INSERT INTO sensor_data_daily_stale (device_id, day)
      SELECT DISTINCT device_id, date_trunc('day', "timestamp", 'UTC') FROM new_readings
      WHERE "timestamp" < (SELECT marked_before FROM sensor_data_daily_state);
      RETURN NULL;
    END
    $fn$
  $create$, sensor_data_roll_up_statement('new_readings'));
END
$do$;
