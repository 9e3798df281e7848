-- Hourly rollups of sensor_data (docs/telemetry.md, "Rollups").
--
-- One row per device, parameter, UTC hour and anomaly flag, with what
-- AggregateSensorData returns for a bucket: count, min, max, sum (for the
-- average), and the first and last reading (by timestamp, then id, as the raw
-- query orders them). The anomaly flag is part of the key so that
-- exclude_anomalies is answered from rollups too; data_quality is not (a
-- min_quality filter reads raw rows).
--
-- Kept by a statement-level trigger, in the transaction that stores the
-- readings: every writer (gateway COPY, single readings, the MQTT bridge,
-- demo data) is covered, a reading that arrives late updates its hour like
-- any other (no hour is ever "closed"), and a rollup never runs ahead of or
-- behind what committed. Readings are never updated or deleted one by one
-- (only with their device, and the rollups go with it), so only INSERT is
-- watched. The rows of one statement are folded per hour first, so a batch
-- of readings costs one upsert per device-parameter-hour it touches, in key
-- order: two batches for the same device lock the same rows in the same
-- order and cannot deadlock.
--
-- UTC hours: every bucket boundary of a zone whose offsets are whole hours
-- falls on one, so hour, day, week and month buckets in such a zone are sums
-- of whole rollup hours (storage/telemetry_repository.cc decides when).
-- Daily rollups in UTC would serve only UTC days, so none are kept: a month
-- is 744 hourly rows per parameter.
CREATE TABLE sensor_data_hourly (
  device_id        integer NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  parameter_name   varchar(50) COLLATE "C" NOT NULL,
  hour             timestamptz NOT NULL,
  is_anomaly       boolean NOT NULL,
  reading_count    bigint NOT NULL,
  min_value        double precision NOT NULL,
  max_value        double precision NOT NULL,
  sum_value        double precision NOT NULL,
  first_timestamp  timestamptz NOT NULL,
  first_id         bigint NOT NULL,
  first_value      double precision NOT NULL,
  last_timestamp   timestamptz NOT NULL,
  last_id          bigint NOT NULL,
  last_value       double precision NOT NULL,
  PRIMARY KEY (device_id, parameter_name, hour, is_anomaly)
);

-- The statement that folds the readings of `source` (a table or the
-- trigger's transition table) into the rollups; one text for the trigger and
-- for the backfill below.
CREATE FUNCTION sensor_data_roll_up_statement(source text) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
SELECT format($sql$
  INSERT INTO sensor_data_hourly AS h
  SELECT device_id, parameter_name, date_trunc('hour', "timestamp", 'UTC'), is_anomaly,
         count(*), min(measurement_value), max(measurement_value), sum(measurement_value),
         min("timestamp"),
         (array_agg(id ORDER BY "timestamp", id))[1],
         (array_agg(measurement_value ORDER BY "timestamp", id))[1],
         max("timestamp"),
         (array_agg(id ORDER BY "timestamp" DESC, id DESC))[1],
         (array_agg(measurement_value ORDER BY "timestamp" DESC, id DESC))[1]
  FROM %I
  GROUP BY 1, 2, 3, 4
  ORDER BY 1, 2, 3, 4
  ON CONFLICT (device_id, parameter_name, hour, is_anomaly) DO UPDATE SET
    reading_count = h.reading_count + EXCLUDED.reading_count,
    min_value = least(h.min_value, EXCLUDED.min_value),
    max_value = greatest(h.max_value, EXCLUDED.max_value),
    sum_value = h.sum_value + EXCLUDED.sum_value,
    first_timestamp = CASE WHEN (EXCLUDED.first_timestamp, EXCLUDED.first_id)
                                < (h.first_timestamp, h.first_id)
                           THEN EXCLUDED.first_timestamp ELSE h.first_timestamp END,
    first_id = CASE WHEN (EXCLUDED.first_timestamp, EXCLUDED.first_id)
                         < (h.first_timestamp, h.first_id)
                    THEN EXCLUDED.first_id ELSE h.first_id END,
    first_value = CASE WHEN (EXCLUDED.first_timestamp, EXCLUDED.first_id)
                            < (h.first_timestamp, h.first_id)
                       THEN EXCLUDED.first_value ELSE h.first_value END,
    last_timestamp = CASE WHEN (EXCLUDED.last_timestamp, EXCLUDED.last_id)
                               > (h.last_timestamp, h.last_id)
                          THEN EXCLUDED.last_timestamp ELSE h.last_timestamp END,
    last_id = CASE WHEN (EXCLUDED.last_timestamp, EXCLUDED.last_id)
                        > (h.last_timestamp, h.last_id)
                   THEN EXCLUDED.last_id ELSE h.last_id END,
    last_value = CASE WHEN (EXCLUDED.last_timestamp, EXCLUDED.last_id)
                           > (h.last_timestamp, h.last_id)
                      THEN EXCLUDED.last_value ELSE h.last_value END
$sql$, source)
$fn$;

CREATE FUNCTION sensor_data_roll_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A transition table is visible to the trigger function's own queries,
  -- dynamic ones included, and to no function it calls: so the statement is
  -- run here.
  EXECUTE sensor_data_roll_up_statement('new_readings');
  RETURN NULL;
END
$$;

-- Creating the trigger locks sensor_data against writes until this migration
-- commits, so the backfill below and the trigger see every reading exactly
-- once; ingest waits for the backfill (docs/telemetry.md gives its time).
CREATE TRIGGER sensor_data_roll_up AFTER INSERT ON sensor_data
  REFERENCING NEW TABLE AS new_readings
  FOR EACH STATEMENT EXECUTE FUNCTION sensor_data_roll_up();

DO $$
BEGIN
  EXECUTE sensor_data_roll_up_statement('sensor_data');
END
$$;
