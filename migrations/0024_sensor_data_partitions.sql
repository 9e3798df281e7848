-- plantmon:no-transaction
-- sensor_data becomes a table partitioned by week on "timestamp"
-- (docs/scaling.md, "Partitions and retention").
--
-- The existing heap is not copied: it becomes the partition
-- sensor_data_history, holding every timestamp before a boundary one to two
-- weeks ahead (the Monday, 00:00 UTC, after next week's), and weekly
-- partitions follow from the boundary. The server's partition keeper
-- (storage/partition_keeper.h) creates the weeks after those this migration
-- makes, and drops whole partitions past PLANTMON_RAW_RETENTION_DAYS;
-- sensor_data_history goes once its boundary is past the retention.
--
-- What a partitioned table needs and the heap lacked:
--  * the primary key includes the partition key: (id, "timestamp"). Nothing
--    references sensor_data, and every read names a device and a time range;
--  * PostgreSQL 15 has no identity columns on partitioned tables, so ids come
--    from a plain sequence, sensor_data_id_seq, continuing after the newest id.
--
-- Ingest goes on during the slow steps: the unique index on (id, "timestamp")
-- is built CONCURRENTLY, and the boundary is proven by a CHECK constraint
-- added NOT VALID and validated under a lock that lets writes through, so
-- that attaching the heap needs no scan of its own. Only the last step holds
-- sensor_data against ingest, for catalog changes and one index probe
-- (docs/scaling.md gives the time measured). Each step can run again after an
-- interruption.
-- plantmon:skip-if SELECT relkind = 'p' FROM pg_class WHERE oid = 'sensor_data'::regclass
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS sensor_data_history_id_timestamp_key
  ON sensor_data (id, "timestamp");
-- plantmon:step
DO $$
BEGIN
  -- Weeks of UTC days: an interval of weeks added in a zone with daylight
  -- saving would move the boundary by its change.
  PERFORM set_config('TimeZone', 'UTC', true);
  IF (SELECT relkind FROM pg_class WHERE oid = 'sensor_data'::regclass) = 'r' AND NOT EXISTS (
      SELECT FROM pg_constraint WHERE conname = 'sensor_data_history_bound') THEN
    EXECUTE format(
      'ALTER TABLE sensor_data ADD CONSTRAINT sensor_data_history_bound '
      'CHECK ("timestamp" < %L) NOT VALID',
      date_trunc('week', now(), 'UTC') + interval '2 weeks');
  END IF;
END
$$;
-- plantmon:step
DO $$
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = 'sensor_data'::regclass) = 'r' THEN
    ALTER TABLE sensor_data VALIDATE CONSTRAINT sensor_data_history_bound;
  END IF;
END
$$;
-- plantmon:step
DO $$
DECLARE
  boundary timestamptz;
  week timestamptz;
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = 'sensor_data'::regclass) <> 'r' THEN
    RETURN;
  END IF;
  PERFORM set_config('TimeZone', 'UTC', true);
  LOCK TABLE sensor_data IN ACCESS EXCLUSIVE MODE;
  boundary := (regexp_match(
      (SELECT pg_get_constraintdef(oid) FROM pg_constraint
       WHERE conname = 'sensor_data_history_bound'), '''([^'']+)'''))[1]::timestamptz;

  ALTER TABLE sensor_data RENAME TO sensor_data_history;
  ALTER INDEX sensor_data_anomaly_idx RENAME TO sensor_data_history_anomaly_idx;
  ALTER INDEX sensor_data_device_parameter_timestamp_idx
    RENAME TO sensor_data_history_device_parameter_timestamp_idx;
  ALTER INDEX sensor_data_raw_data_idx RENAME TO sensor_data_history_raw_data_idx;
  ALTER INDEX sensor_data_timestamp_brin_idx RENAME TO sensor_data_history_timestamp_brin_idx;
  ALTER TABLE sensor_data_history DROP CONSTRAINT sensor_data_pkey;
  -- Attaching adopts an index for the parent's key only if it backs a
  -- constraint of the partition's own.
  ALTER TABLE sensor_data_history ADD CONSTRAINT sensor_data_history_id_timestamp_key
    PRIMARY KEY USING INDEX sensor_data_history_id_timestamp_key;
  ALTER TABLE sensor_data_history
    RENAME CONSTRAINT sensor_data_device_id_fkey TO sensor_data_history_device_id_fkey;
  ALTER TABLE sensor_data_history ALTER COLUMN id DROP IDENTITY;
  DROP TRIGGER sensor_data_roll_up ON sensor_data_history;

  CREATE SEQUENCE sensor_data_id_seq;
  PERFORM setval('sensor_data_id_seq', coalesce((SELECT max(id) FROM sensor_data_history), 0) + 1,
                 false);
  CREATE TABLE sensor_data (
    id                bigint NOT NULL DEFAULT nextval('sensor_data_id_seq'),
    device_id         integer NOT NULL CONSTRAINT sensor_data_device_id_fkey
                      REFERENCES devices (id) ON DELETE CASCADE,
    measurement_value double precision NOT NULL,
    measurement_unit  varchar(50),
    data_quality      integer NOT NULL DEFAULT 100
                      CONSTRAINT sensor_data_data_quality_check
                      CHECK (data_quality BETWEEN 0 AND 100),
    is_anomaly        boolean NOT NULL DEFAULT false,
    "timestamp"       timestamptz NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    raw_data          text,
    parameter_name    varchar(50) COLLATE "C" NOT NULL DEFAULT 'unspecified',
    CONSTRAINT sensor_data_pkey PRIMARY KEY (id, "timestamp")
  ) PARTITION BY RANGE ("timestamp");
  ALTER SEQUENCE sensor_data_id_seq OWNED BY sensor_data.id;
  -- The heap's indexes, defined alike so that attaching it adopts them.
  CREATE INDEX sensor_data_anomaly_idx ON sensor_data (device_id, "timestamp") WHERE is_anomaly;
  CREATE INDEX sensor_data_device_parameter_timestamp_idx
    ON sensor_data (device_id, parameter_name, "timestamp")
    INCLUDE (id, measurement_value, measurement_unit, data_quality, is_anomaly, received_at);
  CREATE INDEX sensor_data_raw_data_idx ON sensor_data (device_id, "timestamp")
    WHERE raw_data IS NOT NULL;
  CREATE INDEX sensor_data_timestamp_brin_idx ON sensor_data USING brin ("timestamp");

  EXECUTE format('ALTER TABLE sensor_data ATTACH PARTITION sensor_data_history '
                 'FOR VALUES FROM (MINVALUE) TO (%L)', boundary);
  ALTER TABLE sensor_data_history DROP CONSTRAINT sensor_data_history_bound;
  -- Four weeks past the boundary; the partition keeper adds the rest.
  week := boundary;
  WHILE week < boundary + interval '4 weeks' LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF sensor_data FOR VALUES FROM (%L) TO (%L)',
                   'sensor_data_w' || to_char(week AT TIME ZONE 'UTC', 'YYYYMMDD'), week,
                   week + interval '1 week');
    week := week + interval '1 week';
  END LOOP;

  -- Hourly rollups (0023) are kept as before: a statement-level trigger on a
  -- partitioned table sees the rows of every partition in its transition
  -- table.
  CREATE TRIGGER sensor_data_roll_up AFTER INSERT ON sensor_data
    REFERENCING NEW TABLE AS new_readings
    FOR EACH STATEMENT EXECUTE FUNCTION sensor_data_roll_up();
END
$$;
