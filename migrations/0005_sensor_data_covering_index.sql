-- ListSensorData reads one device's readings over a time range. Rows arrive
-- in time order from many devices, so one device's day of readings sits on as
-- many heap pages as it has readings, and visiting them was most of the query
-- time (docs/benchmarks.md). The (device_id, timestamp) index now carries
-- every listed column but raw_data, so the listing is an index-only scan;
-- raw_data (free text, usually absent, too large for an index entry) comes
-- from a second, partial index of just the rows that have it.
DROP INDEX sensor_data_device_id_timestamp_idx;
CREATE INDEX sensor_data_device_id_timestamp_idx ON sensor_data (device_id, "timestamp")
  INCLUDE (id, measurement_value, measurement_unit, data_quality, is_anomaly, received_at);
CREATE INDEX sensor_data_raw_data_idx ON sensor_data (device_id, "timestamp")
  WHERE raw_data IS NOT NULL;
