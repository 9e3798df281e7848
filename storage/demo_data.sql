-- Demo data for `plantmon_db seed`: real manufacturers and device models,
-- common houseplant species with typical care values, and a demo user's
-- plants, devices, assignments, rules and seven days of readings.
-- Idempotent: every insert skips rows that already exist, so seeding twice
-- changes nothing. The demo user itself is inserted before this script runs
-- (its password hash is a parameter).

INSERT INTO manufacturers (name, description, contact_email, website, is_verified) VALUES
  ('Xiaomi', 'Xiaomi smart home solutions, maker of the Mi Flora plant sensor', 'support@xiaomi.com', 'https://www.mi.com', true),
  ('Sonoff', 'ITEAD Sonoff Zigbee and Wi-Fi sensors and switches', 'support@itead.cc', 'https://sonoff.tech', true),
  ('Shelly', 'Allterco Shelly Wi-Fi relays and environment sensors', 'support@shelly.cloud', 'https://www.shelly.com', true),
  ('Gardena', 'Garden irrigation pumps and controllers', 'service@gardena.com', 'https://www.gardena.com', true),
  ('Adafruit', 'Open-source sensor breakout boards for makers', 'support@adafruit.com', 'https://www.adafruit.com', false)
ON CONFLICT (name) DO NOTHING;

INSERT INTO device_types (manufacturer_id, name, device_type, description, communication_interface,
                          supported_functions, data_unit, min_value, max_value)
SELECT m.id, v.name, v.kind::device_type_enum, v.description, v.interface, v.functions, v.unit, v.min_value, v.max_value
FROM (VALUES
  ('Xiaomi', 'Mi Flora Soil Moisture', 'sensor', 'Capacitive soil moisture probe of the HHCCJCY01', 'Bluetooth LE', 'read_soil_moisture', '%', 0.0, 100.0),
  ('Xiaomi', 'Mi Flora Light', 'sensor', 'Ambient light channel of the HHCCJCY01', 'Bluetooth LE', 'read_light', 'lux', 0.0, 120000.0),
  ('Sonoff', 'SNZB-02 Temperature', 'sensor', 'Zigbee temperature sensor', 'Zigbee', 'read_temperature', '°C', -20.0, 60.0),
  ('Sonoff', 'SNZB-02 Humidity', 'sensor', 'Zigbee relative humidity sensor', 'Zigbee', 'read_humidity', '%', 0.0, 100.0),
  ('Shelly', 'Plus H&T', 'sensor', 'Wi-Fi temperature and humidity sensor', 'WiFi', 'read_temperature, read_humidity', '°C', -40.0, 60.0),
  ('Gardena', 'Smart Irrigation Pump', 'actuator', 'Pump switched on for a given number of seconds', 'MQTT', 'start_pump, stop_pump', 's', 0.0, 3600.0),
  ('Adafruit', 'STEMMA Soil Sensor', 'combined', 'I2C capacitive moisture and temperature sensor', 'I2C', 'read_soil_moisture, read_temperature', '%', 0.0, 100.0)
) AS v(maker, name, kind, description, interface, functions, unit, min_value, max_value)
JOIN manufacturers m ON m.name = v.maker
ON CONFLICT (manufacturer_id, name) DO NOTHING;

INSERT INTO plant_types (name, scientific_name, description, optimal_temperature, optimal_humidity,
                         optimal_light, water_frequency_days, care_instructions) VALUES
  ('Monstera Deliciosa', 'Monstera deliciosa', 'Climbing plant with fenestrated leaves', 22.5, 72.5, 1000, 7, 'Keep soil moist, provide bright indirect light'),
  ('Snake Plant', 'Dracaena trifasciata', 'Upright succulent leaves, very tolerant', 24, 40, 500, 14, 'Let soil dry out completely between waterings'),
  ('Pothos', 'Epipremnum aureum', 'Trailing vine with heart-shaped leaves', 22, 60, 800, 7, 'Water when the top few centimetres are dry'),
  ('Fiddle Leaf Fig', 'Ficus lyrata', 'Large violin-shaped leaves', 23, 55, 2000, 7, 'Bright filtered light, avoid moving it around'),
  ('Peace Lily', 'Spathiphyllum wallisii', 'Glossy leaves and white spathes', 22, 65, 600, 5, 'Droops when thirsty; keep out of direct sun'),
  ('ZZ Plant', 'Zamioculcas zamiifolia', 'Waxy leaves on thick stems', 24, 45, 400, 14, 'Water sparingly; tolerates low light'),
  ('Spider Plant', 'Chlorophytum comosum', 'Arching striped leaves with plantlets', 21, 50, 1000, 7, 'Evenly moist soil; bright indirect light'),
  ('Aloe Vera', 'Aloe barbadensis miller', 'Succulent with gel-filled leaves', 24, 35, 3000, 21, 'Sandy soil, water deeply but rarely'),
  ('Boston Fern', 'Nephrolepis exaltata', 'Feathery arching fronds', 20, 80, 700, 3, 'Keep soil moist and humidity high'),
  ('Rubber Plant', 'Ficus elastica', 'Thick glossy oval leaves', 22, 50, 1500, 10, 'Wipe leaves; water when the top soil is dry'),
  ('Calathea', 'Goeppertia orbifolia', 'Patterned leaves that fold at night', 21, 75, 500, 5, 'Filtered water, high humidity, no direct sun'),
  ('Basil', 'Ocimum basilicum', 'Culinary herb', 24, 55, 10000, 2, 'Full sun, pinch flowers, keep soil moist')
ON CONFLICT (name) DO NOTHING;

INSERT INTO devices (user_id, device_type_id, unique_identifier, device_name, location_description, battery_level, rssi)
SELECT u.id, t.id, v.uid, v.device_name, v.location, v.battery, v.rssi
FROM (VALUES
  ('Xiaomi', 'Mi Flora Soil Moisture', 'demo-miflora-0001', 'Monstera soil probe', 'Living room corner', 87.0, -62),
  ('Xiaomi', 'Mi Flora Light', 'demo-miflora-0001-light', 'Monstera light meter', 'Living room corner', 87.0, -62),
  ('Sonoff', 'SNZB-02 Temperature', 'demo-snzb02-0001', 'Living room thermometer', 'Shelf above TV', 95.0, -45),
  ('Sonoff', 'SNZB-02 Humidity', 'demo-snzb02-0001-rh', 'Living room hygrometer', 'Shelf above TV', 95.0, -45),
  ('Adafruit', 'STEMMA Soil Sensor', 'demo-stemma-0001', 'Fern soil probe', 'Bathroom window', NULL, NULL),
  ('Gardena', 'Smart Irrigation Pump', 'demo-gardena-pump-0001', 'Balcony pump', 'Balcony', NULL, -70)
) AS v(maker, type_name, uid, device_name, location, battery, rssi)
JOIN manufacturers m ON m.name = v.maker
JOIN device_types t ON t.manufacturer_id = m.id AND t.name = v.type_name
CROSS JOIN users u
WHERE u.email = 'demo@plantmon.dev'
ON CONFLICT (unique_identifier) DO NOTHING;

INSERT INTO plants (user_id, plant_type_id, plant_name, location, planting_date, notes)
SELECT u.id, p.id, v.plant_name, v.location, v.planted::timestamptz, v.notes
FROM (VALUES
  ('Monstera Deliciosa', 'Big Monstera', 'Living room corner', '2023-01-15', 'Recently repotted, looks healthy'),
  ('Boston Fern', 'Bathroom Fern', 'Bathroom window', '2024-03-02', NULL),
  ('Basil', 'Balcony Basil', 'Balcony', '2025-05-10', 'Harvest weekly')
) AS v(species, plant_name, location, planted, notes)
JOIN plant_types p ON p.name = v.species
CROSS JOIN users u
WHERE u.email = 'demo@plantmon.dev'
  AND NOT EXISTS (SELECT 1 FROM plants x WHERE x.user_id = u.id AND x.plant_name = v.plant_name);

INSERT INTO plant_device_assignments (plant_id, device_id, assignment_type)
SELECT p.id, d.id, v.role
FROM (VALUES
  ('Big Monstera', 'demo-miflora-0001', 'soil_moisture'),
  ('Big Monstera', 'demo-miflora-0001-light', 'light'),
  ('Big Monstera', 'demo-snzb02-0001', 'temperature'),
  ('Big Monstera', 'demo-snzb02-0001-rh', 'humidity'),
  ('Bathroom Fern', 'demo-stemma-0001', 'soil_moisture'),
  ('Balcony Basil', 'demo-gardena-pump-0001', 'pump')
) AS v(plant_name, uid, role)
JOIN users u ON u.email = 'demo@plantmon.dev'
JOIN plants p ON p.user_id = u.id AND p.plant_name = v.plant_name
JOIN devices d ON d.user_id = u.id AND d.unique_identifier = v.uid
ON CONFLICT (plant_id, device_id) DO NOTHING;

INSERT INTO alert_rules (user_id, plant_id, rule_name, rule_type, parameter_name, condition_operator,
                         threshold_value, severity)
SELECT u.id, p.id, v.rule_name, 'threshold', v.parameter, v.operator, v.threshold, v.severity::alert_severity_enum
FROM (VALUES
  ('Big Monstera', 'Low Soil Moisture', 'soil_moisture', '<', 25.0, 'warning'),
  ('Big Monstera', 'Too Hot', 'temperature', '>', 30.0, 'critical'),
  ('Bathroom Fern', 'Fern Drying Out', 'soil_moisture', '<', 40.0, 'warning')
) AS v(plant_name, rule_name, parameter, operator, threshold, severity)
JOIN users u ON u.email = 'demo@plantmon.dev'
JOIN plants p ON p.user_id = u.id AND p.plant_name = v.plant_name
WHERE NOT EXISTS (SELECT 1 FROM alert_rules r WHERE r.plant_id = p.id AND r.rule_name = v.rule_name);

-- Seven days of readings every ten minutes for each demo sensor, following a
-- daily cycle, with a few out-of-range spikes flagged as anomalies. Skipped
-- for devices that already have readings.
INSERT INTO sensor_data (device_id, measurement_value, measurement_unit, data_quality, is_anomaly, "timestamp")
SELECT d.id,
       CASE WHEN s.step % 331 = 17 THEN v.spike
            ELSE round((v.base + v.swing * sin(2 * pi() * s.step / 144.0) - v.drift * (s.step % 1008) / 1008.0)::numeric, 2)::double precision
       END,
       t.data_unit,
       CASE WHEN s.step % 331 = 17 THEN 40 ELSE 95 + (s.step % 6) END,
       s.step % 331 = 17,
       date_trunc('minute', now()) - (1007 - s.step) * interval '10 minutes'
FROM (VALUES
  ('demo-miflora-0001', 45.0, 8.0, 20.0, 130.0),
  ('demo-miflora-0001-light', 600.0, 550.0, 0.0, 150000.0),
  ('demo-snzb02-0001', 22.0, 2.5, 0.0, 85.0),
  ('demo-snzb02-0001-rh', 60.0, 10.0, 0.0, 120.0),
  ('demo-stemma-0001', 55.0, 5.0, 25.0, 140.0)
) AS v(uid, base, swing, drift, spike)
JOIN devices d ON d.unique_identifier = v.uid
JOIN device_types t ON t.id = d.device_type_id
CROSS JOIN generate_series(0, 1007) AS s(step)
WHERE NOT EXISTS (SELECT 1 FROM sensor_data x WHERE x.device_id = d.id);

UPDATE devices d
SET last_data_received = latest.ts, last_heartbeat = latest.ts
FROM (SELECT device_id, max("timestamp") AS ts FROM sensor_data GROUP BY device_id) latest
JOIN devices dd ON dd.id = latest.device_id
JOIN users u ON u.id = dd.user_id AND u.email = 'demo@plantmon.dev'
WHERE d.id = latest.device_id AND d.last_data_received IS DISTINCT FROM latest.ts;
