#ifndef PLANTMON_STORAGE_ALERT_SWEEPER_H_
#define PLANTMON_STORAGE_ALERT_SWEEPER_H_

// The alert sweeper: judges the rules that time breaks rather than a reading
// (no_data, battery_below, watering_overdue; alerting::Sweep decides) and
// opens or resolves their alerts. Every server process runs one, and exactly
// one of them sweeps at a time: the one whose connection holds a PostgreSQL
// session advisory lock. The others try for the lock every `retry`; when the
// sweeping process dies its session ends, the lock is free, and another
// process takes over within about `retry` (docs/telemetry.md, "Rules over
// time").

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "common/sync.h"
#include "postgres/database_config.h"

namespace plantmon::storage {

class AlertSweeper {
 public:
  struct Options {
    // How often the holder sweeps.
    absl::Duration every = absl::Seconds(10);
    // How often the others try for the lock.
    absl::Duration retry = absl::Seconds(1);
  };

  // Starts trying for the lock on a connection of its own (not the pool's: a
  // session lock must stay with one session).
  AlertSweeper(const postgres::DatabaseConfig& config, Options options);
  ~AlertSweeper();

  // True while this process holds the lock (tests ask which one sweeps).
  bool sweeping() const { return sweeping_.load(); }
  // Sweeps this process has finished.
  int64_t sweeps() const { return sweeps_.load(); }

 private:
  void Run();

  const std::string connection_string_;
  const Options options_;
  common::Notification stop_;
  std::atomic<bool> sweeping_{false};
  std::atomic<int64_t> sweeps_{0};
  std::thread thread_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_ALERT_SWEEPER_H_
