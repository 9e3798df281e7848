#ifndef PLANTMON_POSTGRES_TRANSACTION_H_
#define PLANTMON_POSTGRES_TRANSACTION_H_

// Scoped transactions and parametrized statements over the pool: the C++
// counterparts of connect_to_db(), execute_query() and
// execute_update(). Every libpqxx exception is caught here and returned as a
// status; values always travel as parameters, never inside the SQL text.

#include <cstdint>
#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "postgres/connection_pool.h"
#include "postgres/pqxx_status.h"
#include "postgres/request_deadline.h"
#include "postgres/session_timeout.h"

// libpqxx 6.4 already passes std::optional<T> parameters (nullopt as NULL)
// through its optional-like string_traits in <pqxx/internal/type_utils.hxx>.

namespace plantmon::postgres {

namespace internal {

// The earlier of `deadline` and the current call's; DEADLINE_EXCEEDED once
// it has passed.
inline absl::StatusOr<absl::Time> EffectiveDeadline(absl::Time deadline) {
  deadline = std::min(deadline, ScopedRequestDeadline::Current());
  if (deadline != absl::InfiniteFuture() && deadline <= absl::Now()) {
    return absl::DeadlineExceededError("the call's deadline passed");
  }
  return deadline;
}

// Bounds every statement of `transaction` by the time left before
// `deadline` (SET LOCAL ends with the transaction).
inline void LimitStatements(pqxx::transaction_base& transaction, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return;
  int64_t millis = std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now()));
  transaction.exec("SET LOCAL statement_timeout = " + std::to_string(millis));
}

inline bool IsOk(const absl::Status& status) { return status.ok(); }
template <typename T>
bool IsOk(const absl::StatusOr<T>& status_or) {
  return status_or.ok();
}

}  // namespace internal

// Runs `body(pqxx::work&)` in one transaction on a pooled connection. `body`
// returns absl::Status or absl::StatusOr<T>: the transaction commits when it
// is OK and rolls back otherwise, or when anything throws. Exceptions become
// statuses (StatusFromException); a connection whose error shows it can no
// longer be trusted is discarded rather than returned to the pool. A
// connection found broken by BEGIN (nothing done yet: say the database
// restarted while it sat in the pool) is replaced once.
template <typename Body>
auto RunInTransaction(ConnectionPool& pool, Body&& body,
                      absl::Time deadline = absl::InfiniteFuture())
    -> decltype(body(std::declval<pqxx::work&>())) {
  absl::StatusOr<absl::Time> effective = internal::EffectiveDeadline(deadline);
  if (!effective.ok()) return effective.status();
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<PooledConnection> connection = pool.Acquire(*effective);
    if (!connection.ok()) return connection.status();
    std::optional<pqxx::work> transaction;
    try {
      transaction.emplace(connection->scoped());
    } catch (const std::exception& error) {
      connection->MarkBroken();
      if (attempt == 0 && IsConnectionError(error)) continue;
      return StatusFromException(error);
    }
    try {
      internal::LimitStatements(*transaction, *effective);
      auto result = body(*transaction);
      if (internal::IsOk(result)) {
        transaction->commit();
      } else {
        transaction->abort();
      }
      return result;
    } catch (const std::exception& error) {
      if (IsConnectionError(error)) connection->MarkBroken();
      return StatusFromException(error);
    }
  }
}

namespace internal {

// Gives the session the statement_timeout `deadline` needs
// (SessionTimeoutFor), which rarely takes a statement of its own.
inline void LimitSession(pqxx::nontransaction& autocommit, PooledConnection& connection,
                         absl::Time deadline) {
  int64_t& current = connection.session_statement_timeout_ms();
  const std::optional<int64_t> timeout = SessionTimeoutFor(current, deadline, absl::Now());
  if (!timeout.has_value()) return;
  autocommit.exec("SET statement_timeout = " + std::to_string(*timeout));
  current = *timeout;
}

}  // namespace internal

// For a read that is one statement, or a few that need no common snapshot:
// runs `body(pqxx::transaction_base&)` in autocommit mode, with no BEGIN or
// COMMIT, and with the call's deadline as a session statement_timeout that
// rarely needs a statement of its own (internal::LimitSession). A read that
// fails on a broken connection is retried once on another: nothing has
// reached the caller yet, and reading again changes nothing.
template <typename Body>
auto RunReadOnly(ConnectionPool& pool, Body&& body, absl::Time deadline = absl::InfiniteFuture())
    -> decltype(body(std::declval<pqxx::transaction_base&>())) {
  absl::StatusOr<absl::Time> effective = internal::EffectiveDeadline(deadline);
  if (!effective.ok()) return effective.status();
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<PooledConnection> connection = pool.Acquire(*effective);
    if (!connection.ok()) return connection.status();
    try {
      pqxx::nontransaction autocommit(connection->scoped());
      internal::LimitSession(autocommit, *connection, *effective);
      return body(autocommit);
    } catch (const std::exception& error) {
      if (!IsConnectionError(error)) return StatusFromException(error);
      connection->MarkBroken();
      if (attempt > 0) return StatusFromException(error);
    }
  }
}

// Same, but hands `body` the connection itself, for work that must span
// several transactions or hold session state (advisory locks). The session
// has no statement_timeout left from a read (RunReadOnly).
template <typename Body>
auto RunWithConnection(ConnectionPool& pool, Body&& body)
    -> decltype(body(std::declval<PooledConnection&>())) {
  absl::StatusOr<PooledConnection> connection = pool.Acquire();
  if (!connection.ok()) return connection.status();
  try {
    if (connection->session_statement_timeout_ms() != 0) {
      pqxx::nontransaction reset(connection->scoped());
      reset.exec("SET statement_timeout = 0");
      connection->session_statement_timeout_ms() = 0;
    }
    return body(*connection);
  } catch (const std::exception& error) {
    // Session state (locks, settings) may be left behind: do not reuse.
    connection->MarkBroken();
    return StatusFromException(error);
  }
}

// Runs one statement as a prepared statement of the transaction's
// connection: libpqxx registers it there the first time it runs (one extra
// round trip, once) and PostgreSQL keeps it for the connection's life, so a
// repeated statement is not parsed and analysed again. The name comes from
// the text, so the text must be fixed (values travel as parameters, as
// everywhere here); libpqxx refuses, rather than confuses, two texts that
// share a name.
template <typename... Args>
pqxx::result ExecPrepared(pqxx::transaction_base& transaction, const std::string& sql,
                          const Args&... args) {
  const std::string name = PreparedStatementName(sql);
  transaction.conn().prepare(name, sql);
  return transaction.exec_prepared(name, args...);
}

// Runs a parametrized query in its own transaction and returns its rows.
template <typename... Args>
absl::StatusOr<pqxx::result> ExecuteQuery(ConnectionPool& pool, const std::string& sql,
                                          const Args&... args) {
  return RunInTransaction(pool, [&](pqxx::work& transaction) -> absl::StatusOr<pqxx::result> {
    return ExecPrepared(transaction, sql, args...);
  });
}

// Runs a parametrized INSERT/UPDATE/DELETE in its own transaction, commits,
// and returns the number of affected rows.
template <typename... Args>
absl::StatusOr<int64_t> ExecuteUpdate(ConnectionPool& pool, const std::string& sql,
                                      const Args&... args) {
  return RunInTransaction(pool, [&](pqxx::work& transaction) -> absl::StatusOr<int64_t> {
    return static_cast<int64_t>(ExecPrepared(transaction, sql, args...).affected_rows());
  });
}

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_TRANSACTION_H_
