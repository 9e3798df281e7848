-- Alert events (docs/telemetry.md, "WatchAlerts"): every inserted or updated
-- alert is kept as it was after the change, under an id that only grows, so
-- that a WatchAlerts client whose stream broke resumes after the last event
-- it saw (`resume_after_event_id`) with no gap and no duplicate.
--
-- A watch reads its owner's events in id order from a cursor. That has no gap
-- only if a user's events commit in id order: a transaction that took id 11
-- must not commit before one that took id 10 and is still open, or a watcher
-- would read 11, move its cursor past 10 and never see it. So each user's
-- event writers take a transaction-scoped advisory lock (lock_alert_events)
-- before their first change to alerts and hold it to commit; the ids are
-- drawn under it. Different users never wait for each other.
CREATE TABLE alert_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- No foreign keys: an event is history, and the replay delivers it as it
  -- was even after its plant or alert is gone. A deleted user's events go
  -- with the user (alert_events_forget_users below). A foreign key's check
  -- per row also cost more than the rest of the event together: the alert
  -- engine writes thousands of alert changes in one statement.
  user_id     integer NOT NULL,
  plant_id    integer NOT NULL,
  alert_id    integer NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  -- The alert row after the change, as a value of the row type of alerts:
  -- stored as it is, with no conversion (to_jsonb cost five times as much).
  -- A column added to alerts later reads as NULL in older events; changing a
  -- column's type of alerts must convert this column in the same migration
  -- (PostgreSQL refuses the ALTER otherwise, so it cannot be forgotten).
  alert       alerts NOT NULL
);
CREATE INDEX alert_events_user_idx ON alert_events (user_id, id);
-- Events are appended in time order: a BRIN index finds the old ones to
-- prune for a few pages of index.
CREATE INDEX alert_events_occurred_at_idx ON alert_events USING brin (occurred_at);

-- Events below `pruned_before` may have been pruned (they are kept at least
-- PLANTMON_ALERT_EVENT_RETENTION_DAYS, default 7): resuming from before it
-- is refused rather than silently skipping what is gone.
CREATE TABLE alert_event_horizon (
  singleton     boolean PRIMARY KEY DEFAULT true
                CONSTRAINT alert_event_horizon_singleton CHECK (singleton),
  pruned_before bigint NOT NULL
);
INSERT INTO alert_event_horizon (pruned_before) VALUES (0);

-- Serialises event writers per user, in user order (so that a writer of
-- several users' alerts takes the locks in one order), until commit.
-- Re-entrant: a transaction that holds a user's lock takes it again at once.
CREATE FUNCTION lock_alert_events(user_ids integer[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  owner integer;
BEGIN
  -- 1095517268 is "ALET" in ASCII: the class of these locks.
  FOR owner IN SELECT DISTINCT u FROM unnest(user_ids) AS u ORDER BY u LOOP
    PERFORM pg_advisory_xact_lock(1095517268, owner);
  END LOOP;
END;
$$;

-- Once per statement, for the rows it inserted or updated: the events, then
-- one notification per owner (PostgreSQL folds repeated payloads within a
-- transaction into one), which wakes that owner's watchers on every server
-- process to read from their cursors.
CREATE FUNCTION record_alert_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Writers take the lock before touching alerts; taking it only here, after
  -- the statement locked its rows, could deadlock with a writer that holds
  -- the lock and wants those rows. Here it is the guarantee, not the order.
  PERFORM lock_alert_events(ARRAY(SELECT DISTINCT user_id FROM changed));
  INSERT INTO alert_events (user_id, plant_id, alert_id, alert)
  SELECT c.user_id, c.plant_id, c.id, ROW(c.*)::alerts FROM changed c ORDER BY c.id;
  PERFORM pg_notify('plantmon_alerts', owners.user_id::text)
     FROM (SELECT DISTINCT user_id FROM changed) AS owners;
  RETURN NULL;
END;
$$;

DROP TRIGGER alerts_notify ON alerts;
DROP FUNCTION notify_alert_change();
CREATE TRIGGER alerts_record_events_insert AFTER INSERT ON alerts
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION record_alert_events();
CREATE TRIGGER alerts_record_events_update AFTER UPDATE ON alerts
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION record_alert_events();

CREATE FUNCTION forget_alert_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM alert_events e USING gone g WHERE e.user_id = g.id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER alert_events_forget_users AFTER DELETE ON users
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION forget_alert_events();
