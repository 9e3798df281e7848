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
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "common/sync.h"
#include "postgres/database_config.h"

namespace plantmon::storage {

// The alert ids changed for one user, in order. Nothing here blocks: the
// subscriber is told of each change by `on_change` and takes the ids with
// TryNext(), so a watching stream holds no thread.
class AlertSubscription {
 public:
  // Alerts waiting for a subscriber that does not keep up (a client that
  // stopped reading its stream): one more overflows the subscription, which
  // then takes nothing more. An alert already waiting is not queued again
  // (the subscriber reads its current state anyway), so this bounds distinct
  // alerts: far more than a household changes at once (a bulk acknowledge
  // included), and about 200 KB per subscriber at most.
  static constexpr size_t kMaxPending = 10000;

  enum class State { kOpen, kClosed, kOverflowed };

  // `on_change` runs on the listener's thread after each change is queued
  // and when the subscription closes or overflows; never again once
  // AlertListener::Unsubscribe has returned. It must not call back into
  // the listener.
  explicit AlertSubscription(std::function<void()> on_change) : on_change_(std::move(on_change)) {}

  // The next changed alert id, if one is waiting.
  std::optional<int64_t> TryNext();
  State state();

 private:
  friend class AlertListener;
  void Push(int64_t alert_id);
  void Close();

  const std::function<void()> on_change_;
  std::mutex mu_;  // std::mutex rather than absl::Mutex: see common/sync.h.
  std::deque<int64_t> pending_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<int64_t> pending_ids_ ABSL_GUARDED_BY(mu_);  // what pending_ holds
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
