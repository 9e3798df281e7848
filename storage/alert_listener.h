#ifndef PLANTMON_STORAGE_ALERT_LISTENER_H_
#define PLANTMON_STORAGE_ALERT_LISTENER_H_

// Live alert changes from PostgreSQL LISTEN/NOTIFY. The `alerts_notify`
// trigger (migration 0003) announces every inserted or updated alert on the
// `plantmon_alerts` channel, so a change made through any server process
// reaches the WatchAlerts streams of every other one.

#include <condition_variable>
#include <cstdint>
#include <deque>
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

// The alert ids changed for one user, in order.
class AlertSubscription {
 public:
  // The next changed alert id, or nullopt after `timeout` or once closed.
  std::optional<int64_t> Next(absl::Duration timeout);
  bool closed();

 private:
  friend class AlertListener;
  void Push(int64_t alert_id);
  void Close();

  std::mutex mu_;  // std::mutex rather than absl::Mutex: see common/sync.h.
  std::condition_variable changed_;
  std::deque<int64_t> pending_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

class AlertListener {
 public:
  // Starts listening on a connection of its own (not from the pool: it
  // stays in LISTEN for the server's life). Reconnects by itself when the
  // database goes away.
  explicit AlertListener(const postgres::DatabaseConfig& config);
  ~AlertListener();

  std::shared_ptr<AlertSubscription> Subscribe(int64_t user_id);
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
  // Handles a notification's payload, "<user id>:<alert id>".
  void Dispatch(const std::string& payload);
  void Deliver(int64_t user_id, int64_t alert_id);
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
