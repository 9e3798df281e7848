#include "storage/notification_repository.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "alerting/notification_policy.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "plantmon/v1/webhook.pb.h"
#include "postgres/message_table.h"
#include "postgres/pg_array.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/message_rows.h"
#include "storage/row_reader.h"
#include "storage/tables.h"

namespace plantmon::storage {

using postgres::RunInTransaction;
namespace {

// `notification_channels` (migration 0022), as v1::NotificationChannel. The
// cursor is no field: the deliverer alone moves it.
const postgres::MessageTable& Channels() {
  static const auto* table =
      new postgres::MessageTable("notification_channels", v1::NotificationChannel::descriptor(),
                                 postgres::FieldColumns()
                                     .ReadOnly({"id", "user_id", "created_at", "updated_at"})
                                     .Enum("min_severity", "alert_severity_enum"));
  return *table;
}

// `webhook_deliveries`, written by the deliverer only.
const postgres::MessageTable& Deliveries() {
  static const auto* table =
      new postgres::MessageTable("webhook_deliveries", v1::WebhookDelivery::descriptor(),
                                 postgres::FieldColumns(postgres::ColumnAccess::kReadOnly));
  return *table;
}

absl::Status ExplainChannelConflict(absl::Status status) {
  return postgres::ExplainConstraint(
      std::move(status), {{"notification_channels_user_name_key", absl::StatusCode::kAlreadyExists,
                           "you already have a notification channel with this name"}});
}

// A channel being fanned out.
struct ChannelState {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string min_severity;
  std::optional<alerting::QuietHours> quiet;
  int64_t last_event_id = 0;
};

// A delivery to queue: its alert as the change left it.
struct NewDelivery {
  v1::Alert alert;
  std::optional<int64_t> event_id;
  std::string kind;
};

// Queues `deliveries` of `channel` in `transaction`, each body a
// v1::WebhookPayload with the alert's plant and reading as they are now.
int QueueDeliveries(pqxx::work& transaction, const ChannelState& channel,
                    const std::vector<NewDelivery>& deliveries) {
  if (deliveries.empty()) return 0;
  std::vector<int64_t> plant_ids;
  std::vector<int64_t> rule_ids;
  for (const NewDelivery& delivery : deliveries) {
    plant_ids.push_back(delivery.alert.plant_id());
    rule_ids.push_back(delivery.alert.rule_id());
  }
  absl::flat_hash_map<int64_t, v1::Plant> plants;
  for (const pqxx::row& row : postgres::ExecPrepared(
           transaction,
           "SELECT " + Plants().select_list() + " FROM plants WHERE id = ANY($1::int[])",
           postgres::PgIntArray(plant_ids))) {
    auto plant = Plants().Read<v1::Plant>(row);
    plants[plant.id()] = std::move(plant);
  }
  absl::flat_hash_map<int64_t, std::string> parameters;
  for (const pqxx::row& row : postgres::ExecPrepared(
           transaction, "SELECT id, parameter_name FROM alert_rules WHERE id = ANY($1::int[])",
           postgres::PgIntArray(rule_ids))) {
    parameters[row[0].as<int64_t>()] = row[1].as<std::string>();
  }
  const absl::Time send_at = alerting::NotQuiet(absl::Now(), channel.quiet);
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  json.always_print_primitive_fields = true;
  // Ids first, in one round trip: each body carries its own.
  std::vector<int64_t> ids;
  for (const pqxx::row& row : postgres::ExecPrepared(
           transaction, "SELECT nextval('webhook_deliveries_id_seq') FROM generate_series(1, $1)",
           static_cast<int64_t>(deliveries.size()))) {
    ids.push_back(row[0].as<int64_t>());
  }
  std::vector<int64_t> alert_ids;
  std::vector<std::optional<int64_t>> event_ids;
  std::vector<std::string> kinds;
  std::vector<std::string> bodies;
  // Each alert's last status in the batch (an alert may open and resolve in
  // one), for the channel's memory of what it said.
  absl::flat_hash_map<int64_t, std::string> last_status;
  for (size_t i = 0; i < deliveries.size(); ++i) {
    const NewDelivery& delivery = deliveries[i];
    v1::WebhookPayload payload;
    payload.set_delivery_id(ids[i]);
    payload.set_kind(delivery.kind);
    if (delivery.event_id.has_value()) payload.set_event_id(*delivery.event_id);
    *payload.mutable_alert() = delivery.alert;
    if (auto plant = plants.find(delivery.alert.plant_id()); plant != plants.end()) {
      *payload.mutable_plant() = plant->second;
    }
    v1::WebhookReading* reading = payload.mutable_reading();
    if (auto parameter = parameters.find(delivery.alert.rule_id()); parameter != parameters.end()) {
      reading->set_parameter_name(parameter->second);
    }
    if (delivery.alert.has_latest_value()) reading->set_value(delivery.alert.latest_value());
    *reading->mutable_timestamp() = delivery.alert.last_triggered_at();
    std::string body;
    google::protobuf::util::MessageToJsonString(payload, &body, json);
    alert_ids.push_back(delivery.alert.id());
    event_ids.push_back(delivery.event_id);
    kinds.push_back(delivery.kind);
    bodies.push_back(std::move(body));
    last_status[delivery.alert.id()] = postgres::DatabaseEnumName(
        v1::AlertStatus_descriptor()->FindValueByNumber(delivery.alert.status()));
  }
  postgres::ExecPrepared(
      transaction,
      "INSERT INTO webhook_deliveries (id, channel_id, user_id, alert_id, event_id, kind, body, "
      "next_attempt_at) SELECT d.id, $2, $3, d.alert_id, d.event_id, d.kind, d.body, "
      "epoch_us_to_timestamptz($4) FROM unnest($1::bigint[], $5::int[], $6::bigint[], "
      "$7::text[], $8::text[]) AS d(id, alert_id, event_id, kind, body)",
      postgres::PgIntArray(ids), channel.id, channel.user_id, absl::ToUnixMicros(send_at),
      postgres::PgIntArray(alert_ids), postgres::PgNullableIntArray(event_ids),
      postgres::PgTextArray(kinds), postgres::PgTextArray(bodies));
  std::vector<int64_t> noted_alerts;
  std::vector<std::string> noted_statuses;
  for (const auto& [alert_id, status] : last_status) {
    noted_alerts.push_back(alert_id);
    noted_statuses.push_back(status);
  }
  // What the channel last said about each alert (nothing to remember once
  // the alert is gone).
  postgres::ExecPrepared(
      transaction,
      "INSERT INTO notification_alert_states (channel_id, alert_id, last_status, "
      "last_notified_at) SELECT $1, s.alert_id, s.status::alert_status_enum, now() "
      "FROM unnest($2::int[], $3::text[]) AS s(alert_id, status) "
      "WHERE EXISTS (SELECT 1 FROM alerts a WHERE a.id = s.alert_id) "
      "ON CONFLICT (channel_id, alert_id) DO UPDATE SET last_status = EXCLUDED.last_status, "
      "last_notified_at = EXCLUDED.last_notified_at",
      channel.id, postgres::PgIntArray(noted_alerts), postgres::PgTextArray(noted_statuses));
  return static_cast<int>(deliveries.size());
}

std::optional<alerting::NotifiedStatus> StatusOf(const v1::Alert& alert) {
  return alerting::ParseNotifiedStatus(
      postgres::DatabaseEnumName(v1::AlertStatus_descriptor()->FindValueByNumber(alert.status())));
}

std::string SeverityOf(const v1::Alert& alert) {
  return postgres::DatabaseEnumName(
      v1::AlertSeverity_descriptor()->FindValueByNumber(alert.severity()));
}

// The events of `channel` past its cursor that notify, queued; the cursor
// moves past every event read.
int FanOut(pqxx::work& transaction, ChannelState& channel, int limit) {
  std::vector<std::pair<int64_t, v1::Alert>> events;
  for (const pqxx::row& row :
       postgres::ExecPrepared(transaction,
                              "SELECT " + Alerts().SelectList("(e.alert)") +
                                  ", e.id FROM alert_events e WHERE e.user_id = $1 AND e.id > $2 "
                                  "ORDER BY e.id LIMIT $3",
                              channel.user_id, channel.last_event_id, limit)) {
    events.emplace_back(row[static_cast<int>(Alerts().column_count())].as<int64_t>(),
                        Alerts().Read<v1::Alert>(row));
  }
  if (events.empty()) return 0;
  std::vector<int64_t> alert_ids;
  for (const auto& [event_id, alert] : events) alert_ids.push_back(alert.id());
  absl::flat_hash_map<int64_t, alerting::NotifiedStatus> last;
  for (const pqxx::row& row :
       postgres::ExecPrepared(transaction,
                              "SELECT alert_id, last_status::text FROM notification_alert_states "
                              "WHERE channel_id = $1 AND alert_id = ANY($2::int[])",
                              channel.id, postgres::PgIntArray(alert_ids))) {
    if (auto status = alerting::ParseNotifiedStatus(row[1].as<std::string>())) {
      last[row[0].as<int64_t>()] = *status;
    }
  }
  std::vector<NewDelivery> deliveries;
  for (const auto& [event_id, alert] : events) {
    std::optional<alerting::NotifiedStatus> status = StatusOf(alert);
    if (!status.has_value()) continue;
    auto known = last.find(alert.id());
    std::optional<std::string> kind = alerting::NotificationKind(
        *status,
        known == last.end() ? std::nullopt : std::optional<alerting::NotifiedStatus>(known->second),
        SeverityOf(alert), channel.min_severity);
    if (!kind.has_value()) continue;
    last[alert.id()] = *status;
    deliveries.push_back({alert, event_id, *kind});
  }
  channel.last_event_id = events.back().first;
  postgres::ExecPrepared(transaction,
                         "UPDATE notification_channels SET last_event_id = $2 WHERE id = $1",
                         channel.id, channel.last_event_id);
  return QueueDeliveries(transaction, channel, deliveries);
}

ChannelState ReadChannelState(const pqxx::row& row) {
  RowReader reader(row);
  ChannelState channel;
  channel.id = reader.Next<int64_t>();
  channel.user_id = reader.Next<int64_t>();
  channel.min_severity = reader.Next<std::string>();
  const std::optional<int> start = reader.NextOptional<int>();
  const std::optional<int> end = reader.NextOptional<int>();
  channel.quiet = alerting::QuietHoursIn(start, end, reader.Next<std::string>());
  channel.last_event_id = reader.Next<int64_t>();
  return channel;
}

constexpr char kChannelStateColumns[] =
    "c.id, c.user_id, c.min_severity::text, c.quiet_hours_start, c.quiet_hours_end, "
    "c.time_zone, c.last_event_id";

}  // namespace

const std::vector<std::string>& NotificationRepository::UpdatableChannelFields() {
  return Channels().updatable();
}

absl::StatusOr<v1::NotificationChannel> NotificationRepository::CreateChannel(
    int64_t owner_id, const v1::NotificationChannel& values) {
  absl::StatusOr<v1::NotificationChannel> created = RunInTransaction(
      pool_, [&](pqxx::work& transaction) -> absl::StatusOr<v1::NotificationChannel> {
        const auto newest =
            postgres::ExecPrepared(
                transaction, "SELECT COALESCE(max(id), 0) FROM alert_events WHERE user_id = $1",
                owner_id)[0][0]
                .as<int64_t>();
        v1::NotificationChannel row;
        postgres::InsertRow(
            transaction, Channels(), values,
            {{"user_id", std::to_string(owner_id)}, {"last_event_id", std::to_string(newest)}},
            &row);
        return row;
      });
  if (!created.ok()) return ExplainChannelConflict(created.status());
  return created;
}

absl::StatusOr<v1::NotificationChannel> NotificationRepository::GetChannel(int64_t owner_id,
                                                                           int64_t id) {
  return GetOwnedMessage<v1::NotificationChannel>(pool_, Channels(), "notification channel",
                                                  owner_id, id);
}

postgres::MessageListRead NotificationRepository::ListChannelsRead(int64_t owner_id,
                                                                   const PageRequest& page) {
  return OwnedListRead(Channels(), owner_id, page, "");
}

absl::StatusOr<v1::NotificationChannel> NotificationRepository::UpdateChannel(
    int64_t owner_id, int64_t id, const v1::NotificationChannel& values,
    const google::protobuf::FieldMask& mask) {
  absl::StatusOr<v1::NotificationChannel> updated =
      UpdateMessage(pool_, Channels(), "notification channel", id, "id = $1 AND user_id = $2",
                    {std::to_string(id), std::to_string(owner_id)}, values, mask);
  if (!updated.ok()) return ExplainChannelConflict(updated.status());
  return updated;
}

absl::Status NotificationRepository::DeleteChannel(int64_t owner_id, int64_t id) {
  return UpdateOne(pool_, "notification channel", id,
                   "DELETE FROM notification_channels WHERE id = $1 AND user_id = $2", id,
                   owner_id);
}

absl::StatusOr<std::vector<v1::WebhookDelivery>> NotificationRepository::ListDeliveries(
    int64_t owner_id, int64_t channel_id, const PageRequest& page) {
  return RunInTransaction(
      pool_, [&](pqxx::work& transaction) -> absl::StatusOr<std::vector<v1::WebhookDelivery>> {
        if (!ExistsWith(transaction,
                        "SELECT 1 FROM notification_channels WHERE id = $1 AND user_id = $2",
                        channel_id, owner_id)) {
          return NotFound("notification channel", channel_id);
        }
        std::vector<v1::WebhookDelivery> rows;
        for (const pqxx::row& row : postgres::ExecPrepared(
                 transaction,
                 "SELECT " + Deliveries().select_list() +
                     " FROM webhook_deliveries WHERE channel_id = $1 AND ($2 = 0 OR id < $2) "
                     "ORDER BY id DESC LIMIT $3",
                 channel_id, page.after_id, page.limit)) {
          rows.push_back(Deliveries().Read<v1::WebhookDelivery>(row));
        }
        return rows;
      });
}

absl::StatusOr<int> NotificationRepository::QueueNotifications(int events_per_channel) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<int> {
    int queued = 0;
    // Channels with events past their cursors; another server's deliverer
    // skips the ones this one holds.
    for (const pqxx::row& row : postgres::ExecPrepared(
             transaction, absl::StrCat("SELECT ", kChannelStateColumns,
                                       " FROM notification_channels c WHERE c.is_active AND EXISTS "
                                       "(SELECT 1 FROM alert_events e WHERE e.user_id = c.user_id "
                                       "AND e.id > c.last_event_id) "
                                       "ORDER BY c.id LIMIT 100 FOR UPDATE SKIP LOCKED"))) {
      ChannelState channel = ReadChannelState(row);
      queued += FanOut(transaction, channel, events_per_channel);
    }
    // Alerts still ACTIVE that a channel last sent longer ago than its
    // re-notify interval.
    std::vector<std::pair<ChannelState, v1::Alert>> due;
    for (const pqxx::row& row : postgres::ExecPrepared(
             transaction,
             absl::StrCat("SELECT ", kChannelStateColumns, ", ", Alerts().SelectList("a"),
                          " FROM notification_alert_states s "
                          "JOIN notification_channels c ON c.id = s.channel_id "
                          "JOIN alerts a ON a.id = s.alert_id "
                          "WHERE c.is_active AND c.renotify_interval > '0' "
                          "AND s.last_status = 'active' AND a.status = 'active' "
                          "AND s.last_notified_at <= now() - c.renotify_interval "
                          "ORDER BY s.last_notified_at LIMIT 100 FOR UPDATE OF s SKIP LOCKED"))) {
      ChannelState channel = ReadChannelState(row);
      v1::Alert alert;
      Alerts().Read(row, &alert, /*first_column=*/7);
      due.emplace_back(std::move(channel), std::move(alert));
    }
    for (auto& [channel, alert] : due) {
      if (alerting::SeverityRank(SeverityOf(alert)) <
          alerting::SeverityRank(channel.min_severity)) {
        continue;
      }
      queued += QueueDeliveries(transaction, channel, {{alert, std::nullopt, "renotify"}});
    }
    return queued;
  });
}

absl::StatusOr<std::optional<ClaimedDelivery>> NotificationRepository::ClaimDue(
    absl::Duration lease) {
  return RunInTransaction(
      pool_, [&](pqxx::work& transaction) -> absl::StatusOr<std::optional<ClaimedDelivery>> {
        // One attempt in flight per channel: the channel is taken by an
        // UPDATE of its busy_until, which PostgreSQL re-checks on the newest
        // row version, so of two claimers racing for one channel one wins.
        pqxx::result rows = postgres::ExecPrepared(
            transaction,
            "WITH due AS (SELECT d.id, d.channel_id FROM webhook_deliveries d "
            "JOIN notification_channels c ON c.id = d.channel_id AND c.is_active "
            "WHERE d.status = 'pending' AND d.next_attempt_at <= now() "
            "AND (d.leased_until IS NULL OR d.leased_until < now()) "
            "AND (c.busy_until IS NULL OR c.busy_until < now()) "
            "ORDER BY d.next_attempt_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED), "
            "taken AS (UPDATE notification_channels c "
            "SET busy_until = now() + $1 * interval '1 microsecond' FROM due "
            "WHERE c.id = due.channel_id AND (c.busy_until IS NULL OR c.busy_until < now()) "
            "RETURNING c.id, c.url, c.secret, c.quiet_hours_start, c.quiet_hours_end, "
            "c.time_zone) "
            "UPDATE webhook_deliveries d SET leased_until = now() + $1 * interval '1 microsecond', "
            "attempts = d.attempts + 1, last_attempt_at = now() "
            "FROM due, taken c WHERE d.id = due.id AND c.id = d.channel_id "
            "RETURNING d.id, d.channel_id, c.url, c.secret, d.body, d.kind, d.attempts, "
            "c.quiet_hours_start, c.quiet_hours_end, c.time_zone",
            absl::ToInt64Microseconds(lease));
        if (rows.empty()) return std::nullopt;
        const pqxx::row row = rows[0];
        RowReader reader(row);
        ClaimedDelivery claimed;
        claimed.id = reader.Next<int64_t>();
        claimed.channel_id = reader.Next<int64_t>();
        claimed.url = reader.Next<std::string>();
        claimed.secret = reader.Next<std::string>();
        claimed.body = reader.Next<std::string>();
        claimed.kind = reader.Next<std::string>();
        claimed.attempts = reader.Next<int>();
        claimed.quiet_hours_start = reader.NextOptional<int>();
        claimed.quiet_hours_end = reader.NextOptional<int>();
        claimed.time_zone = reader.Next<std::string>();
        return claimed;
      });
}

absl::Status NotificationRepository::RecordOutcome(int64_t delivery_id,
                                                   const DeliveryOutcome& outcome) {
  const char* status = outcome.delivered ? "delivered" : outcome.retry_at ? "pending" : "failed";
  std::optional<std::string> error = outcome.error;
  if (error.has_value() && error->size() > 500) error->resize(500);
  // The attempt is over: the delivery and its channel are free again.
  return postgres::ExecuteUpdate(
             pool_,
             "WITH done AS (UPDATE webhook_deliveries SET status = $2::text, leased_until = NULL, "
             "last_http_status = $3, last_error = $4, "
             "delivered_at = CASE WHEN $2::text = 'delivered' THEN now() END, "
             "next_attempt_at = COALESCE(epoch_us_to_timestamptz($5), next_attempt_at) "
             "WHERE id = $1 RETURNING channel_id) "
             "UPDATE notification_channels SET busy_until = NULL "
             "WHERE id IN (SELECT channel_id FROM done)",
             delivery_id, std::string(status), outcome.http_status, error,
             OptionalMicros(outcome.retry_at))
      .status();
}

}  // namespace plantmon::storage
