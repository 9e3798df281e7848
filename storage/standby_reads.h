#ifndef PLANTMON_STORAGE_STANDBY_READS_H_
#define PLANTMON_STORAGE_STANDBY_READS_H_

// Reads that may be answered by a hot standby (docs/scaling.md, "Read
// replicas"): ListSensorData and AggregateSensorData, the lists and
// aggregates of readings, which are most of the read load and tolerate a
// bounded delay. Everything else, every write and every read a write depends
// on, stays on the primary.
//
// A monitor thread writes a heartbeat on the primary and reads it back from
// the standby (migration 0025) a few times a second. The standby is used while
// it answers, is in recovery (a promoted standby is a primary now, and not
// this pool's to use) and lags at most `max_lag`; otherwise reads go to the
// primary until a check finds it usable again. A read that fails on the
// standby, or finds nothing there (a device created a moment ago may not have
// arrived yet), is asked again of the primary.

#include <atomic>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sync.h"
#include "postgres/connection_pool.h"

namespace plantmon::storage {

class StandbyReads {
 public:
  struct Options {
    // PLANTMON_READ_MAX_LAG_MS: a standby further behind is not read.
    absl::Duration max_lag = absl::Seconds(1);
    // How often the heartbeat is written and the lag measured.
    absl::Duration check_every = absl::Milliseconds(200);
  };

  StandbyReads(postgres::ConnectionPool& primary, std::unique_ptr<postgres::ConnectionPool> standby,
               Options options);
  ~StandbyReads();

  // Runs `read(pool)` on the standby's pool when it is usable, and on the
  // primary's when not, or when the standby's answer is an error other than
  // the caller's own (INVALID_ARGUMENT, DEADLINE_EXCEEDED, ...) or NOT_FOUND.
  template <typename Read>
  auto Run(Read&& read) -> decltype(read(std::declval<postgres::ConnectionPool&>())) {
    if (usable_.load()) {
      auto result = read(*standby_);
      if (result.ok() || !AskPrimaryAfter(StatusOf(result))) {
        CountRead("standby");
        return result;
      }
    }
    CountRead("primary");
    return read(primary_);
  }

  // The last lag measured, in seconds; -1 when the standby did not answer.
  double lag_seconds() const { return lag_seconds_.load(); }
  bool usable() const { return usable_.load(); }
  postgres::ConnectionPool& standby_pool() { return *standby_; }

 private:
  static const absl::Status& StatusOf(const absl::Status& status) { return status; }
  template <typename T>
  static absl::Status StatusOf(const absl::StatusOr<T>& result) {
    return result.status();
  }
  // True when a standby's error should send the read to the primary; a
  // connection lost also stops reads on the standby until the next check.
  bool AskPrimaryAfter(const absl::Status& status);
  static void CountRead(const char* target);
  void Monitor();
  void CheckOnce();

  postgres::ConnectionPool& primary_;
  const std::unique_ptr<postgres::ConnectionPool> standby_;
  const Options options_;
  std::atomic<bool> usable_{false};
  std::atomic<double> lag_seconds_{-1};
  common::Notification stop_;
  std::thread monitor_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_STANDBY_READS_H_
