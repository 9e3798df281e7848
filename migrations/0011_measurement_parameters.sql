-- Readings say what they measure (docs/data-model.md, "Measurement parameters").
--
-- Before this migration a reading carried only its device, and the alert
-- engine took it to be the parameter named by the device's assignment role,
-- so a device fed one parameter per plant. Now:
--  * measurement_parameters is the catalogue of what can be measured;
--  * device_type_measurements says what each device type measures (a
--    Mi Flora: soil moisture, temperature, light, conductivity, battery), and
--    device_types.primary_parameter which of them a reading without a
--    parameter means (the seed's data_unit/min_value/max_value describe that
--    one);
--  * sensor_data.parameter_name records each reading's parameter (filled for
--    existing rows by migration 0012, made NOT NULL by 0013);
--  * rules name any catalogued parameter and may pin one device.
--
-- Parameter names are lower-case ASCII identifiers (the CHECK below), so
-- every column holding one compares them bytewise (COLLATE "C"): the same
-- answers as the cluster's locale would give, without a strcoll() per
-- comparison on the listing index every reading is inserted into.

CREATE TABLE measurement_parameters (
  name          varchar(50) COLLATE "C" PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,49}$'),
  -- NULL only for 'unspecified', which has no unit.
  unit          varchar(50) CHECK (unit <> ''),
  description   text,
  -- What the quantity can physically be; a reading outside it is flagged as
  -- an anomaly when the device type gives no range of its own.
  min_plausible double precision,
  max_plausible double precision,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT measurement_parameters_range_check CHECK (min_plausible <= max_plausible)
);
CREATE TRIGGER measurement_parameters_set_updated_at BEFORE UPDATE ON measurement_parameters
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

INSERT INTO measurement_parameters (name, unit, description, min_plausible, max_plausible) VALUES
  ('soil_moisture', '%', 'Volumetric water content of the soil', 0, 100),
  ('temperature', '°C', 'Air temperature', -60, 80),
  ('humidity', '%', 'Relative humidity of the air', 0, 100),
  ('light', 'lux', 'Illuminance', 0, 200000),
  ('conductivity', 'µS/cm', 'Electrical conductivity of the soil (fertility)', 0, 20000),
  ('battery', '%', 'Remaining battery charge of the device', 0, 100),
  ('soil_temperature', '°C', 'Temperature of the soil', -40, 80),
  ('co2', 'ppm', 'Carbon dioxide concentration of the air', 0, 40000),
  ('pressure', 'hPa', 'Barometric pressure', 300, 1100),
  ('unspecified', NULL,
   'A reading stored before readings named their parameter (migration 0012), whose device '
   'had neither a role nor a type that said what it measured', NULL, NULL);

CREATE TABLE device_type_measurements (
  device_type_id integer NOT NULL REFERENCES device_types (id) ON DELETE CASCADE,
  parameter_name varchar(50) COLLATE "C" NOT NULL REFERENCES measurement_parameters (name),
  -- Defaults to the parameter's unit.
  unit           varchar(50) CHECK (unit <> ''),
  -- The device's own range for this parameter (anomaly detection).
  min_value      double precision,
  max_value      double precision,
  -- The order the type lists them in.
  position       integer NOT NULL,
  PRIMARY KEY (device_type_id, parameter_name),
  CONSTRAINT device_type_measurements_range_check CHECK (min_value <= max_value)
);

ALTER TABLE device_types ADD COLUMN primary_parameter varchar(50) COLLATE "C"
  REFERENCES measurement_parameters (name);

-- Existing types get their primary measurement from how their devices are
-- used: the most common assignment role among them (pump is an actuator's
-- role, not a measurement), else from the unit when it names one quantity.
-- '%' (moisture, humidity or battery) names none, and such a type stays
-- without measurements until an administrator declares them.
UPDATE device_types t SET primary_parameter = coalesce(
  (SELECT a.assignment_type FROM devices d
   JOIN plant_device_assignments a ON a.device_id = d.id
   WHERE d.device_type_id = t.id AND a.assignment_type <> 'pump'
   GROUP BY a.assignment_type ORDER BY count(*) DESC, a.assignment_type LIMIT 1),
  CASE t.data_unit WHEN '°C' THEN 'temperature' WHEN 'lux' THEN 'light'
                   WHEN 'µS/cm' THEN 'conductivity' WHEN 'ppm' THEN 'co2'
                   WHEN 'hPa' THEN 'pressure' END);
INSERT INTO device_type_measurements (device_type_id, parameter_name, unit, min_value, max_value,
                                      position)
SELECT id, primary_parameter, data_unit, min_value, max_value, 0
FROM device_types WHERE primary_parameter IS NOT NULL;

-- A primary parameter is one the type measures.
ALTER TABLE device_types ADD CONSTRAINT device_types_primary_parameter_measured
  FOREIGN KEY (id, primary_parameter)
  REFERENCES device_type_measurements (device_type_id, parameter_name)
  DEFERRABLE INITIALLY DEFERRED;

-- Rules: any catalogued parameter, and optionally one device.
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_parameter_name_check;
ALTER TABLE alert_rules ALTER COLUMN parameter_name TYPE varchar(100) COLLATE "C";
ALTER TABLE alert_rules ADD CONSTRAINT alert_rules_parameter_name_fkey
  FOREIGN KEY (parameter_name) REFERENCES measurement_parameters (name);
-- A rule pinned to a device that is later deleted watches every source of
-- its parameter again, as an unpinned rule does, rather than vanishing.
ALTER TABLE alert_rules ADD COLUMN device_id integer REFERENCES devices (id) ON DELETE SET NULL;
CREATE INDEX alert_rules_device_id_idx ON alert_rules (device_id) WHERE device_id IS NOT NULL;

-- Nullable for now: adding it is instant, and 0012 fills existing rows in
-- batches while ingest goes on. No foreign key: it would cost every ingested
-- row a lookup; the server checks each reading's parameter against its
-- device type's measurements, which reference the catalogue.
--
-- Rows inserted without one (by a server older than this migration, during
-- an upgrade, or by hand) are 'unspecified' rather than NULL; the default is
-- set apart from the column so that existing rows stay NULL for 0012.
ALTER TABLE sensor_data ADD COLUMN parameter_name varchar(50) COLLATE "C";
ALTER TABLE sensor_data ALTER COLUMN parameter_name SET DEFAULT 'unspecified';
