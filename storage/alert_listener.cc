#include "storage/alert_listener.h"

#include <cstdio>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace plantmon::storage {

using postgres::DatabaseConfig;
using postgres::LibpqConnectionString;
namespace {

constexpr char kChannel[] = "plantmon_alerts";
constexpr char kCredentialChannel[] = "plantmon_credentials";
// How often the listening loop wakes to notice a stop request.
constexpr int64_t kPollMicros = 200000;

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& connection, const char* channel,
           std::function<void(const std::string&)> on_payload)
      : pqxx::notification_receiver(connection, channel), on_payload_(std::move(on_payload)) {}
  void operator()(const std::string& payload, int /*backend_pid*/) override {
    on_payload_(payload);
  }

 private:
  std::function<void(const std::string&)> on_payload_;
};

}  // namespace

bool AlertSubscription::TakeChanged() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(changed_, false);
}

AlertSubscription::State AlertSubscription::state() {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

// Both run under the listener's lock, which is what makes Unsubscribe's
// promise about on_change hold.
void AlertSubscription::Announce() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kOpen) return;
    changed_ = true;
  }
  on_change_();
}

void AlertSubscription::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kOpen) return;
    state_ = State::kClosed;
  }
  on_change_();
}

AlertListener::AlertListener(const DatabaseConfig& config)
    // Named, so operators (and tests) can tell it apart in pg_stat_activity;
    // libpq takes the last of repeated keywords.
    : connection_string_(LibpqConnectionString(config) +
                         " application_name='plantmon-alert-listener'") {
  thread_ = std::thread([this] { Run(); });
}

AlertListener::~AlertListener() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [user, subscription] : subscribers_) subscription->Close();
}

std::shared_ptr<AlertSubscription> AlertListener::Subscribe(int64_t user_id,
                                                            std::function<void()> on_change) {
  auto subscription = std::make_shared<AlertSubscription>(std::move(on_change));
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
  return common::WaitUntil(listening_changed_, lock, absl::Now() + timeout,
                           [this] { return listening_; });
}

void AlertListener::Dispatch(const std::string& payload) {
  int64_t user_id = 0;
  if (absl::SimpleAtoi(payload, &user_id)) Announce(user_id);
}

void AlertListener::Announce(int64_t user_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [begin, end] = subscribers_.equal_range(user_id);
  for (auto it = begin; it != end; ++it) it->second->Announce();
}

void AlertListener::AnnounceToAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [user, subscription] : subscribers_) subscription->Announce();
}

void AlertListener::SetCredentialHandler(std::function<void(const CredentialChange&)> handler) {
  bool listening = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    credential_handler_ = std::move(handler);
    listening = listening_;
  }
  // A handler set after the connection came up has missed kListening.
  if (listening) TellCredentialHandler({CredentialChange::kListening});
}

void AlertListener::TellCredentialHandler(const CredentialChange& change) {
  std::function<void(const CredentialChange&)> handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    handler = credential_handler_;
  }
  if (handler) handler(change);
}

void AlertListener::DispatchCredential(const std::string& payload) {
  std::pair<std::string, std::string> parts = absl::StrSplit(payload, ':');
  CredentialChange change{CredentialChange::kUser};
  if (parts.first == "session") {
    change.kind = CredentialChange::kSession;
  } else if (parts.first == "api_key") {
    change.kind = CredentialChange::kApiKey;
  } else if (parts.first != "user") {
    return;
  }
  if (!absl::SimpleAtoi(parts.second, &change.id)) return;
  TellCredentialHandler(change);
}

void AlertListener::Run() {
  absl::Duration backoff = absl::Milliseconds(100);
  bool listened_before = false;
  while (!stop_.HasBeenNotified()) {
    try {
      pqxx::connection connection(connection_string_);
      Receiver receiver(connection, kChannel,
                        [this](const std::string& payload) { Dispatch(payload); });
      Receiver credentials(connection, kCredentialChannel,
                           [this](const std::string& payload) { DispatchCredential(payload); });
      // The receivers' constructors issued LISTEN; make sure it took effect.
      connection.get_notifs();
      // Changes committed while the previous connection was gone were
      // announced to nobody: every watcher reads its events again (they are
      // in the database, after each watcher's cursor).
      if (listened_before) AnnounceToAll();
      listened_before = true;
      {
        std::lock_guard<std::mutex> lock(mu_);
        listening_ = true;
      }
      listening_changed_.notify_all();
      TellCredentialHandler({CredentialChange::kListening});
      backoff = absl::Milliseconds(100);
      while (!stop_.HasBeenNotified()) connection.await_notification(0, kPollMicros);
    } catch (const std::exception& error) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        listening_ = false;
      }
      TellCredentialHandler({CredentialChange::kNotListening});
      std::fprintf(stderr, "alert listener: %s; reconnecting\n", error.what());
      stop_.WaitForNotificationWithTimeout(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  }
}

}  // namespace plantmon::storage
