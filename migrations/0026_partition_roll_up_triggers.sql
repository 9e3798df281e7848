-- Every partition of sensor_data gets the hourly rollup trigger (0023) of its
-- own, so that ingest can copy a batch straight into the partition of its
-- week (storage/ingest_repository.cc, CopyReadings), or into the history
-- partition when the week is older than the first weekly one.
--
-- Why: COPY into the partitioned sensor_data inserts one row at a time while
-- sensor_data has a statement trigger with a transition table, where COPY
-- into a plain table, a partition, batches rows (docs/scaling.md, "Figures":
-- gateway ingest fell to 0.84-0.87 of the unpartitioned table's).
--
-- Each reading is still rolled up exactly once: a statement that names the
-- parent fires the parent's statement triggers only, not its partitions', and
-- one that names a partition fires that partition's only. Readings that go
-- through the parent (single RecordReading calls, a week whose partition is
-- not there) keep using the parent's trigger.
--
-- The partition keeper (storage/partition_keeper.cc) adds the trigger to each
-- week it creates, through sensor_data_add_roll_up_trigger, before attaching it.
CREATE FUNCTION sensor_data_add_roll_up_trigger(partition regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER sensor_data_roll_up AFTER INSERT ON %s '
                 'REFERENCING NEW TABLE AS new_readings '
                 'FOR EACH STATEMENT EXECUTE FUNCTION sensor_data_roll_up()', partition);
  -- Ingest names the partition, so the partition's own default gives the id:
  -- the parent's sequence, as for rows routed through the parent (a table
  -- converted into a partition by 0024 had lost its identity default).
  EXECUTE format('ALTER TABLE %s ALTER COLUMN id SET DEFAULT nextval(%L::regclass)', partition,
                 'sensor_data_id_seq');
END
$$;

-- sensor_data's range partitions with their bounds (NULL: MINVALUE or
-- MAXVALUE), read back from the bound's SQL text (fixed by the function's
-- DateStyle and TimeZone), whether a detach is pending, and whether the
-- partition has its rollup trigger. Only bounds of the form FROM (...) TO
-- (...) are listed: not a DEFAULT partition, which someone may add, whose
-- missing bounds would otherwise read as "everything". The partition keeper
-- lists partitions with it, and ingest finds the partition of each week of a
-- batch with it.
CREATE FUNCTION sensor_data_partition_bounds()
RETURNS TABLE (partition_name text, lower_bound timestamptz, upper_bound timestamptz,
               detach_pending boolean, rolls_up boolean)
LANGUAGE sql STABLE SET DateStyle = 'ISO' SET TimeZone = 'UTC' AS $$
  SELECT c.relname::text,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz,
         i.inhdetachpending,
         EXISTS (SELECT 1 FROM pg_trigger t
                  WHERE t.tgrelid = c.oid AND t.tgname = 'sensor_data_roll_up')
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'sensor_data'::regclass
     AND pg_get_expr(c.relpartbound, c.oid)
         ~ '^FOR VALUES FROM \((MINVALUE|''[^'']+'')\) TO \((MAXVALUE|''[^'']+'')\)$'
$$;

SELECT sensor_data_add_roll_up_trigger(inhrelid::regclass)
  FROM pg_inherits
 WHERE inhparent = 'sensor_data'::regclass
   AND NOT EXISTS (SELECT 1 FROM pg_trigger
                    WHERE tgrelid = inhrelid AND tgname = 'sensor_data_roll_up');
