-- Waterings detected from a rise in soil moisture (docs/telemetry.md,
-- "Watering"). Per plant, off unless watering_detection_jump is set: a soil
-- moisture reading at least that many points above the lowest one within the
-- window before it records a detected watering. A window of 0 means the
-- default, one hour; at most a day.
ALTER TABLE plants
  ADD COLUMN watering_detection_jump double precision
    CONSTRAINT plants_watering_detection_jump_check
      CHECK (watering_detection_jump > 0 AND watering_detection_jump <= 100),
  ADD COLUMN watering_detection_window interval NOT NULL DEFAULT '0'
    CONSTRAINT plants_watering_detection_window_check
      CHECK (watering_detection_window >= '0' AND watering_detection_window <= '1 day');

ALTER TABLE watering_events ADD COLUMN detected boolean NOT NULL DEFAULT false;
