#include "storage/partition_keeper.h"

#include <cstdio>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "postgres/pqxx_status.h"
#include "storage/daily_rollups.h"
#include "storage/row_reader.h"

namespace plantmon::storage {
namespace {

// pg_advisory lock key of partition upkeep ("plantmpk" in ASCII).
constexpr int64_t kPartitionLockKey = 0x706c616e746d706b;
constexpr absl::Duration kWeek = absl::Hours(24 * 7);
// DDL here waits at most this long for a lock, and the round is tried again
// later: ingest queued behind a waiting DDL statement would stall with it.
constexpr char kLockTimeout[] = "200ms";

struct Partition {
  std::string name;
  std::optional<absl::Time> upper;  // exclusive
  bool detach_pending = false;
};

bool IsPartitioned(pqxx::transaction_base& transaction) {
  return transaction
      .exec1(
          "SELECT coalesce((SELECT relkind = 'p' FROM pg_class "
          "WHERE oid = to_regclass('sensor_data')), false)")[0]
      .as<bool>();
}

// Bounds come from sensor_data_partition_bounds() (migration 0026), which
// ingest reads too.
std::vector<Partition> ListPartitions(pqxx::transaction_base& transaction) {
  std::vector<Partition> partitions;
  for (const pqxx::row& row :
       transaction.exec("SELECT partition_name, detach_pending, " PLANTMON_EPOCH_US(
           "upper_bound") " FROM sensor_data_partition_bounds()")) {
    Partition partition;
    partition.name = row[0].as<std::string>();
    partition.detach_pending = row[1].as<bool>();
    if (!row[2].is_null()) partition.upper = absl::FromUnixMicros(row[2].as<int64_t>());
    partitions.push_back(std::move(partition));
  }
  return partitions;
}

// Creates the weeks from the newest partition's end to now + ahead, in one
// transaction (WeekPartitionStatements).
void CreateAhead(pqxx::connection& connection, absl::Time now, const PartitionPolicy& policy,
                 PartitionRound& round) {
  pqxx::work transaction(connection);
  transaction.exec(absl::StrCat("SET LOCAL lock_timeout = '", kLockTimeout, "'"));
  transaction.exec_params("SELECT pg_advisory_xact_lock($1)", kPartitionLockKey);
  if (!IsPartitioned(transaction)) return;
  std::optional<absl::Time> newest;
  for (const Partition& partition : ListPartitions(transaction)) {
    if (partition.upper && (!newest || *partition.upper > *newest)) newest = partition.upper;
  }
  absl::Time next = newest.value_or(WeekStart(now));
  while (next < now + policy.ahead) {
    for (const std::string& statement : WeekPartitionStatements(next)) {
      transaction.exec(statement);
    }
    round.created.push_back(WeekPartitionName(next));
    next += kWeek;
  }
  transaction.commit();
}

// Detaches and drops the partitions wholly past the retention. DETACH
// PARTITION CONCURRENTLY runs outside a transaction and holds sensor_data
// only against other schema changes; the table, once detached, is dropped on
// its own. A round cut short leaves a partition detached or half-detached:
// the next round finishes either.
void DropExpired(pqxx::connection& connection, absl::Time now, const PartitionPolicy& policy,
                 PartitionRound& round) {
  const absl::Time cutoff = now - *policy.raw_retention - kRetentionDropMargin;
  std::vector<Partition> expired;
  std::vector<std::string> leftovers;
  {
    pqxx::read_transaction transaction(connection);
    if (!IsPartitioned(transaction)) return;
    for (Partition& partition : ListPartitions(transaction)) {
      if (partition.upper && *partition.upper <= cutoff) expired.push_back(std::move(partition));
    }
    // Detached by an earlier round that stopped before dropping them: the
    // history, or a week past the cutoff (a week an operator detached while
    // it was still kept is not this keeper's to drop).
    for (const pqxx::row& row :
         transaction.exec("SELECT c.relname FROM pg_class c WHERE c.relnamespace = "
                          "current_schema()::regnamespace "
                          "AND c.relkind = 'r' AND NOT c.relispartition "
                          "AND c.relname ~ '^sensor_data_(history|w[0-9]{8})$'")) {
      const auto name = row[0].as<std::string>();
      // Names sort as their weeks do; a week ends by the cutoff when it
      // begins by a week before it.
      if (name == "sensor_data_history" || name <= WeekPartitionName(cutoff - kWeek)) {
        leftovers.push_back(name);
      }
    }
  }
  if (expired.empty() && leftovers.empty()) return;
  pqxx::nontransaction session(connection);
  if (!session.exec_params1("SELECT pg_try_advisory_lock($1)", kPartitionLockKey)[0].as<bool>()) {
    return;
  }
  try {
    session.exec(absl::StrCat("SET lock_timeout = '", kLockTimeout, "'"));
    for (const Partition& partition : expired) {
      session.exec(absl::StrCat("ALTER TABLE sensor_data DETACH PARTITION ",
                                session.quote_name(partition.name),
                                partition.detach_pending ? " FINALIZE" : " CONCURRENTLY"));
      leftovers.push_back(partition.name);
    }
    for (const std::string& name : leftovers) {
      session.exec(absl::StrCat("DROP TABLE IF EXISTS ", session.quote_name(name)));
      round.dropped.push_back(name);
    }
  } catch (const std::exception&) {
    session.exec("RESET lock_timeout");
    session.exec_params("SELECT pg_advisory_unlock($1)", kPartitionLockKey);
    throw;
  }
  session.exec("RESET lock_timeout");
  session.exec_params("SELECT pg_advisory_unlock($1)", kPartitionLockKey);
}

}  // namespace

absl::Time OldestAcceptedReading(absl::Time now, const std::optional<absl::Duration>& retention) {
  return retention ? now - *retention : absl::InfinitePast();
}

absl::Time WeekStart(absl::Time time) {
  const absl::CivilDay day = absl::ToCivilDay(time, absl::UTCTimeZone());
  return absl::FromCivil(absl::PrevWeekday(day + 1, absl::Weekday::monday), absl::UTCTimeZone());
}

std::string WeekPartitionName(absl::Time week) {
  return absl::FormatTime("sensor_data_w%Y%m%d", week, absl::UTCTimeZone());
}

std::string PartitionBoundLiteral(absl::Time time) {
  return absl::StrCat("'", absl::FormatTime("%Y-%m-%d %H:%M:%S+00", time, absl::UTCTimeZone()),
                      "'");
}

std::vector<std::string> WeekPartitionStatements(absl::Time week) {
  // Names are sensor_data_wYYYYMMDD: plain identifiers, no quoting needed.
  const std::string name = WeekPartitionName(week);
  return {absl::StrCat("CREATE TABLE ", name,
                       " (LIKE sensor_data INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"),
          absl::StrCat("SELECT sensor_data_add_roll_up_trigger('", name, "')"),
          absl::StrCat("ALTER TABLE sensor_data ATTACH PARTITION ", name, " FOR VALUES FROM (",
                       PartitionBoundLiteral(week), ") TO (", PartitionBoundLiteral(week + kWeek),
                       ")")};
}

absl::StatusOr<PartitionRound> KeepPartitions(const postgres::DatabaseConfig& database,
                                              absl::Time now, const PartitionPolicy& policy) {
  PartitionRound round;
  try {
    pqxx::connection connection(postgres::LibpqConnectionString(database) +
                                " application_name='plantmon-partition-keeper'");
    CreateAhead(connection, now, policy, round);
    if (policy.raw_retention) DropExpired(connection, now, policy, round);
    RollUpDays(connection, now, round.daily);
  } catch (const std::exception& error) {
    return postgres::StatusFromException(error);
  }
  return round;
}

PartitionKeeper::PartitionKeeper(postgres::DatabaseConfig database, Options options)
    : database_(std::move(database)), options_(options) {
  thread_ = std::thread([this] { Run(); });
}

PartitionKeeper::~PartitionKeeper() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void PartitionKeeper::Run() {
  absl::Duration wait;
  do {
    absl::StatusOr<PartitionRound> round = KeepPartitions(database_, absl::Now(), options_.policy);
    if (!round.ok()) {
      std::fprintf(stderr, "plantmon: partition upkeep failed (tried again in %s): %s\n",
                   absl::FormatDuration(options_.retry).c_str(), round.status().ToString().c_str());
      wait = options_.retry;
      continue;
    }
    for (const std::string& name : round->created) {
      std::fprintf(stderr, "plantmon: created partition %s\n", name.c_str());
    }
    for (const std::string& name : round->dropped) {
      std::fprintf(stderr, "plantmon: dropped partition %s (past the raw-data retention)\n",
                   name.c_str());
    }
    if (round->daily.days_closed > 0) {
      std::fprintf(stderr, "plantmon: summed %s days of readings into daily rollups\n",
                   absl::StrCat(round->daily.days_closed).c_str());
    }
    wait = options_.every;
  } while (!stop_.WaitForNotificationWithTimeout(wait));
}

}  // namespace plantmon::storage
