-- Notification channels and webhook delivery (docs/notifications.md).
--
-- The outbox is alert_events (migration 0017): every alert change is written
-- there by the statement that makes it, in the same transaction. The
-- deliverer (notify/webhook_deliverer.cc) reads each channel's events after
-- its cursor, decides in C++ which of them notify (notify/policy.h), and
-- turns those into webhook_deliveries rows, moving the cursor in the same
-- transaction: an alert change that committed is delivered at least once.
CREATE TABLE notification_channels (
  id                 serial PRIMARY KEY,
  user_id            integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name               varchar(100) NOT NULL,
  url                varchar(2048) NOT NULL,
  -- The HMAC-SHA256 key of the Plantmon-Signature header. Stored as given:
  -- the server needs it to sign, so a hash would not do; the API never
  -- returns it.
  secret             varchar(256) NOT NULL,
  min_severity       alert_severity_enum NOT NULL DEFAULT 'info',
  -- Quiet hours as minutes after local midnight in time_zone; both or
  -- neither. A start after the end spans midnight (22:00-07:00).
  quiet_hours_start  integer CONSTRAINT notification_channels_quiet_start_check
                     CHECK (quiet_hours_start BETWEEN 0 AND 1439),
  quiet_hours_end    integer CONSTRAINT notification_channels_quiet_end_check
                     CHECK (quiet_hours_end BETWEEN 0 AND 1439),
  time_zone          varchar(64) NOT NULL DEFAULT 'UTC',
  -- 0: never again; otherwise how often an alert that stays ACTIVE is sent
  -- again.
  renotify_interval  interval NOT NULL DEFAULT '0'
                     CONSTRAINT notification_channels_renotify_check
                     CHECK (renotify_interval >= '0'),
  is_active          boolean NOT NULL DEFAULT true,
  -- The last alert event of the owner this channel has considered. A new
  -- channel starts at the newest event: it notifies about changes from now.
  last_event_id      bigint NOT NULL DEFAULT 0,
  -- An attempt of this channel is in flight until then: one at a time, so a
  -- slow receiver holds up only its own channel. Set by the claim's UPDATE,
  -- which re-checks it on the newest row version, so two claimers cannot
  -- both take the channel; cleared with the attempt's outcome, or run out
  -- when a deliverer died mid-attempt.
  busy_until         timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT notification_channels_quiet_hours_check
    CHECK ((quiet_hours_start IS NULL) = (quiet_hours_end IS NULL)),
  CONSTRAINT notification_channels_user_name_key UNIQUE (user_id, name)
);
-- Only the owner's settings move updated_at, not the deliverer's bookkeeping
-- (last_event_id, busy_until).
CREATE TRIGGER notification_channels_set_updated_at
  BEFORE UPDATE OF name, url, secret, min_severity, quiet_hours_start, quiet_hours_end,
  time_zone, renotify_interval, is_active ON notification_channels
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- What each channel last said about each alert: a later event with the same
-- status says nothing new (an ACTIVE alert is updated with every violating
-- reading), and re-notifying looks for ACTIVE alerts last sent long ago.
CREATE TABLE notification_alert_states (
  channel_id        integer NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
  alert_id          integer NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  last_status       alert_status_enum NOT NULL,
  last_notified_at  timestamptz NOT NULL,
  PRIMARY KEY (channel_id, alert_id)
);
CREATE INDEX notification_alert_states_renotify_idx ON notification_alert_states
  (channel_id, last_notified_at) WHERE last_status = 'active';

-- The delivery log the owner lists (AlertService.ListWebhookDeliveries), and
-- the queue the deliverer works from.
CREATE TABLE webhook_deliveries (
  id               bigserial PRIMARY KEY,
  channel_id       integer NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
  user_id          integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- No foreign key: the log outlives a deleted alert, as alert_events does.
  alert_id         integer NOT NULL,
  event_id         bigint,
  kind             varchar(16) NOT NULL CONSTRAINT webhook_deliveries_kind_check
                   CHECK (kind IN ('opened', 'acknowledged', 'resolved', 'renotify')),
  -- The JSON body, fixed when the delivery is created so that every attempt
  -- sends the same bytes (a receiver deduplicates by Plantmon-Delivery).
  body             text NOT NULL,
  status           varchar(16) NOT NULL DEFAULT 'pending'
                   CONSTRAINT webhook_deliveries_status_check
                   CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  -- An attempt in flight holds the row until then; a deliverer that died
  -- mid-attempt leaves it to be taken again after.
  leased_until     timestamptz,
  last_attempt_at  timestamptz,
  last_http_status integer,
  last_error       varchar(500),
  delivered_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_channel_idx ON webhook_deliveries (channel_id, id);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
  WHERE status = 'pending';
CREATE TRIGGER webhook_deliveries_set_updated_at BEFORE UPDATE ON webhook_deliveries
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
