-- The firmware a device runs, as it reports it (owners set it, and so does
-- RecordHeartbeat): helps tell which devices need an update. Up to 64 bytes.
ALTER TABLE devices ADD COLUMN firmware_version varchar(64);
