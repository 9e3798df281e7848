#include "postgres/pipelined_reader.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "postgres/pqxx_status.h"
#include "postgres/session_timeout.h"

namespace plantmon::postgres {
namespace {

// A failed connection attempt is not repeated sooner than this: meanwhile
// reads are answered UNAVAILABLE at once instead of each waiting for a
// connect_timeout on the reader's one thread.
constexpr absl::Duration kReconnectBackoff = absl::Seconds(1);

// An idle loop still wakes this often, so that a read its submitter sent
// with a deadline this far off or more is answered by it even if the
// database never answers (nearer deadlines wake the loop).
constexpr int kLongestWaitMs = 1000;

// Set on a thread while it holds loop_mu_ (the loop's own thread always): a
// read submitted from a done() callback then queues instead of locking the
// mutex a second time.
thread_local bool holds_loop_mutex = false;

class HoldingLoopMutex {
 public:
  HoldingLoopMutex() { holds_loop_mutex = true; }
  ~HoldingLoopMutex() { holds_loop_mutex = false; }
  HoldingLoopMutex(const HoldingLoopMutex&) = delete;
  HoldingLoopMutex& operator=(const HoldingLoopMutex&) = delete;
};

absl::Status ConnectionLost() { return absl::UnavailableError("the database connection was lost"); }
absl::Status DeadlinePassed() { return absl::DeadlineExceededError("the call's deadline passed"); }

void Log(absl::string_view what, const char* detail) {
  std::fprintf(stderr, "pipelined reads: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               detail == nullptr ? "" : detail);
}

}  // namespace

absl::Status ReadMessageRow(const MessageRead& read, const PGresult* rows,
                            google::protobuf::Message* out) {
  if (PQntuples(rows) == 0) return read.not_found;
  return ReadTableRow(*read.table, rows, 0, out);
}

absl::Status ReadTableRow(const MessageTable& table, const PGresult* rows, int row,
                          google::protobuf::Message* out) {
  const ResultRow fields(rows, row);
  try {
    table.ReadText([&fields](int column) { return fields.column(column); }, out);
  } catch (const std::exception& error) {
    return StatusFromException(error);
  }
  return absl::OkStatus();
}

struct PipelinedReader::Pending {
  explicit Pending(PipelinedRead read) : read(std::move(read)) {}
  ~Pending() { Reset(); }

  // Forgets an attempt's results, before the read is sent again.
  void Reset() {
    if (rows != nullptr) PQclear(rows);
    if (error != nullptr) PQclear(error);
    rows = nullptr;
    error = nullptr;
    prepared_here.clear();
    sets_timeout = false;
    queries_done = 0;
    in_query = false;
    aborted = false;
  }
  int queries() const { return (prepared_here.empty() ? 0 : 1) + (sets_timeout ? 1 : 0) + 1; }

  PipelinedRead read;
  bool retried = false;
  bool prepared_again = false;  // sent again after "prepared statement does not exist"
  // done() has run (the deadline passed); what is still on the connection
  // is read and dropped.
  bool answered = false;

  // The attempt on a connection: up to three queries, each ending with a
  // NULL from PQgetResult: the statement's PREPARE if this read prepared it
  // (under this name), a SET of the session's statement_timeout if it
  // needed one, then the statement.
  std::string prepared_here;
  bool sets_timeout = false;
  int queries_done = 0;
  bool in_query = false;      // a result of the current query has come
  bool aborted = false;       // skipped for another read's error
  PGresult* rows = nullptr;   // the statement's rows
  PGresult* error = nullptr;  // the first error of the attempt
};

struct PipelinedReader::Connection {
  ~Connection() {
    if (conn != nullptr) PQfinish(conn);
  }

  PGconn* conn = nullptr;
  int fd = -1;
  // Opening (PQconnectStart), until PQconnectPoll says it is open and it
  // enters pipeline mode; it fails at connect_deadline.
  bool connecting = false;
  absl::Time connect_deadline;
  bool want_write = false;
  // The session's statement_timeout as last set; -1 when a SET failed.
  int64_t statement_timeout_ms = 0;
  absl::flat_hash_set<std::string> prepared;  // statement names
  bool unsynced = false;                      // reads sent since the last sync
  int syncs_outstanding = 0;  // syncs sent whose PGRES_PIPELINE_SYNC is still to come
  // Sent, in the order their results come back.
  std::deque<std::unique_ptr<Pending>> in_flight;
};

PipelinedReader::PipelinedReader(const std::string& conninfo, int connections,
                                 absl::Duration connect_timeout)
    // libpq takes the last of a repeated keyword.
    : conninfo_(absl::StrCat(conninfo, " application_name=", kApplicationName)),
      max_connections_(std::max(1, connections)),
      connect_timeout_(connect_timeout) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
  thread_ = std::thread([this] { Loop(); });
}

PipelinedReader::~PipelinedReader() {
  Shutdown();
  close(wake_fd_);
  close(epoll_fd_);
}

void PipelinedReader::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  WakeLoop();
  if (thread_.joinable()) thread_.join();
}

void PipelinedReader::WakeLoop() const {
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

int PipelinedReader::pending() const { return pending_count_.load(); }

void PipelinedReader::Submit(PipelinedRead read) {
  auto pending = std::make_unique<Pending>(std::move(read));
  // The loop holds loop_mu_ except while it waits for the sockets; the
  // flag keeps busy submitters from contending for it with the loop.
  if (idle_.load(std::memory_order_relaxed) && !holds_loop_mutex && loop_mu_.try_lock()) {
    std::lock_guard<std::mutex> loop_lock(loop_mu_, std::adopt_lock);
    const HoldingLoopMutex holding;
    pending = SendIfIdle(std::move(pending));
    if (pending == nullptr) return;
  }
  std::unique_ptr<Pending> refused;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      refused = std::move(pending);
    } else {
      // The loop takes the whole queue at once, so only a read that finds it
      // empty needs to wake it.
      wake = submitted_.empty();
      submitted_.push_back(std::move(pending));
      ++pending_count_;
    }
  }
  if (refused != nullptr) {
    refused->read.done(absl::UnavailableError("the server is shutting down"));
    return;
  }
  if (wake) WakeLoop();
}

std::unique_ptr<PipelinedReader::Pending> PipelinedReader::SendIfIdle(
    std::unique_ptr<Pending> pending) {
  // The loop must wake by the read's deadline to answer it when the
  // database does not. (A deadline nearer than the idle loop's wait, under
  // a second, therefore goes through the loop; a timerfd the submitter
  // could pull earlier would lift that.)
  if (!Idle() || pending->read.deadline < loop_wakes_by_) return pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || !submitted_.empty()) return pending;
    ++pending_count_;
  }
  ++sent_by_submitter_;
  Send(std::move(pending));
  SyncAndFlush();
  // Flushing may have read the answer too (the loop then does not wake for
  // it), so the flag is set again here.
  idle_.store(Idle(), std::memory_order_relaxed);
  // A read to send again (its connection broke) is the loop's to send.
  if (!retry_.empty()) WakeLoop();
  return nullptr;
}

bool PipelinedReader::Idle() const {
  // Opening a connection is left to the loop: libpq may resolve a host name.
  if (!retry_.empty() || !waiting_.empty()) return false;
  bool open = false;
  for (const auto& connection : connections_) {
    if (!connection->in_flight.empty()) return false;
    open = open || (connection->conn != nullptr && !connection->connecting);
  }
  return open;
}

void PipelinedReader::Answer(Pending& pending, absl::StatusOr<const PGresult*> result) {
  if (pending.answered) return;
  pending.answered = true;
  --pending_count_;
  pending.read.done(std::move(result));
}

void PipelinedReader::Loop() {
  std::vector<epoll_event> events(64);
  std::unique_lock<std::mutex> loop_lock(loop_mu_);
  holds_loop_mutex = true;
  for (;;) {
    std::deque<std::unique_ptr<Pending>> batch;
    bool stopping = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(submitted_);
      stopping = stopping_;
    }
    if (stopping) {
      const absl::Status down = absl::UnavailableError("the server is shutting down");
      for (auto& pending : retry_) Answer(*pending, down);
      for (auto& pending : waiting_) Answer(*pending, down);
      for (auto& pending : batch) Answer(*pending, down);
      for (auto& connection : connections_) {
        for (auto& pending : connection->in_flight) Answer(*pending, down);
        Close(*connection);
      }
      return;
    }
    // Reads a broken connection left go first, in their order.
    std::deque<std::unique_ptr<Pending>> retries;
    retries.swap(retry_);
    for (auto& pending : retries) Send(std::move(pending));
    for (auto& pending : batch) Send(std::move(pending));
    SyncAndFlush();

    const absl::Time now = absl::Now();
    ExpireOverdue(now);
    absl::Time next_deadline = absl::InfiniteFuture();
    for (const auto& connection : connections_) {
      if (connection->connecting) {
        next_deadline = std::min(next_deadline, connection->connect_deadline);
      }
      for (const auto& pending : connection->in_flight) {
        if (!pending->answered) next_deadline = std::min(next_deadline, pending->read.deadline);
      }
    }
    for (const auto& pending : waiting_) {
      next_deadline = std::min(next_deadline, pending->read.deadline);
    }
    int timeout_ms = kLongestWaitMs;
    if (!retry_.empty()) {
      timeout_ms = 0;
    } else if (next_deadline != absl::InfiniteFuture()) {
      timeout_ms = static_cast<int>(std::min<int64_t>(
          kLongestWaitMs,
          absl::ToInt64Milliseconds(absl::Ceil(std::max(next_deadline - now, absl::ZeroDuration()),
                                               absl::Milliseconds(1)))));
    }
    // From the time the wait starts, not the round's: answering expired
    // reads may have taken a while.
    loop_wakes_by_ = absl::Now() + absl::Milliseconds(timeout_ms);
    idle_.store(Idle(), std::memory_order_relaxed);
    loop_lock.unlock();
    const int ready =
        epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    loop_lock.lock();
    for (int i = 0; i < ready; ++i) {
      auto* connection = static_cast<Connection*>(events[i].data.ptr);
      if (connection == nullptr) {
        uint64_t count = 0;
        (void)!read(wake_fd_, &count, sizeof(count));
        continue;
      }
      if (connection->conn == nullptr) continue;  // broke earlier in this round
      if (connection->connecting) {
        ContinueConnecting(*connection);
        continue;
      }
      if ((events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) Receive(*connection);
      if (connection->conn != nullptr && (events[i].events & EPOLLOUT) != 0) Flush(*connection);
    }
  }
}

bool PipelinedReader::StartConnecting() {
  for (const auto& connection : connections_) {
    if (connection->connecting) return true;  // one attempt at a time
  }
  const absl::Time now = absl::Now();
  if (now < next_connect_attempt_) return false;
  PGconn* conn = PQconnectStart(conninfo_.c_str());
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) {
    Log("cannot connect", conn == nullptr ? "out of memory" : PQerrorMessage(conn));
    if (conn != nullptr) PQfinish(conn);
    next_connect_attempt_ = now + kReconnectBackoff;
    return false;
  }
  Connection* slot = nullptr;
  for (auto& connection : connections_) {
    if (connection->conn == nullptr) {
      slot = connection.get();
      break;
    }
  }
  if (slot == nullptr) {
    connections_.push_back(std::make_unique<Connection>());
    slot = connections_.back().get();
  }
  // A slot is as Close() left it.
  slot->conn = conn;
  slot->connecting = true;
  slot->connect_deadline = now + connect_timeout_;
  // libpq's protocol: start as if PQconnectPoll had asked to write.
  Watch(*slot, EPOLLOUT);
  return true;
}

void PipelinedReader::Close(Connection& connection) const {
  if (connection.fd >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, connection.fd, nullptr);
  if (connection.conn != nullptr) PQfinish(connection.conn);
  connection.conn = nullptr;
  connection.fd = -1;
  connection.connecting = false;
  connection.want_write = false;
  connection.statement_timeout_ms = 0;
  connection.prepared.clear();
  connection.unsynced = false;
  connection.syncs_outstanding = 0;
}

void PipelinedReader::Watch(Connection& connection, uint32_t events) const {
  // The socket changes while libpq tries the hosts of a multi-host string.
  const int fd = PQsocket(connection.conn);
  epoll_event event{};
  event.events = events;
  event.data.ptr = &connection;
  if (fd >= 0 && fd == connection.fd && epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) == 0) {
    return;
  }
  // Another socket, possibly with the old one's number: closing the old one
  // took it out of epoll, so the number is added again either way.
  if (connection.fd >= 0 && fd != connection.fd) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, connection.fd, nullptr);
  }
  connection.fd = fd;
  if (fd >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
}

void PipelinedReader::ContinueConnecting(Connection& connection) {
  switch (PQconnectPoll(connection.conn)) {
    case PGRES_POLLING_READING:
      Watch(connection, EPOLLIN);
      return;
    case PGRES_POLLING_WRITING:
      Watch(connection, EPOLLOUT);
      return;
    case PGRES_POLLING_OK:
      if (PQsetnonblocking(connection.conn, 1) == 0 && PQenterPipelineMode(connection.conn) == 1) {
        connection.connecting = false;
        Watch(connection, EPOLLIN);
        SendWaitingNextRound();
        return;
      }
      break;
    default:
      break;
  }
  FailConnecting(connection, PQerrorMessage(connection.conn));
}

void PipelinedReader::FailConnecting(Connection& connection, const char* what) {
  Log("cannot connect", what);
  Close(connection);
  next_connect_attempt_ = absl::Now() + kReconnectBackoff;
  // Reads go to a connection that is open, or are answered now.
  SendWaitingNextRound();
}

void PipelinedReader::SendWaitingNextRound() {
  for (auto& pending : waiting_) retry_.push_back(std::move(pending));
  waiting_.clear();
}

void PipelinedReader::Send(std::unique_ptr<Pending> pending) {
  const absl::Time now = absl::Now();
  if (pending->read.deadline <= now) {
    Answer(*pending, DeadlinePassed());
    return;
  }
  // The least busy open connection; another is opened while every open one
  // has reads on it and there is room for more.
  Connection* target = nullptr;
  int open = 0;
  bool connecting = false;
  for (auto& connection : connections_) {
    if (connection->conn == nullptr) continue;
    ++open;
    if (connection->connecting) {
      connecting = true;
      continue;
    }
    if (target == nullptr || connection->in_flight.size() < target->in_flight.size()) {
      target = connection.get();
    }
  }
  if ((target == nullptr || !target->in_flight.empty()) && open < max_connections_) {
    connecting = StartConnecting();
  }
  if (target == nullptr) {
    if (connecting) {
      waiting_.push_back(std::move(pending));
    } else {
      Answer(*pending, absl::UnavailableError("cannot connect to the database"));
    }
    return;
  }
  PGconn* conn = target->conn;
  const PipelinedRead& read = pending->read;
  const std::string name = PreparedStatementName(read.sql);
  bool sent = true;
  const bool prepare = !target->prepared.contains(name);
  // The deadline reaches PostgreSQL as RunReadOnly's does, and a SET it
  // needs rides in the same round trip.
  const std::optional<int64_t> timeout =
      SessionTimeoutFor(target->statement_timeout_ms, read.deadline, now);
  if (prepare || timeout.has_value()) {
    // In an implicit transaction of their own, closed by a Sync before and
    // after: reads sent later count on the statement and the setting, which
    // another read's error in a shared transaction would skip or roll back
    // (results for the reads already on the wire may not have come yet).
    if (target->unsynced) sent = Sync(*target);
    if (sent && prepare) {
      sent = PQsendPrepare(conn, name.c_str(), read.sql.c_str(), 0, nullptr) == 1;
      target->prepared.insert(name);
      pending->prepared_here = name;
    }
    if (sent && timeout.has_value()) {
      const std::string set = absl::StrCat("SET statement_timeout = ", *timeout);
      sent = PQsendQueryParams(conn, set.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
      target->statement_timeout_ms = *timeout;
      pending->sets_timeout = true;
    }
    target->unsynced = true;
    if (sent) sent = Sync(*target);
  }
  if (sent) {
    std::vector<const char*> values;
    values.reserve(read.params.size());
    for (const std::optional<std::string>& param : read.params) {
      values.push_back(param.has_value() ? param->c_str() : nullptr);
    }
    sent = PQsendQueryPrepared(conn, name.c_str(), static_cast<int>(values.size()), values.data(),
                               nullptr, nullptr, 0) == 1;
  }
  target->unsynced = true;
  target->in_flight.push_back(std::move(pending));
  if (!sent) Break(*target, PQerrorMessage(conn));
}

void PipelinedReader::SyncAndFlush() {
  // One sync per connection and round: the reads sent together run as one
  // implicit transaction (each SELECT with a snapshot of its own), and
  // PostgreSQL answers them in one write. An error in one skips the others
  // behind it, which are sent again (Receive).
  for (auto& connection : connections_) {
    if (connection->conn == nullptr || connection->connecting || !connection->unsynced) continue;
    if (!Sync(*connection)) Break(*connection, PQerrorMessage(connection->conn));
  }
  for (auto& connection : connections_) {
    if (!connection->connecting) Flush(*connection);
  }
}

bool PipelinedReader::Sync(Connection& connection) {
  connection.unsynced = false;
  if (PQpipelineSync(connection.conn) != 1) return false;
  ++connection.syncs_outstanding;
  return true;
}

void PipelinedReader::Flush(Connection& connection) {
  if (connection.conn == nullptr) return;
  const int flushed = PQflush(connection.conn);
  if (flushed < 0) {
    Break(connection, PQerrorMessage(connection.conn));
    return;
  }
  // While its output does not all go, libpq reads what has come in (so that
  // the server never waits on us to read): results may then wait in libpq's
  // buffer, where epoll does not see them.
  if (!connection.in_flight.empty() || connection.syncs_outstanding > 0) {
    Receive(connection);
    if (connection.conn == nullptr) return;
  }
  const bool want_write = flushed == 1;
  if (want_write == connection.want_write) return;
  connection.want_write = want_write;
  Watch(connection, EPOLLIN | (want_write ? EPOLLOUT : 0));
}

void PipelinedReader::Receive(Connection& connection) {
  PGconn* conn = connection.conn;
  if (PQconsumeInput(conn) != 1) {
    Break(connection, PQerrorMessage(conn));
    return;
  }
  while ((!connection.in_flight.empty() || connection.syncs_outstanding > 0) &&
         PQisBusy(conn) == 0) {
    PGresult* result = PQgetResult(conn);
    if (result == nullptr) {
      // A NULL ends a query that has had its result; any other means nothing
      // more has come yet.
      if (connection.in_flight.empty() || !connection.in_flight.front()->in_query) break;
      Pending& pending = *connection.in_flight.front();
      pending.in_query = false;
      if (++pending.queries_done == pending.queries()) {
        std::unique_ptr<Pending> done = std::move(connection.in_flight.front());
        connection.in_flight.pop_front();
        Complete(std::move(done));
      }
      continue;
    }
    const ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_PIPELINE_SYNC) {
      --connection.syncs_outstanding;
      PQclear(result);
      continue;
    }
    if (connection.in_flight.empty()) {  // cannot happen: every query is a read's
      PQclear(result);
      Break(connection, "a result that no read asked for");
      return;
    }
    Pending& pending = *connection.in_flight.front();
    pending.in_query = true;
    const bool is_prepare = !pending.prepared_here.empty() && pending.queries_done == 0;
    const bool is_set = !is_prepare && pending.sets_timeout &&
                        pending.queries_done == (pending.prepared_here.empty() ? 0 : 1);
    if (status == PGRES_PIPELINE_ABORTED) pending.aborted = true;
    // A statement that was not prepared is not there to execute, and a SET
    // that did not run leaves the session's timeout unknown.
    if (is_prepare && status != PGRES_COMMAND_OK) connection.prepared.erase(pending.prepared_here);
    if (is_set && status != PGRES_COMMAND_OK) connection.statement_timeout_ms = -1;
    if (status == PGRES_TUPLES_OK && !is_prepare && !is_set) {
      if (pending.rows != nullptr) PQclear(pending.rows);
      pending.rows = result;
    } else if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
               status != PGRES_PIPELINE_ABORTED && pending.error == nullptr) {
      // A backend that is terminated (or a server shutting down) says so
      // as the error of the statement it was running, then closes: the
      // connection broke, which the read did not cause.
      const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
      if ((sqlstate != nullptr &&
           StatusCodeFromSqlState(sqlstate) == absl::StatusCode::kUnavailable) ||
          (severity != nullptr &&
           (absl::string_view(severity) == "FATAL" || absl::string_view(severity) == "PANIC"))) {
        PQclear(result);
        Break(connection, PQerrorMessage(conn));
        return;
      }
      if (is_prepare && sqlstate != nullptr && absl::string_view(sqlstate) == "42P05") {
        // Already prepared (the bookkeeping had forgotten it): as good as
        // done, though what followed in its transaction was skipped.
        connection.prepared.insert(pending.prepared_here);
        pending.aborted = true;
        PQclear(result);
        continue;
      }
      if (sqlstate != nullptr && absl::string_view(sqlstate) == "26000" &&
          !pending.prepared_again) {
        // The statement is not prepared after all (the bookkeeping and the
        // session disagree): prepare it again and send the read once more.
        connection.prepared.erase(PreparedStatementName(pending.read.sql));
        pending.prepared_again = true;
        pending.aborted = true;
        PQclear(result);
        continue;
      }
      pending.error = result;
    } else {
      PQclear(result);
    }
  }
  if (PQstatus(conn) == CONNECTION_BAD) Break(connection, PQerrorMessage(conn));
}

void PipelinedReader::Complete(std::unique_ptr<Pending> pending) {
  if (pending->answered) return;
  if (pending->error != nullptr) {
    const char* sqlstate = PQresultErrorField(pending->error, PG_DIAG_SQLSTATE);
    Answer(*pending, StatusFromSqlError(sqlstate == nullptr ? "" : sqlstate,
                                        PQresultErrorMessage(pending->error)));
  } else if (pending->aborted) {
    // Skipped for another read's error: nothing ran, so it goes again.
    pending->Reset();
    retry_.push_back(std::move(pending));
  } else if (pending->rows != nullptr) {
    Answer(*pending, pending->rows);
  } else {
    Answer(*pending, absl::InternalError("the database returned no rows for a read"));
  }
}

void PipelinedReader::Break(Connection& connection, const char* what) {
  Log("connection lost", what);
  Close(connection);
  std::deque<std::unique_ptr<Pending>> lost;
  lost.swap(connection.in_flight);
  for (auto& pending : lost) {
    if (pending->answered) continue;
    if (pending->retried) {
      Answer(*pending, ConnectionLost());
      continue;
    }
    // Nothing reached the caller, and reading again changes nothing.
    pending->retried = true;
    pending->Reset();
    retry_.push_back(std::move(pending));
  }
}

void PipelinedReader::ExpireOverdue(absl::Time now) {
  for (auto& connection : connections_) {
    // libpq leaves connect_timeout to the caller of PQconnectPoll.
    if (connection->connecting && connection->connect_deadline <= now) {
      FailConnecting(*connection, "connect_timeout passed");
    }
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if ((*it)->read.deadline <= now) {
      Answer(**it, DeadlinePassed());
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& connection : connections_) {
    for (auto& pending : connection->in_flight) {
      if (!pending->answered && pending->read.deadline <= now) {
        Answer(*pending, DeadlinePassed());
      }
    }
  }
}

}  // namespace plantmon::postgres
