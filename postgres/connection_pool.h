#ifndef PLANTMON_POSTGRES_CONNECTION_POOL_H_
#define PLANTMON_POSTGRES_CONNECTION_POOL_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "postgres/database_config.h"

namespace plantmon::postgres {

class ConnectionPool;

// One libpqxx connection plus what the pool knows about it.
struct PoolSlot {
  std::unique_ptr<pqxx::connection> connection;
  absl::Time opened_at;
  // When it was last returned to the pool.
  absl::Time returned_at;
  // Set when an error showed the connection can no longer be trusted.
  bool broken = false;
  // Set when code outside the scoped helpers (postgres/transaction.h) used
  // the raw connection, which may have left a transaction open: checked on
  // its next checkout.
  bool needs_check = false;
  // The session's statement_timeout in ms (0: none), as RunReadOnly set it.
  int64_t statement_timeout_ms = 0;
};

// A connection checked out of the pool: move-only, used by one thread at a
// time, returned to the pool when destroyed. A connection marked broken, or
// closed, is discarded instead of returned.
class PooledConnection {
 public:
  PooledConnection(PooledConnection&& other) noexcept;
  PooledConnection& operator=(PooledConnection&& other) noexcept;
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;
  ~PooledConnection();

  // The raw connection, for work beyond the scoped helpers: the pool checks
  // it for a left-open transaction before handing it out again.
  pqxx::connection& get() {
    slot_->needs_check = true;
    return *slot_->connection;
  }
  // For postgres/transaction.h, whose transactions never outlive the call.
  pqxx::connection& scoped() { return *slot_->connection; }
  int64_t& session_statement_timeout_ms() { return slot_->statement_timeout_ms; }

  // Makes the pool discard this connection when it is returned.
  void MarkBroken() { slot_->broken = true; }

 private:
  friend class ConnectionPool;
  PooledConnection(ConnectionPool* pool, std::unique_ptr<PoolSlot> slot);

  ConnectionPool* pool_;
  std::unique_ptr<PoolSlot> slot_;
};

// A thread-safe pool of libpqxx connections with the semantics docs/data-model.md gives: keeps
// up to `pool_size` idle connections, opens up to `max_overflow` more on
// demand (closed again when returned to a full pool), checks each connection
// before handing it out and replaces it when broken, recycles connections
// older than `max_lifetime`, and bounds the wait for a free connection.
class ConnectionPool {
 public:
  // A connection idle longer than this is pinged before it is handed out.
  static constexpr absl::Duration kPingAfterIdle = absl::Seconds(5);

  struct Stats {
    int open = 0;    // connections in use, idle, or being opened
    int idle = 0;    // connections waiting in the pool
    int in_use = 0;  // connections checked out
  };

  // Creates the pool. Opens no connection: the server must start even while
  // the database is down.
  static absl::StatusOr<std::unique_ptr<ConnectionPool>> Create(const DatabaseConfig& config);

  ~ConnectionPool();

  // Checks a connection out, waiting at most the configured acquire timeout
  // (or until `deadline`, if earlier). RESOURCE_EXHAUSTED when none became
  // free in time, UNAVAILABLE when the database cannot be reached.
  absl::StatusOr<PooledConnection> Acquire(absl::Time deadline = absl::InfiniteFuture());

  // Runs a trivial query on a connection of its own, outside the pool: OK
  // when the database answers, however busy the pool is (health reports the
  // database, not the load).
  absl::Status Ping();

  Stats GetStats() const;
  const DatabaseConfig& config() const { return config_; }

 private:
  friend class PooledConnection;
  explicit ConnectionPool(const DatabaseConfig& config);

  int MaxConnections() const { return config_.pool_size + config_.max_overflow; }
  absl::StatusOr<std::unique_ptr<PoolSlot>> Open();
  // True if `slot` is alive, young enough and not inside a transaction.
  bool IsUsable(PoolSlot& slot);
  void Release(std::unique_ptr<PoolSlot> slot);
  // Gives back a reservation for a connection that was closed or never opened.
  void ForgetConnection();

  const DatabaseConfig config_;
  const std::string connection_string_;

  // std::mutex rather than absl::Mutex: see common/sync.h.
  mutable std::mutex mu_;
  // Signalled when a connection is returned or a reservation given back.
  std::condition_variable available_;
  // Most recently returned last, so hot connections are reused first.
  std::vector<std::unique_ptr<PoolSlot>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  // Threads blocked in Acquire: a returned connection goes to them rather
  // than being closed and reopened (the server would briefly see both).
  int waiters_ ABSL_GUARDED_BY(mu_) = 0;

  // Ping()'s connection, opened on first use and again after a failure.
  std::mutex ping_mu_;
  std::unique_ptr<PoolSlot> ping_slot_ ABSL_GUARDED_BY(ping_mu_);
};

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_CONNECTION_POOL_H_
