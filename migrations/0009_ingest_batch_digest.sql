-- A digest of each committed gateway batch's readings: a replay of a key
-- with other readings (a gateway that reset its sequence numbers) is refused
-- with FAILED_PRECONDITION instead of being dropped as a duplicate
-- (docs/telemetry.md). Rows committed before this migration have none, and a
-- replay of them is treated as before.
ALTER TABLE ingest_batches ADD COLUMN digest bytea;
