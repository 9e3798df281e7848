#ifndef PLANTMON_NOTIFY_WEBHOOK_DELIVERER_H_
#define PLANTMON_NOTIFY_WEBHOOK_DELIVERER_H_

// Delivers the webhook outbox (docs/notifications.md): a thread turns alert
// events into deliveries, and a few sender threads each take one due
// delivery at a time, POST it, and record the outcome, retrying failures
// with exponential backoff and jitter. Runs beside the gRPC server on its own
// threads and connections, so a slow or dead receiver never slows ingest;
// at most one attempt per channel is in flight, so it never slows another
// channel either. Several server processes may each run one.

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/time/time.h"
#include "notify/webhook_http.h"
#include "storage/notification_repository.h"

namespace plantmon::notify {

struct WebhookOptions {
  // Run a deliverer in this server process.
  bool deliver = false;
  UrlPolicy url_policy;
  // One attempt's limit (PLANTMON_WEBHOOK_TIMEOUT_SECONDS).
  absl::Duration timeout = absl::Seconds(10);
  // Retries wait retry_base, doubled per failure, up to retry_cap
  // (alerting::RetryDelay); after max_attempts a delivery has failed
  // (PLANTMON_WEBHOOK_MAX_ATTEMPTS).
  absl::Duration retry_base = absl::Seconds(5);
  absl::Duration retry_cap = absl::Hours(1);
  int max_attempts = 12;
  // Deliveries in flight at once, each to another channel.
  int senders = 4;
  // How often new alert events and due deliveries are looked for.
  absl::Duration poll_interval = absl::Milliseconds(250);
};

class WebhookDeliverer {
 public:
  WebhookDeliverer(storage::NotificationRepository& repository, const WebhookOptions& options);
  // Stops the threads; an attempt in flight finishes first (at most the
  // timeout), and one cut short is taken again after its lease.
  ~WebhookDeliverer();

  WebhookDeliverer(const WebhookDeliverer&) = delete;
  WebhookDeliverer& operator=(const WebhookDeliverer&) = delete;

 private:
  void QueueLoop();
  void SendLoop();
  // False once stopping; otherwise after `wait` or a stop.
  bool Pause(absl::Duration wait);
  storage::DeliveryOutcome Attempt(const storage::ClaimedDelivery& delivery);

  storage::NotificationRepository& repository_;
  const WebhookOptions options_;
  std::mutex mu_;
  std::condition_variable stop_;
  bool stopping_ = false;  // guarded by mu_
  absl::BitGen random_;    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace plantmon::notify

#endif  // PLANTMON_NOTIFY_WEBHOOK_DELIVERER_H_
