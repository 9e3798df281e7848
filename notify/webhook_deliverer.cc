#include "notify/webhook_deliverer.h"

#include <cstdio>
#include <string>

#include "alerting/notification_policy.h"
#include "common/sync.h"
#include "metrics/registry.h"

namespace plantmon::notify {
namespace {

// A lease outlives the attempt's timeout, so that a deliverer that died
// mid-attempt leaves the delivery to be taken again soon after.
constexpr absl::Duration kLeaseMargin = absl::Seconds(30);
// Alert events turned into deliveries per channel and round.
constexpr int kEventsPerRound = 500;

}  // namespace

WebhookDeliverer::WebhookDeliverer(storage::NotificationRepository& repository,
                                   const WebhookOptions& options)
    : repository_(repository), options_(options) {
  threads_.emplace_back([this] { QueueLoop(); });
  for (int i = 0; i < std::max(options_.senders, 1); ++i) {
    threads_.emplace_back([this] { SendLoop(); });
  }
}

WebhookDeliverer::~WebhookDeliverer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

bool WebhookDeliverer::Pause(absl::Duration wait) {
  std::unique_lock<std::mutex> lock(mu_);
  common::WaitUntil(stop_, lock, absl::Now() + wait, [this] { return stopping_; });
  return !stopping_;
}

void WebhookDeliverer::QueueLoop() {
  while (Pause(options_.poll_interval)) {
    // A full round may have left more behind: go again at once.
    while (true) {
      absl::StatusOr<int> queued = repository_.QueueNotifications(kEventsPerRound);
      if (!queued.ok()) {
        std::fprintf(stderr, "plantmon: webhook queueing failed: %s\n",
                     queued.status().ToString().c_str());
        break;
      }
      if (*queued == 0) break;
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
  }
}

void WebhookDeliverer::SendLoop() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    absl::StatusOr<std::optional<storage::ClaimedDelivery>> claimed =
        repository_.ClaimDue(options_.timeout + kLeaseMargin);
    if (!claimed.ok() || !claimed->has_value()) {
      if (!Pause(options_.poll_interval)) return;
      continue;
    }
    const storage::ClaimedDelivery& delivery = **claimed;
    storage::DeliveryOutcome outcome = Attempt(delivery);
    static metrics::CounterFamily& attempts = metrics::DefaultRegistry().Counter(
        "plantmon_webhook_attempts_total",
        "Webhook delivery attempts by outcome: delivered, retry (failed, tried again later) or "
        "failed (out of attempts).",
        {"outcome"});
    attempts.Add({outcome.delivered ? "delivered" : outcome.retry_at ? "retry" : "failed"});
    if (absl::Status recorded = repository_.RecordOutcome(delivery.id, outcome); !recorded.ok()) {
      // The lease runs out and the delivery is sent again: at least once.
      std::fprintf(stderr, "plantmon: webhook delivery %lld not recorded: %s\n",
                   static_cast<long long>(delivery.id),  // NOLINT(google-runtime-int)
                   recorded.ToString().c_str());
    }
  }
}

storage::DeliveryOutcome WebhookDeliverer::Attempt(const storage::ClaimedDelivery& delivery) {
  PostResult result = PostWebhook(
      PostRequest{delivery.url, delivery.secret, delivery.body, delivery.id, delivery.kind},
      options_.url_policy, options_.timeout);
  storage::DeliveryOutcome outcome;
  outcome.delivered = result.delivered();
  outcome.http_status = result.http_status;
  outcome.error = result.error;
  if (outcome.delivered || delivery.attempts >= options_.max_attempts) return outcome;
  absl::Duration delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    delay =
        alerting::RetryDelay(delivery.attempts, options_.retry_base, options_.retry_cap, random_);
  }
  outcome.retry_at = alerting::NotQuiet(
      absl::Now() + delay, alerting::QuietHoursIn(delivery.quiet_hours_start,
                                                  delivery.quiet_hours_end, delivery.time_zone));
  return outcome;
}

}  // namespace plantmon::notify
