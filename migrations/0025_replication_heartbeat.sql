-- A heartbeat for measuring how far a hot standby lags (docs/scaling.md,
-- "Read replicas"): every server process that reads from a standby writes
-- beat_at on the primary a few times a second and reads it back from the
-- standby; the difference from the standby's clock is the lag, to within the
-- interval between beats. Written rather than read from
-- pg_last_xact_replay_timestamp() alone, which stops moving when the primary
-- has nothing to write and so cannot tell a quiet primary from a stuck standby,
-- and rather than from pg_stat_replication, which an unprivileged role cannot
-- read in full.
CREATE TABLE replication_heartbeat (
  id      smallint PRIMARY KEY CHECK (id = 1),
  beat_at timestamptz NOT NULL
);
INSERT INTO replication_heartbeat (id, beat_at) VALUES (1, now());
