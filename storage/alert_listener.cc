#include "storage/alert_listener.h"

#include <cstdio>

#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace plantmon::storage {
namespace {

constexpr char kChannel[] = "plantmon_alerts";
// How often the listening loop wakes to notice a stop request.
constexpr long kPollMicros = 200000;

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& connection, std::function<void(const std::string&)> on_payload)
      : pqxx::notification_receiver(connection, kChannel), on_payload_(std::move(on_payload)) {}
  void operator()(const std::string& payload, int /*backend_pid*/) override {
    on_payload_(payload);
  }

 private:
  std::function<void(const std::string&)> on_payload_;
};

}  // namespace

std::optional<int64_t> AlertSubscription::Next(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  WaitUntil(changed_, lock, absl::Now() + timeout,
            [this] { return !pending_.empty() || closed_; });
  if (pending_.empty()) return std::nullopt;
  int64_t id = pending_.front();
  pending_.pop_front();
  return id;
}

bool AlertSubscription::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

void AlertSubscription::Push(int64_t alert_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back(alert_id);
  }
  changed_.notify_all();
}

void AlertSubscription::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  changed_.notify_all();
}

AlertListener::AlertListener(const DatabaseConfig& config)
    : connection_string_(LibpqConnectionString(config)) {
  thread_ = std::thread([this] { Run(); });
}

AlertListener::~AlertListener() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [user, subscription] : subscribers_) subscription->Close();
}

std::shared_ptr<AlertSubscription> AlertListener::Subscribe(int64_t user_id) {
  auto subscription = std::make_shared<AlertSubscription>();
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.emplace(user_id, subscription);
  return subscription;
}

void AlertListener::Unsubscribe(int64_t user_id,
                                const std::shared_ptr<AlertSubscription>& subscription) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [begin, end] = subscribers_.equal_range(user_id);
  for (auto it = begin; it != end; ++it) {
    if (it->second == subscription) {
      subscribers_.erase(it);
      return;
    }
  }
}

bool AlertListener::WaitUntilListening(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return WaitUntil(listening_changed_, lock, absl::Now() + timeout,
                   [this] { return listening_; });
}

void AlertListener::Dispatch(const std::string& payload) {
  std::pair<std::string, std::string> parts = absl::StrSplit(payload, ':');
  int64_t user_id = 0;
  int64_t alert_id = 0;
  if (!absl::SimpleAtoi(parts.first, &user_id) || !absl::SimpleAtoi(parts.second, &alert_id)) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto [begin, end] = subscribers_.equal_range(user_id);
  for (auto it = begin; it != end; ++it) it->second->Push(alert_id);
}

void AlertListener::Run() {
  absl::Duration backoff = absl::Milliseconds(100);
  while (!stop_.HasBeenNotified()) {
    try {
      pqxx::connection connection(connection_string_);
      Receiver receiver(connection, [this](const std::string& payload) { Dispatch(payload); });
      // The receiver's constructor issued LISTEN; make sure it took effect.
      connection.get_notifs();
      {
        std::lock_guard<std::mutex> lock(mu_);
        listening_ = true;
      }
      listening_changed_.notify_all();
      backoff = absl::Milliseconds(100);
      while (!stop_.HasBeenNotified()) {
        connection.await_notification(0, kPollMicros);
      }
    } catch (const std::exception& error) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        listening_ = false;
      }
      std::fprintf(stderr, "alert listener: %s; reconnecting\n", error.what());
      stop_.WaitForNotificationWithTimeout(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  }
}

}  // namespace plantmon::storage
