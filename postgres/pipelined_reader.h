#ifndef PLANTMON_POSTGRES_PIPELINED_READER_H_
#define PLANTMON_POSTGRES_PIPELINED_READER_H_

// Single-statement reads without a thread per read: one thread keeps a few
// connections in libpq's pipeline mode (PostgreSQL 14+) and sends every read
// that arrives as soon as it arrives, so that reads arriving together share
// the round trips, the system calls and the wake-ups, on our side and on the
// database's.
//
// Why not the pool: a pooled read holds a thread and a connection for the
// whole round trip, and every read pays two thread hand-offs of its own (to
// the thread, and to the database backend and back). On a two-core machine
// those hand-offs, not PostgreSQL's work, bounded an authenticated GetPlant
// (docs/benchmarks.md, "Keyed reads in a pipeline"). libpqxx 6.4 has no
// asynchronous API, hence libpq's own here; results are read as text
// (ResultRow), as everywhere else.
//
// What a read keeps from RunReadOnly (transaction.h): autocommit, a
// statement prepared once per connection, the call's deadline (the read
// answers DEADLINE_EXCEEDED by it, and the session's statement_timeout ends
// the statement on the server too), and one retry on a fresh connection when
// the connection breaks before the answer came.
//
// A read that arrives while the reader is idle (its thread waiting in
// epoll_wait, no read on any connection) is sent by the thread that submits
// it: one thread hand-off fewer for a read that comes alone, which is most
// of the latency of one call at a time (docs/benchmarks.md). Under load the
// thread sends, so that reads arriving together keep sharing a Sync.
//
// Connections are opened without blocking (PQconnectStart, PQconnectPoll on
// the same loop), one at a time; reads wait for one being opened, and a
// failed attempt is not repeated for a second, during which reads with no
// open connection are answered UNAVAILABLE at once. Known limits: host names
// are still resolved by libpq (getaddrinfo) on the reader's thread, and the
// connect timeout covers a whole attempt, so a first host that drops packets
// silently uses it up before the next host of a multi-host string is tried.

#include <libpq-fe.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "postgres/message_table.h"

namespace plantmon::postgres {

// One row of a result, its fields as PostgreSQL's text output.
class ResultRow {
 public:
  ResultRow(const PGresult* result, int row) : result_(result), row_(row) {}
  int size() const { return PQnfields(result_); }
  // The column's text, nullopt for NULL (MessageTable::ColumnText).
  std::optional<std::string_view> column(int column) const {
    if (PQgetisnull(result_, row_, column) != 0) return std::nullopt;
    return std::string_view(PQgetvalue(result_, row_, column),
                            static_cast<size_t>(PQgetlength(result_, row_, column)));
  }

 private:
  const PGresult* result_;
  int row_;
};

// A read the reader runs: one statement of fixed text (values travel only as
// parameters), as a prepared statement of the connection.
struct PipelinedRead {
  std::string sql;
  std::vector<std::optional<std::string>> params;
  absl::Time deadline = absl::InfiniteFuture();
  // Called exactly once with the statement's rows (valid only during the
  // call) or why there are none: on the reader's thread, or on the thread
  // that submitted the read when it sent it itself (inside Submit, even),
  // with the reader held either way. Must not block or call Shutdown().
  std::function<void(absl::StatusOr<const PGresult*>)> done;
};

// `rows`, the answer to `read`, as the message `out`: read.not_found when
// there is no row (storage's ReadMessage does the same on a pooled
// connection).
absl::Status ReadMessageRow(const MessageRead& read, const PGresult* rows,
                            google::protobuf::Message* out);

// Row `row` of `rows`, selected with `table`'s select_list(), as `out`.
absl::Status ReadTableRow(const MessageTable& table, const PGresult* rows, int row,
                          google::protobuf::Message* out);

class PipelinedReader {
 public:
  // The reader's connections carry this application_name (pg_stat_activity).
  static constexpr char kApplicationName[] = "plantmon_reads";

  // `conninfo`: a libpq connection string (LibpqConnectionString), multi-host
  // and target_session_attrs included, so that a failover is followed. An
  // attempt to open a connection gives up after `connect_timeout` (libpq
  // leaves that to the caller of PQconnectPoll).
  PipelinedReader(const std::string& conninfo, int connections,
                  absl::Duration connect_timeout = absl::Seconds(10));
  ~PipelinedReader();  // Shutdown()

  PipelinedReader(const PipelinedReader&) = delete;
  PipelinedReader& operator=(const PipelinedReader&) = delete;

  // Sends `read` now when the reader is idle, else queues it for the
  // reader's thread. After Shutdown() it is answered UNAVAILABLE at once.
  // read.done may run before Submit returns.
  void Submit(PipelinedRead read);

  // Answers every read not yet answered with UNAVAILABLE, closes the
  // connections and stops the thread. Idempotent.
  void Shutdown();

  // Reads queued or sent and not yet answered (for metrics and tests).
  int pending() const;
  // Reads their submitting thread sent (for tests).
  int64_t sent_by_submitter() const { return sent_by_submitter_.load(); }
  // Whether the loop last went to wait idle (for tests: a read submitted
  // now is sent by its submitter).
  bool idle_hint() const { return idle_.load(); }

 private:
  struct Connection;
  struct Pending;

  void Loop();
  // With loop_mu_ held: sends `pending` on an idle connection and returns
  // null, or returns it when the reader is not idle.
  std::unique_ptr<Pending> SendIfIdle(std::unique_ptr<Pending> pending);
  // No read waits for the loop or is on a connection, and one is open.
  bool Idle() const;
  void WakeLoop() const;
  // Sends `pending` on the least busy open connection, opening one if none
  // is; answers it UNAVAILABLE when none can be opened.
  void Send(std::unique_ptr<Pending> pending);
  // Starts opening a connection (PQconnectStart) unless one is being opened
  // or an attempt failed less than a second ago. True while one is being
  // opened.
  bool StartConnecting();
  // Takes the opening on when the socket is ready (PQconnectPoll).
  void ContinueConnecting(Connection& connection);
  void FailConnecting(Connection& connection, const char* what);
  // The reads waiting for a connection being opened go out (or are
  // answered) in the next round, which Send settles.
  void SendWaitingNextRound();
  // Closes `connection`'s socket and leaves it as a slot for the next one
  // (its reads in flight are the caller's to settle).
  void Close(Connection& connection) const;
  // Watches `connection`'s socket (which may have changed) for `events`.
  void Watch(Connection& connection, uint32_t events) const;
  // Reads what `connection` has received and answers the reads it
  // completes.
  void Receive(Connection& connection);
  // A read whose queries have all come back: answered, or sent again when
  // another read's error skipped it.
  void Complete(std::unique_ptr<Pending> pending);
  // The connection broke: reads on it that were not retried yet are sent
  // again (once), the others answered UNAVAILABLE.
  void Break(Connection& connection, const char* what);
  void ExpireOverdue(absl::Time now);
  // Syncs every connection with reads sent since its last sync, and flushes
  // every open one.
  void SyncAndFlush();
  // Ends the implicit transaction of what was sent on `connection` since
  // the last Sync (false when libpq refuses).
  bool Sync(Connection& connection);
  // Sends what libpq has buffered for `connection`, and asks to hear when
  // the socket takes more if it did not all go.
  void Flush(Connection& connection);
  // Calls the read's done() unless it was called already.
  void Answer(Pending& pending, absl::StatusOr<const PGresult*> result);

  const std::string conninfo_;
  const int max_connections_;
  const absl::Duration connect_timeout_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;

  // Held by the loop thread except while it waits in epoll_wait, and by a
  // submitting thread that sends its read itself: everything below marked
  // "the loop's" is touched only with it held. Taken before mu_.
  std::mutex loop_mu_;
  // When the loop's epoll_wait returns at the latest (guarded by loop_mu_):
  // a read sent by its submitter with an earlier deadline wakes the loop.
  absl::Time loop_wakes_by_ = absl::InfinitePast();
  // Idle() as the loop last saw it before waiting: a hint read without the
  // lock, so that submitters try for it only when it may pay.
  std::atomic<bool> idle_{false};
  std::atomic<int64_t> sent_by_submitter_{0};

  mutable std::mutex mu_;
  std::deque<std::unique_ptr<Pending>> submitted_;  // guarded by mu_
  bool stopping_ = false;                           // guarded by mu_
  std::atomic<int> pending_count_{0};

  // The loop's (guarded by loop_mu_).
  std::vector<std::unique_ptr<Connection>> connections_;
  std::deque<std::unique_ptr<Pending>> retry_;    // from broken connections
  std::deque<std::unique_ptr<Pending>> waiting_;  // for a connection being opened
  absl::Time next_connect_attempt_ = absl::InfinitePast();
  std::thread thread_;
};

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_PIPELINED_READER_H_
