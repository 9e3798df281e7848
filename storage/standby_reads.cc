#include "storage/standby_reads.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <utility>

#include "metrics/registry.h"
#include "postgres/transaction.h"

namespace plantmon::storage {

StandbyReads::StandbyReads(postgres::ConnectionPool& primary,
                           std::unique_ptr<postgres::ConnectionPool> standby, Options options)
    : primary_(primary), standby_(std::move(standby)), options_(options) {
  // Checked on the monitor's thread from the start, not here: a standby that
  // does not answer could hold the server's start for its connect_timeout.
  monitor_ = std::thread([this] { Monitor(); });
}

StandbyReads::~StandbyReads() {
  stop_.Notify();
  if (monitor_.joinable()) monitor_.join();
}

bool StandbyReads::AskPrimaryAfter(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kInternal:
      usable_ = false;
      return true;
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAborted:  // say, a query cancelled by recovery on the standby
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

void StandbyReads::CountRead(const char* target) {
  static metrics::CounterFamily& reads = metrics::DefaultRegistry().Counter(
      "plantmon_lag_tolerant_reads_total",
      "ListSensorData and AggregateSensorData reads by where they were answered: standby (a hot "
      "standby of POSTGRES_DB_READ_HOSTS) or primary.",
      {"target"});
  reads.Add({target});
}

void StandbyReads::Monitor() {
  do {
    CheckOnce();
  } while (!stop_.WaitForNotificationWithTimeout(options_.check_every));
}

void StandbyReads::CheckOnce() {
  // The beat first: the standby is then asked how far behind it it is.
  const absl::Status beat = postgres::ExecuteUpdate(primary_,
                                                    "UPDATE replication_heartbeat "
                                                    "SET beat_at = clock_timestamp() WHERE id = 1")
                                .status();
  const absl::StatusOr<std::pair<bool, double>> seen = postgres::RunReadOnly(
      *standby_,
      [](pqxx::transaction_base& transaction) -> absl::StatusOr<std::pair<bool, double>> {
        const pqxx::row row = transaction.exec1(
            "SELECT pg_is_in_recovery(), "
            "extract(epoch FROM clock_timestamp() - beat_at)::float8 "
            "FROM replication_heartbeat WHERE id = 1");
        return std::make_pair(row[0].as<bool>(), row[1].as<double>());
      },
      absl::Now() + std::max(options_.check_every, absl::Seconds(1)));
  if (!seen.ok()) {
    lag_seconds_ = -1;
    usable_ = false;
    return;
  }
  const double lag = std::max(0.0, seen->second);
  lag_seconds_ = lag;
  // Without a beat the lag cannot be told from a quiet primary's: the
  // primary is asked (and answers, or not) as for any other call.
  usable_ = beat.ok() && seen->first && absl::Seconds(lag) <= options_.max_lag;
}

}  // namespace plantmon::storage
