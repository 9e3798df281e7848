-- Waterings (docs/telemetry.md, "Watering"): what PlantService.RecordWatering
-- records, newest first per plant. plants.last_watered follows the newest
-- one, in the same transaction, and never moves back.
CREATE TABLE watering_events (
  id          serial PRIMARY KEY,
  user_id     integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  plant_id    integer NOT NULL REFERENCES plants (id) ON DELETE CASCADE,
  watered_at  timestamptz NOT NULL,
  amount_ml   integer CONSTRAINT watering_events_amount_check CHECK (amount_ml > 0),
  note        varchar(500),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX watering_events_plant_idx ON watering_events (plant_id, id);
CREATE TRIGGER watering_events_set_updated_at BEFORE UPDATE ON watering_events
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
