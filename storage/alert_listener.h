#ifndef PLANTMON_STORAGE_ALERT_LISTENER_H_
#define PLANTMON_STORAGE_ALERT_LISTENER_H_

// Live alert changes from PostgreSQL LISTEN/NOTIFY. The alert-event triggers
// (migration 0017) announce each owner whose alerts a statement changed on
// the `plantmon_alerts` channel, so a change made through any server process
// reaches the WatchAlerts streams of every other one.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/sync.h"
#include "postgres/database_config.h"

namespace plantmon::storage {

// Tells one user's watcher that their alert events changed. It carries no
// ids: the watcher reads the events after its own cursor (table alert_events,
// migration 0017), so nothing queues here however far a slow watcher falls
// behind, and a notification missed or folded into another loses nothing.
class AlertSubscription {
 public:
  enum class State { kOpen, kClosed };

  // `on_change` runs on the listener's thread after each announcement and
  // when the subscription closes; never again once AlertListener::
  // Unsubscribe has returned. It must not call back into the listener.
  explicit AlertSubscription(std::function<void()> on_change) : on_change_(std::move(on_change)) {}

  // True if something was announced since the last call (or ever, for the
  // first): the watcher should read its events again.
  bool TakeChanged();
  State state();

 private:
  friend class AlertListener;
  void Announce();
  void Close();

  const std::function<void()> on_change_;
  std::mutex mu_;  // std::mutex rather than absl::Mutex: see common/sync.h.
  bool changed_ ABSL_GUARDED_BY(mu_) = true;
  State state_ ABSL_GUARDED_BY(mu_) = State::kOpen;
};

class AlertListener {
 public:
  // Starts listening on a connection of its own (not from the pool: it
  // stays in LISTEN for the server's life). Reconnects by itself when the
  // database goes away.
  explicit AlertListener(const postgres::DatabaseConfig& config);
  ~AlertListener();

  // See AlertSubscription for `on_change`.
  std::shared_ptr<AlertSubscription> Subscribe(int64_t user_id, std::function<void()> on_change);
  void Unsubscribe(int64_t user_id, const std::shared_ptr<AlertSubscription>& subscription);
  // True once LISTEN is in effect (tests wait for it).
  bool WaitUntilListening(absl::Duration timeout);

  // The same connection also hears `plantmon_credentials` (migration 0008):
  // `handler` gets each change, and kListening / kNotListening whenever the
  // connection starts or stops hearing them (changes in between are lost).
  struct CredentialChange {
    enum Kind { kUser, kSession, kApiKey, kListening, kNotListening } kind;
    int64_t id = 0;
  };
  void SetCredentialHandler(std::function<void(const CredentialChange&)> handler);

 private:
  void Run();
  // Handles a notification's payload, "<user id>".
  void Dispatch(const std::string& payload);
  void Announce(int64_t user_id);
  // After a reconnect: announcements may have gone to nobody meanwhile.
  void AnnounceToAll();
  // "user:<id>", "session:<id>" or "api_key:<id>".
  void DispatchCredential(const std::string& payload);
  void TellCredentialHandler(const CredentialChange& change);

  const std::string connection_string_;
  common::Notification stop_;
  std::mutex mu_;
  std::condition_variable listening_changed_;
  std::multimap<int64_t, std::shared_ptr<AlertSubscription>> subscribers_ ABSL_GUARDED_BY(mu_);
  bool listening_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void(const CredentialChange&)> credential_handler_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_ALERT_LISTENER_H_
