-- devices.updated_at records changes to a device's registration (name, type,
-- location, battery, ...), not telemetry bookkeeping: last_data_received and
-- last_heartbeat carry their own times and move on every upload. Firing the
-- trigger for them cost a PL/pgSQL call per device per ingested batch for no
-- information (docs/benchmarks.md).
DROP TRIGGER devices_set_updated_at ON devices;
CREATE TRIGGER devices_set_updated_at
  BEFORE UPDATE OF id, user_id, device_type_id, unique_identifier, device_name, is_active,
                   location_description, battery_level, rssi, created_at, updated_at
  ON devices
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Every ingested batch rewrites its devices' rows (last_data_received). With
-- full pages each new row version lands on another page and needs an entry
-- in all five indexes of devices; free space on the page lets PostgreSQL keep
-- the new version beside the old one (a HOT update) with no index work, and
-- prune the old one in passing. The table is small, so the space is cheap.
ALTER TABLE devices SET (fillfactor = 50);
