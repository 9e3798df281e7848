#include "storage/migration_runner.h"

#include <algorithm>
#include <cstdio>
#include <pqxx/pqxx>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/sha256.h"
#include "postgres/transaction.h"

namespace plantmon::storage {

using postgres::ConnectionPool;
using postgres::PooledConnection;
using postgres::RunInTransaction;
using postgres::RunWithConnection;
namespace {

// A migration whose first line is this runs outside a transaction, one step
// at a time, the steps separated by kStepMarker lines: what PostgreSQL runs
// only outside a transaction block (CREATE INDEX CONCURRENTLY, a DO block
// that commits batches) or what must not hold its locks until the end
// (a backfill of a large table beside ingest). Its steps must be safe to run
// again: a migration that failed half-way starts over from the first.
constexpr char kNoTransactionMarker[] = "-- plantmon:no-transaction\n";
constexpr char kStepMarker[] = "\n-- plantmon:step\n";
// A step with a line of this and a query among its leading comment lines is
// skipped when the query returns true: for a statement that cannot test the
// state itself (CREATE INDEX CONCURRENTLY fails on a table that a later step
// of an interrupted run has already partitioned, IF NOT EXISTS or not).
constexpr char kSkipIfMarker[] = "-- plantmon:skip-if ";

void RunStep(pqxx::nontransaction& session, absl::string_view step) {
  for (absl::string_view line : absl::StrSplit(step, '\n')) {
    if (!absl::StartsWith(line, "--")) break;
    if (absl::ConsumePrefix(&line, kSkipIfMarker) &&
        session.exec1(std::string(line))[0].as<bool>()) {
      return;
    }
  }
  session.exec(std::string(step));
}

bool RunsOutsideATransaction(const Migration& migration) {
  return absl::StartsWith(migration.sql, kNoTransactionMarker);
}

// pg_advisory_lock key shared by every migration runner ("plantmon" in hex).
constexpr int64_t kMigrationLockKey = 0x706c616e746d6f6e;

constexpr char kCreateMigrationsTable[] = R"sql(
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  ))sql";

absl::StatusOr<std::vector<AppliedMigration>> ReadApplied(pqxx::transaction_base& transaction) {
  std::vector<AppliedMigration> applied;
  pqxx::row exists = transaction.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists.front().as<bool>()) return applied;
  for (const pqxx::row& row : transaction.exec("SELECT version, name, checksum, "
                                               "(extract(epoch FROM applied_at) * 1000000)::bigint "
                                               "FROM schema_migrations ORDER BY version")) {
    AppliedMigration migration;
    migration.version = row[0].as<int>();
    migration.name = row[1].as<std::string>();
    migration.checksum = row[2].as<std::string>();
    migration.applied_at = absl::FromUnixMicros(row[3].as<int64_t>());
    applied.push_back(std::move(migration));
  }
  return applied;
}

// Splits known migrations into pending ones after checking that what the
// database applied matches them.
absl::StatusOr<std::vector<Migration>> PendingAfterChecks(
    const std::vector<AppliedMigration>& applied, const std::vector<Migration>& migrations) {
  std::set<int> applied_versions;
  for (const AppliedMigration& done : applied) {
    auto known = std::find_if(migrations.begin(), migrations.end(),
                              [&](const Migration& m) { return m.version == done.version; });
    if (known == migrations.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the database has migration ", done.name,
                       " applied, which this build does not know: it was migrated by a "
                       "newer version"));
    }
    if (known->checksum != done.checksum) {
      return absl::FailedPreconditionError(
          absl::StrCat("migration ", known->name, " was edited after it was applied (checksum ",
                       known->checksum, ", applied ", done.checksum,
                       "); add a new migration instead of changing an applied one"));
    }
    applied_versions.insert(done.version);
  }
  std::vector<Migration> pending;
  for (const Migration& migration : migrations) {
    if (!applied_versions.count(migration.version)) {
      pending.push_back(migration);
    }
  }
  return pending;
}

}  // namespace

absl::StatusOr<std::vector<Migration>> MigrationsFromFiles(const std::vector<EmbeddedFile>& files) {
  std::vector<Migration> migrations;
  std::set<int> versions;
  for (const EmbeddedFile& file : files) {
    absl::string_view name = file.name;
    size_t underscore = name.find('_');
    int version = 0;
    if (underscore == absl::string_view::npos || !absl::EndsWith(name, ".sql") ||
        !absl::SimpleAtoi(name.substr(0, underscore), &version) || version <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("migration file ", name, " is not named NNNN_description.sql"));
    }
    if (!versions.insert(version).second) {
      return absl::InvalidArgumentError(absl::StrCat("two migration files have version ", version));
    }
    migrations.push_back({version, file.name, file.contents, common::Sha256Hex(file.contents)});
  }
  std::sort(migrations.begin(), migrations.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  return migrations;
}

const std::vector<Migration>& BuiltInMigrations() {
  static const auto* migrations = [] {
    absl::StatusOr<std::vector<Migration>> parsed = MigrationsFromFiles(EmbeddedMigrationFiles());
    if (!parsed.ok()) {
      // A build-time mistake in migrations/: nothing sensible can run.
      std::fprintf(stderr, "%s\n", parsed.status().ToString().c_str());
      std::abort();
    }
    return new std::vector<Migration>(*std::move(parsed));
  }();
  return *migrations;
}

namespace {

// Passes what a migration reports (RAISE WARNING / NOTICE, such as migration
// 0010's list of colliding accounts) on to stderr, where the server and
// plantmon_db log; libpqxx drops notices that no handler takes.
class NoticesToStderr final : public pqxx::errorhandler {
 public:
  using pqxx::errorhandler::errorhandler;
  bool operator()(const char message[]) noexcept override {
    std::fprintf(stderr, "plantmon migrations: %s", message);
    return true;
  }
};

}  // namespace

std::vector<Migration> BuiltInMigrationsBefore(int version) {
  std::vector<Migration> before;
  for (const Migration& migration : BuiltInMigrations()) {
    if (migration.version < version) before.push_back(migration);
  }
  return before;
}

absl::StatusOr<std::vector<Migration>> ApplyMigrations(ConnectionPool& pool,
                                                       const std::vector<Migration>& migrations) {
  return RunWithConnection(
      pool, [&](PooledConnection& connection) -> absl::StatusOr<std::vector<Migration>> {
        NoticesToStderr notices(connection.get());
        {
          pqxx::nontransaction session(connection.get());
          // Warnings are what migrations report; notices ("already exists,
          // skipping") are noise on every start.
          session.exec("SET client_min_messages = warning");
          // Polled rather than waited for: a runner blocked in
          // pg_advisory_lock is a transaction in progress, which a CREATE
          // INDEX CONCURRENTLY of the runner holding the lock (migration
          // 0013) would wait for in turn: a deadlock.
          while (!session.exec_params1("SELECT pg_try_advisory_lock($1)", kMigrationLockKey)[0]
                      .as<bool>()) {
            absl::SleepFor(absl::Milliseconds(100));
          }
          session.exec(kCreateMigrationsTable);
        }
        std::vector<AppliedMigration> applied;
        {
          pqxx::read_transaction read(connection.get());
          absl::StatusOr<std::vector<AppliedMigration>> read_applied = ReadApplied(read);
          if (!read_applied.ok()) return read_applied.status();
          applied = *std::move(read_applied);
        }
        absl::StatusOr<std::vector<Migration>> pending = PendingAfterChecks(applied, migrations);
        if (pending.ok()) {
          for (const Migration& migration : *pending) {
            if (RunsOutsideATransaction(migration)) {
              // Each step commits on its own (docs/data-model.md,
              // "Migrations"); the migration counts as applied once all did.
              pqxx::nontransaction session(connection.get());
              for (absl::string_view step : absl::StrSplit(migration.sql, kStepMarker)) {
                RunStep(session, step);
              }
            }
            pqxx::work transaction(connection.get());
            if (!RunsOutsideATransaction(migration)) transaction.exec(migration.sql);
            transaction.exec_params(
                "INSERT INTO schema_migrations (version, name, checksum) "
                "VALUES ($1, $2, $3)",
                migration.version, migration.name, migration.checksum);
            transaction.commit();
          }
        }
        pqxx::nontransaction session(connection.get());
        session.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
        session.exec("RESET client_min_messages");  // the connection goes back to the pool
        return pending;
      });
}

absl::StatusOr<MigrationStatus> GetMigrationStatus(ConnectionPool& pool,
                                                   const std::vector<Migration>& migrations) {
  return RunInTransaction(pool, [&](pqxx::work& transaction) -> absl::StatusOr<MigrationStatus> {
    absl::StatusOr<std::vector<AppliedMigration>> applied = ReadApplied(transaction);
    if (!applied.ok()) return applied.status();
    absl::StatusOr<std::vector<Migration>> pending = PendingAfterChecks(*applied, migrations);
    if (!pending.ok()) return pending.status();
    return MigrationStatus{*std::move(applied), *std::move(pending)};
  });
}

absl::Status CheckSchemaIsCurrent(ConnectionPool& pool, const std::vector<Migration>& migrations) {
  absl::StatusOr<MigrationStatus> status = GetMigrationStatus(pool, migrations);
  if (!status.ok()) return status.status();
  if (status->pending.empty()) return absl::OkStatus();
  std::vector<std::string> names;
  for (const Migration& migration : status->pending) {
    names.push_back(migration.name);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the database schema is not current; pending migrations: ", absl::StrJoin(names, ", "),
      " (run `plantmon_db migrate` or start the server with --migrate)"));
}

}  // namespace plantmon::storage
