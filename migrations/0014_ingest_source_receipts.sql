-- Receipts of the source messages gateways relay from an at-least-once
-- source (plantmon_mqtt_bridge and an MQTT broker at QoS 1; docs/telemetry.md,
-- "Source messages"). A receipt is written in the transaction that stores the
-- message's readings; a message the source redelivers (a bridge that stopped
-- before it acknowledged the message to the broker) whose receipt matches is
-- not stored again. One row per (gateway, message id): the source reuses an
-- id only after its message was acknowledged, so the table stays bounded
-- (MQTT: 65,535 per gateway).
CREATE TABLE ingest_source_receipts (
  user_id     integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  gateway_id  varchar(255) NOT NULL,
  message_id  bigint NOT NULL,
  digest      bytea NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, gateway_id, message_id)
) WITH (fillfactor = 50);
-- Every committed message rewrites its id's row. With no index on the
-- updated columns and room left in each page, that is a HOT update: no index
-- entry per message (tools/bench/run_mqtt.sh measures what receipts cost).
-- The hourly purge by received_at scans the table, which stays small.
