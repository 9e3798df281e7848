#include "postgres/connection_pool.h"

#include <pqxx/pqxx>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/sync.h"
#include "postgres/pqxx_status.h"

namespace plantmon::postgres {

PooledConnection::PooledConnection(ConnectionPool* pool, std::unique_ptr<PoolSlot> slot)
    : pool_(pool), slot_(std::move(slot)) {}

PooledConnection::PooledConnection(PooledConnection&& other) noexcept
    : pool_(other.pool_), slot_(std::move(other.slot_)) {
  other.pool_ = nullptr;
}

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    if (slot_ != nullptr) pool_->Release(std::move(slot_));
    pool_ = other.pool_;
    slot_ = std::move(other.slot_);
    other.pool_ = nullptr;
  }
  return *this;
}

PooledConnection::~PooledConnection() {
  if (slot_ != nullptr) pool_->Release(std::move(slot_));
}

ConnectionPool::ConnectionPool(const DatabaseConfig& config)
    : config_(config), connection_string_(LibpqConnectionString(config)) {}

ConnectionPool::~ConnectionPool() {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.clear();
}

absl::StatusOr<std::unique_ptr<ConnectionPool>> ConnectionPool::Create(
    const DatabaseConfig& config) {
  if (config.pool_size < 1 || config.max_overflow < 0) {
    return absl::InvalidArgumentError("pool_size must be at least 1 and max_overflow at least 0");
  }
  if (config.acquire_timeout <= absl::ZeroDuration() ||
      config.max_lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("acquire_timeout and max_lifetime must be positive");
  }
  return absl::WrapUnique(new ConnectionPool(config));
}

absl::StatusOr<std::unique_ptr<PoolSlot>> ConnectionPool::Open() {
  try {
    auto slot = std::make_unique<PoolSlot>();
    slot->connection = std::make_unique<pqxx::connection>(connection_string_);
    slot->opened_at = absl::Now();
    return slot;
  } catch (const std::exception& error) {
    // libpq's message names host and port but never the password.
    std::fprintf(stderr, "storage: cannot connect to %s: %s\n", DatabaseUrl(config_).c_str(),
                 error.what());
    return absl::UnavailableError("the database is unavailable");
  }
}

bool ConnectionPool::IsUsable(PoolSlot& slot) {
  if (slot.broken || !slot.connection->is_open()) return false;
  const absl::Time now = absl::Now();
  if (now - slot.opened_at > config_.max_lifetime) return false;
  // A connection used through the scoped helpers a moment ago is trusted
  // without a round trip; one that idled, or was used raw, is pinged. A read
  // that finds it broken after all is retried once (RunReadOnly).
  if (!slot.needs_check && now - slot.returned_at < kPingAfterIdle) return true;
  slot.needs_check = false;
  try {
    // A pre-ping that also catches a connection left inside a transaction:
    // outside one, each statement runs in its own implicit transaction, so
    // the two timestamps are equal.
    pqxx::nontransaction ping(*slot.connection);
    return ping.exec1("SELECT transaction_timestamp() = statement_timestamp()").front().as<bool>();
  } catch (const std::exception&) {
    return false;
  }
}

absl::StatusOr<PooledConnection> ConnectionPool::Acquire(absl::Time deadline) {
  const absl::Time pool_deadline = absl::Now() + config_.acquire_timeout;
  const bool caller_deadline_first = deadline < pool_deadline;
  deadline = std::min(deadline, pool_deadline);
  std::unique_ptr<PoolSlot> slot;
  {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiters_;
    const bool proceed = common::WaitUntil(
        available_, lock, deadline, [this] { return !idle_.empty() || open_ < MaxConnections(); });
    --waiters_;
    if (!proceed) {
      if (caller_deadline_first) {
        return absl::DeadlineExceededError(
            "the call's deadline passed while waiting for a database connection");
      }
      return absl::ResourceExhaustedError(absl::StrCat(
          "no database connection became free within ",
          absl::FormatDuration(config_.acquire_timeout), " (all ", MaxConnections(), " in use)"));
    }
    if (!idle_.empty()) {
      slot = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // Reserve the slot before connecting outside the lock.
    }
  }
  if (slot != nullptr && !IsUsable(*slot)) {
    // Replace it; the reservation carries over to the new connection.
    slot.reset();
  }
  if (slot == nullptr) {
    absl::StatusOr<std::unique_ptr<PoolSlot>> opened = Open();
    if (!opened.ok()) {
      ForgetConnection();
      return opened.status();
    }
    slot = *std::move(opened);
  }
  return PooledConnection(this, std::move(slot));
}

void ConnectionPool::Release(std::unique_ptr<PoolSlot> slot) {
  slot->returned_at = absl::Now();
  bool keep = !slot->broken && slot->connection->is_open() &&
              absl::Now() - slot->opened_at <= config_.max_lifetime;
  if (keep) {
    std::unique_lock<std::mutex> lock(mu_);
    if (static_cast<int>(idle_.size()) < config_.pool_size + waiters_) {
      idle_.push_back(std::move(slot));
      lock.unlock();
      available_.notify_one();
      return;
    }
  }
  // Broken, too old, or an overflow connection: close it before giving the
  // reservation back, so the server never sees more than MaxConnections().
  slot.reset();
  ForgetConnection();
}

void ConnectionPool::ForgetConnection() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
  }
  available_.notify_one();
}

absl::Status ConnectionPool::Ping() {
  std::lock_guard<std::mutex> lock(ping_mu_);
  if (ping_slot_ == nullptr) {
    absl::StatusOr<std::unique_ptr<PoolSlot>> opened = Open();
    if (!opened.ok()) return opened.status();
    ping_slot_ = *std::move(opened);
  }
  try {
    pqxx::nontransaction ping(*ping_slot_->connection);
    ping.exec("SELECT 1");
    return absl::OkStatus();
  } catch (const std::exception& error) {
    ping_slot_.reset();
    return StatusFromException(error);
  }
}

ConnectionPool::Stats ConnectionPool::GetStats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats stats;
  stats.open = open_;
  stats.idle = static_cast<int>(idle_.size());
  stats.in_use = open_ - stats.idle;
  return stats;
}

}  // namespace plantmon::postgres
