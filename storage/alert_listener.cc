#include "storage/alert_listener.h"

#include <cstdio>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

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
// How often the listening connection reads the database's clock: a
// checkpoint before which every change is known to have been announced to us.
constexpr absl::Duration kCheckpointEvery = absl::Seconds(1);
// Changes are announced when their transaction commits, but alerts.updated_at
// holds the transaction's start. After a reconnect, catching up from this long
// before the last checkpoint also covers transactions that began before it and
// committed while nobody listened.
constexpr char kCatchUpMargin[] = "1 minute";

// (user id, alert id) of every alert changed since `checkpoint` (the
// database's clock text) less the margin.
std::vector<std::pair<int64_t, int64_t>> ChangedSince(pqxx::connection& connection,
                                                      const std::string& checkpoint) {
  pqxx::nontransaction query(connection);
  const pqxx::result changed = query.exec_params(
      "SELECT user_id, id FROM alerts "
      "WHERE updated_at >= $1::timestamptz - $2::interval ORDER BY updated_at, id",
      checkpoint, kCatchUpMargin);
  std::vector<std::pair<int64_t, int64_t>> ids;
  for (const pqxx::row& row : changed) ids.emplace_back(row[0].as<int64_t>(), row[1].as<int64_t>());
  return ids;
}

// The database's clock, as text PostgreSQL reads back exactly.
std::string DatabaseClock(pqxx::connection& connection) {
  pqxx::nontransaction query(connection);
  return query.exec1("SELECT clock_timestamp()::text")[0].as<std::string>();
}

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

std::optional<int64_t> AlertSubscription::TryNext() {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.empty()) return std::nullopt;
  int64_t id = pending_.front();
  pending_.pop_front();
  pending_ids_.erase(id);
  return id;
}

AlertSubscription::State AlertSubscription::state() {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

// Both run under the listener's lock, which is what makes Unsubscribe's
// promise about on_change hold.
void AlertSubscription::Push(int64_t alert_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kOpen || !pending_ids_.insert(alert_id).second) return;
    if (pending_.size() >= kMaxPending) {
      state_ = State::kOverflowed;
      pending_.clear();
      pending_ids_.clear();
    } else {
      pending_.push_back(alert_id);
    }
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
  std::pair<std::string, std::string> parts = absl::StrSplit(payload, ':');
  int64_t user_id = 0;
  int64_t alert_id = 0;
  if (!absl::SimpleAtoi(parts.first, &user_id) || !absl::SimpleAtoi(parts.second, &alert_id)) {
    return;
  }
  Deliver(user_id, alert_id);
}

void AlertListener::Deliver(int64_t user_id, int64_t alert_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [begin, end] = subscribers_.equal_range(user_id);
  for (auto it = begin; it != end; ++it) it->second->Push(alert_id);
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
  // Unset until the first connection listens: nothing to catch up on then.
  std::optional<std::string> checkpoint;
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
      // announced to nobody: deliver them now (at least once; a change seen
      // just before the loss may come twice).
      if (checkpoint.has_value()) {
        for (const auto& [user_id, alert_id] : ChangedSince(connection, *checkpoint)) {
          Deliver(user_id, alert_id);
        }
      }
      checkpoint = DatabaseClock(connection);
      absl::Time next_checkpoint = absl::Now() + kCheckpointEvery;
      {
        std::lock_guard<std::mutex> lock(mu_);
        listening_ = true;
      }
      listening_changed_.notify_all();
      TellCredentialHandler({CredentialChange::kListening});
      backoff = absl::Milliseconds(100);
      while (!stop_.HasBeenNotified()) {
        connection.await_notification(0, kPollMicros);
        if (absl::Now() >= next_checkpoint) {
          checkpoint = DatabaseClock(connection);
          next_checkpoint = absl::Now() + kCheckpointEvery;
        }
      }
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
