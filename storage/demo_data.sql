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
  ('Aqara', 'Lumi Aqara Zigbee home sensors', 'support@aqara.com', 'https://www.aqara.com', true),
  ('Tuya', 'White-label Zigbee sensors sold under many brands', 'service@tuya.com', 'https://www.tuya.com', false),
  ('Gardena', 'Garden irrigation pumps and controllers', 'service@gardena.com', 'https://www.gardena.com', true),
  ('Adafruit', 'Open-source sensor breakout boards for makers', 'support@adafruit.com', 'https://www.adafruit.com', false)
ON CONFLICT (name) DO NOTHING;

-- Real models with what they really measure (device_type_measurements,
-- migration 0011); the first measurement listed is the primary one, which
-- the seed's data_unit/min_value/max_value describe.
INSERT INTO device_types (manufacturer_id, name, device_type, description, communication_interface,
                          supported_functions, data_unit, min_value, max_value)
SELECT m.id, v.name, v.kind::device_type_enum, v.description, v.interface, v.functions, v.unit, v.min_value, v.max_value
FROM (VALUES
  ('Xiaomi', 'Mi Flora HHCCJCY01', 'sensor', 'Bluetooth plant sensor: soil moisture, temperature, light, fertility', 'Bluetooth LE', 'read_soil_moisture, read_temperature, read_light, read_conductivity, read_battery', '%', 0.0, 100.0),
  ('Sonoff', 'SNZB-02', 'sensor', 'Zigbee temperature and humidity sensor', 'Zigbee', 'read_temperature, read_humidity, read_battery', '°C', -20.0, 60.0),
  ('Shelly', 'Plus H&T', 'sensor', 'Wi-Fi temperature and humidity sensor', 'WiFi', 'read_temperature, read_humidity, read_battery', '°C', -40.0, 60.0),
  ('Aqara', 'WSDCGQ11LM', 'sensor', 'Zigbee temperature, humidity and pressure sensor', 'Zigbee', 'read_temperature, read_humidity, read_pressure, read_battery', '°C', -20.0, 60.0),
  ('Tuya', 'TS0601 Soil Sensor', 'sensor', 'Zigbee soil moisture and temperature probe', 'Zigbee', 'read_soil_moisture, read_soil_temperature, read_battery', '%', 0.0, 100.0),
  ('Gardena', 'Smart Irrigation Pump', 'actuator', 'Pump switched on for a given number of seconds', 'MQTT', 'start_pump, stop_pump', 's', 0.0, 3600.0),
  ('Adafruit', 'STEMMA Soil Sensor', 'combined', 'I2C capacitive moisture and temperature sensor', 'I2C', 'read_soil_moisture, read_soil_temperature', '%', 0.0, 100.0)
) AS v(maker, name, kind, description, interface, functions, unit, min_value, max_value)
JOIN manufacturers m ON m.name = v.maker
ON CONFLICT (manufacturer_id, name) DO NOTHING;

INSERT INTO device_type_measurements (device_type_id, parameter_name, unit, min_value, max_value, position)
SELECT t.id, v.parameter, v.unit, v.min_value, v.max_value, v.position
FROM (VALUES
  ('Xiaomi', 'Mi Flora HHCCJCY01', 'soil_moisture', '%', 0.0, 100.0, 0),
  ('Xiaomi', 'Mi Flora HHCCJCY01', 'temperature', '°C', -10.0, 60.0, 1),
  ('Xiaomi', 'Mi Flora HHCCJCY01', 'light', 'lux', 0.0, 120000.0, 2),
  ('Xiaomi', 'Mi Flora HHCCJCY01', 'conductivity', 'µS/cm', 0.0, 10000.0, 3),
  ('Xiaomi', 'Mi Flora HHCCJCY01', 'battery', '%', 0.0, 100.0, 4),
  ('Sonoff', 'SNZB-02', 'temperature', '°C', -20.0, 60.0, 0),
  ('Sonoff', 'SNZB-02', 'humidity', '%', 0.0, 100.0, 1),
  ('Sonoff', 'SNZB-02', 'battery', '%', 0.0, 100.0, 2),
  ('Shelly', 'Plus H&T', 'temperature', '°C', -40.0, 60.0, 0),
  ('Shelly', 'Plus H&T', 'humidity', '%', 0.0, 100.0, 1),
  ('Shelly', 'Plus H&T', 'battery', '%', 0.0, 100.0, 2),
  ('Aqara', 'WSDCGQ11LM', 'temperature', '°C', -20.0, 60.0, 0),
  ('Aqara', 'WSDCGQ11LM', 'humidity', '%', 0.0, 100.0, 1),
  ('Aqara', 'WSDCGQ11LM', 'pressure', 'hPa', 300.0, 1100.0, 2),
  ('Aqara', 'WSDCGQ11LM', 'battery', '%', 0.0, 100.0, 3),
  ('Tuya', 'TS0601 Soil Sensor', 'soil_moisture', '%', 0.0, 100.0, 0),
  ('Tuya', 'TS0601 Soil Sensor', 'soil_temperature', '°C', -20.0, 60.0, 1),
  ('Tuya', 'TS0601 Soil Sensor', 'battery', '%', 0.0, 100.0, 2),
  ('Adafruit', 'STEMMA Soil Sensor', 'soil_moisture', '%', 0.0, 100.0, 0),
  ('Adafruit', 'STEMMA Soil Sensor', 'soil_temperature', '°C', -20.0, 60.0, 1)
) AS v(maker, type_name, parameter, unit, min_value, max_value, position)
JOIN manufacturers m ON m.name = v.maker
JOIN device_types t ON t.manufacturer_id = m.id AND t.name = v.type_name
ON CONFLICT (device_type_id, parameter_name) DO NOTHING;

UPDATE device_types t SET primary_parameter = dm.parameter_name
FROM device_type_measurements dm
WHERE dm.device_type_id = t.id AND dm.position = 0 AND t.primary_parameter IS NULL;

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

-- Each device once, named as its bridge reports it: a MAC for Bluetooth (as
-- OpenMQTTGateway does), an IEEE address for Zigbee (as zigbee2mqtt does).
INSERT INTO devices (user_id, device_type_id, unique_identifier, device_name, location_description, battery_level, rssi)
SELECT u.id, t.id, v.uid, v.device_name, v.location, v.battery, v.rssi
FROM (VALUES
  ('Xiaomi', 'Mi Flora HHCCJCY01', 'C4:7C:8D:6A:3F:01', 'Monstera Mi Flora', 'Living room corner', 87.0, -62),
  ('Sonoff', 'SNZB-02', '0x00124b0022a1b2c3', 'Living room thermometer', 'Shelf above TV', 95.0, -45),
  ('Shelly', 'Plus H&T', 'shellyplusht-d4d4da7c1e10', 'Bathroom H&T', 'Bathroom shelf', 78.0, -58),
  ('Tuya', 'TS0601 Soil Sensor', '0xa4c1380f2e9b1c77', 'Fern soil probe', 'Bathroom window', 64.0, -71),
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
  ('Big Monstera', 'C4:7C:8D:6A:3F:01', 'soil_moisture'),
  ('Big Monstera', '0x00124b0022a1b2c3', 'temperature'),
  ('Bathroom Fern', '0xa4c1380f2e9b1c77', 'soil_moisture'),
  ('Bathroom Fern', 'shellyplusht-d4d4da7c1e10', 'humidity'),
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
  ('Big Monstera', 'Needs Fertiliser', 'conductivity', '<', 350.0, 'info'),
  ('Bathroom Fern', 'Fern Drying Out', 'soil_moisture', '<', 40.0, 'warning'),
  ('Bathroom Fern', 'Air Too Dry', 'humidity', '<', 50.0, 'warning')
) AS v(plant_name, rule_name, parameter, operator, threshold, severity)
JOIN users u ON u.email = 'demo@plantmon.dev'
JOIN plants p ON p.user_id = u.id AND p.plant_name = v.plant_name
WHERE NOT EXISTS (SELECT 1 FROM alert_rules r WHERE r.plant_id = p.id AND r.rule_name = v.rule_name);

-- Seven days of readings every ten minutes for each demo sensor and each
-- parameter it measures, following a daily cycle, with a few out-of-range
-- spikes flagged as anomalies. Skipped for series that already have readings.
INSERT INTO sensor_data (device_id, parameter_name, measurement_value, measurement_unit, data_quality, is_anomaly, "timestamp")
SELECT d.id, v.parameter,
       CASE WHEN v.spike IS NOT NULL AND s.step % 331 = 17 THEN v.spike
            ELSE round((v.base + v.swing * sin(2 * pi() * s.step / 144.0) - v.drift * (s.step % 1008) / 1008.0)::numeric, 2)::double precision
       END,
       coalesce(dm.unit, mp.unit),
       CASE WHEN v.spike IS NOT NULL AND s.step % 331 = 17 THEN 40 ELSE 95 + (s.step % 6) END,
       v.spike IS NOT NULL AND s.step % 331 = 17,
       date_trunc('minute', now()) - (1007 - s.step) * interval '10 minutes'
FROM (VALUES
  ('C4:7C:8D:6A:3F:01', 'soil_moisture', 45.0, 8.0, 20.0, 130.0),
  ('C4:7C:8D:6A:3F:01', 'temperature', 22.5, 2.0, 0.0, NULL),
  ('C4:7C:8D:6A:3F:01', 'light', 600.0, 550.0, 0.0, 150000.0),
  ('C4:7C:8D:6A:3F:01', 'conductivity', 420.0, 15.0, 90.0, NULL),
  ('C4:7C:8D:6A:3F:01', 'battery', 88.0, 0.0, 2.0, NULL),
  ('0x00124b0022a1b2c3', 'temperature', 22.0, 2.5, 0.0, 85.0),
  ('0x00124b0022a1b2c3', 'humidity', 55.0, 8.0, 0.0, NULL),
  ('0x00124b0022a1b2c3', 'battery', 96.0, 0.0, 1.0, NULL),
  ('shellyplusht-d4d4da7c1e10', 'temperature', 23.0, 1.5, 0.0, NULL),
  ('shellyplusht-d4d4da7c1e10', 'humidity', 68.0, 12.0, 0.0, 120.0),
  ('shellyplusht-d4d4da7c1e10', 'battery', 79.0, 0.0, 1.0, NULL),
  ('0xa4c1380f2e9b1c77', 'soil_moisture', 55.0, 5.0, 25.0, 140.0),
  ('0xa4c1380f2e9b1c77', 'soil_temperature', 20.0, 1.0, 0.0, NULL),
  ('0xa4c1380f2e9b1c77', 'battery', 65.0, 0.0, 1.0, NULL)
) AS v(uid, parameter, base, swing, drift, spike)
JOIN devices d ON d.unique_identifier = v.uid
JOIN device_type_measurements dm ON dm.device_type_id = d.device_type_id AND dm.parameter_name = v.parameter
JOIN measurement_parameters mp ON mp.name = v.parameter
CROSS JOIN generate_series(0, 1007) AS s(step)
WHERE NOT EXISTS (SELECT 1 FROM sensor_data x WHERE x.device_id = d.id AND x.parameter_name = v.parameter);

UPDATE devices d
SET last_data_received = latest.ts, last_heartbeat = latest.ts
FROM (SELECT device_id, max("timestamp") AS ts FROM sensor_data GROUP BY device_id) latest
JOIN devices dd ON dd.id = latest.device_id
JOIN users u ON u.id = dd.user_id AND u.email = 'demo@plantmon.dev'
WHERE d.id = latest.device_id AND d.last_data_received IS DISTINCT FROM latest.ts;

-- Three weeks of waterings at each species' interval (water_frequency_days),
-- the fern's last one a day late so that its next watering is overdue
-- (GetPlantOverview.next_watering_due). Skipped for plants that have any.
INSERT INTO watering_events (user_id, plant_id, watered_at, amount_ml, note)
SELECT p.user_id, p.id,
       date_trunc('hour', now()) - v.late - (s.step * t.water_frequency_days) * interval '1 day',
       v.amount, CASE WHEN s.step = 0 THEN v.note END
FROM (VALUES
  ('Big Monstera', interval '2 days', 500, 'With diluted fertiliser'),
  ('Bathroom Fern', interval '4 days', 300, NULL),
  ('Balcony Basil', interval '10 hours', 150, 'Morning, before the sun')
) AS v(plant_name, late, amount, note)
JOIN users u ON u.email = 'demo@plantmon.dev'
JOIN plants p ON p.user_id = u.id AND p.plant_name = v.plant_name
JOIN plant_types t ON t.id = p.plant_type_id
CROSS JOIN generate_series(0, 20) AS s(step)
WHERE s.step * t.water_frequency_days <= 21
  AND NOT EXISTS (SELECT 1 FROM watering_events w WHERE w.plant_id = p.id);

UPDATE plants p SET last_watered = w.newest
FROM (SELECT plant_id, max(watered_at) AS newest FROM watering_events GROUP BY plant_id) w
JOIN plants pp ON pp.id = w.plant_id
JOIN users u ON u.id = pp.user_id AND u.email = 'demo@plantmon.dev'
WHERE p.id = w.plant_id AND (p.last_watered IS NULL OR p.last_watered < w.newest);
