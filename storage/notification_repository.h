#ifndef PLANTMON_STORAGE_NOTIFICATION_REPOSITORY_H_
#define PLANTMON_STORAGE_NOTIFICATION_REPOSITORY_H_

// Notification channels, the webhook outbox and its delivery log (migration
// 0022, docs/notifications.md). The decisions (which change notifies, quiet
// hours, retries) are alerting/notification_policy.h's; this gathers the
// facts and records them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/field_mask.pb.h"
#include "plantmon/v1/alert.pb.h"
#include "postgres/connection_pool_fwd.h"
#include "postgres/message_table.h"
#include "storage/models.h"

namespace plantmon::storage {

// A delivery taken for one attempt (NotificationRepository::ClaimDue).
struct ClaimedDelivery {
  int64_t id = 0;
  int64_t channel_id = 0;
  std::string url;
  std::string secret;
  std::string body;
  std::string kind;
  int attempts = 0;  // including this one
  // The channel's quiet hours, for the time of a retry.
  std::optional<int> quiet_hours_start;
  std::optional<int> quiet_hours_end;
  std::string time_zone;
};

// How an attempt ended.
struct DeliveryOutcome {
  bool delivered = false;
  std::optional<int> http_status;
  std::optional<std::string> error;
  // When not delivered: the next attempt's time, or nullopt when the
  // delivery has failed for good.
  std::optional<absl::Time> retry_at;
};

class NotificationRepository {
 public:
  explicit NotificationRepository(postgres::ConnectionPool& pool) : pool_(pool) {}

  // The fields an update may name.
  static const std::vector<std::string>& UpdatableChannelFields();

  // The channel starts at the owner's newest alert event: it hears of
  // changes from now on.
  absl::StatusOr<v1::NotificationChannel> CreateChannel(int64_t owner_id,
                                                        const v1::NotificationChannel& values);
  absl::StatusOr<v1::NotificationChannel> GetChannel(int64_t owner_id, int64_t id);
  // A page of the owner's channels, described for the pipelined reader
  // (secrets included: the caller hides them).
  static postgres::MessageListRead ListChannelsRead(int64_t owner_id, const PageRequest& page);
  absl::StatusOr<v1::NotificationChannel> UpdateChannel(int64_t owner_id, int64_t id,
                                                        const v1::NotificationChannel& values,
                                                        const google::protobuf::FieldMask& mask);
  absl::Status DeleteChannel(int64_t owner_id, int64_t id);
  // Newest first: `page.after_id` 0 starts at the newest; later pages go
  // below it. NOT_FOUND when the channel is not the owner's.
  absl::StatusOr<std::vector<v1::WebhookDelivery>> ListDeliveries(int64_t owner_id,
                                                                  int64_t channel_id,
                                                                  const PageRequest& page);

  // The deliverer's side. Each is safe to run from several server processes
  // at once: channels and deliveries are taken with SKIP LOCKED.

  // Turns the alert events of active channels past their cursors into
  // deliveries (at most `events_per_channel` each), and queues
  // re-notifications of alerts still ACTIVE; how many deliveries it queued.
  absl::StatusOr<int> QueueNotifications(int events_per_channel);
  // Takes one due delivery for an attempt, holding it for `lease`: at most
  // one attempt per channel is in flight, so a slow receiver holds up only
  // its own channel. nullopt when nothing is due.
  absl::StatusOr<std::optional<ClaimedDelivery>> ClaimDue(absl::Duration lease);
  absl::Status RecordOutcome(int64_t delivery_id, const DeliveryOutcome& outcome);

 private:
  postgres::ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_NOTIFICATION_REPOSITORY_H_
