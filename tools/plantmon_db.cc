// plantmon_db: the database manager (docs/data-model.md).
//
//   plantmon_db init          create the database if missing, then migrate
//   plantmon_db migrate       apply pending migrations
//   plantmon_db status        list applied and pending migrations
//   plantmon_db seed          load the demo data (idempotent)
//   plantmon_db reset --yes   drop everything, then migrate
//   plantmon_db grant-admin EMAIL / revoke-admin EMAIL
//   plantmon_db api-key EMAIL NAME   a new ingest-only API key (tools/run's bridge)
//
// Connection settings come from POSTGRES_DB_* in the environment or ./.env.

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "postgres/connection_pool.h"
#include "postgres/database_config.h"
#include "services/auth/authenticator.h"
#include "services/auth/password_hasher.h"
#include "storage/api_key_repository.h"
#include "storage/database_admin.h"
#include "storage/migration_runner.h"
#include "storage/user_repository.h"

namespace plantmon {
namespace {

constexpr char kUsage[] =
    "usage: plantmon_db <command>\n"
    "  init          create the database if missing, then apply migrations\n"
    "  migrate       apply pending migrations\n"
    "  status        show applied and pending migrations\n"
    "  seed          load the demo data (safe to repeat)\n"
    "  reset --yes   drop all tables and data, then apply migrations\n"
    "  grant-admin EMAIL    make the account an administrator\n"
    "  revoke-admin EMAIL   take administrator rights away\n"
    "  api-key EMAIL NAME   print a new API key of the account named NAME, revoking\n"
    "                       its earlier keys of that name (the MQTT bridge's key)\n"
    "Connection: POSTGRES_DB_HOST, _PORT, _USER, _PASSWORD, _NAME (environment or ./.env)\n";

constexpr char kDemoPassword[] = "plantmon-demo";

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "plantmon_db: %s\n", status.ToString().c_str());
  return 1;
}

int Migrate(postgres::ConnectionPool& pool) {
  absl::StatusOr<std::vector<storage::Migration>> applied =
      storage::ApplyMigrations(pool, storage::BuiltInMigrations());
  if (!applied.ok()) return Fail(applied.status());
  if (applied->empty()) {
    std::printf("schema is up to date\n");
  }
  for (const storage::Migration& migration : *applied) {
    std::printf("applied %s\n", migration.name.c_str());
  }
  return 0;
}

int Status(postgres::ConnectionPool& pool) {
  absl::StatusOr<storage::MigrationStatus> status =
      storage::GetMigrationStatus(pool, storage::BuiltInMigrations());
  if (!status.ok()) return Fail(status.status());
  for (const storage::AppliedMigration& migration : status->applied) {
    std::printf("applied  %s  %s\n", migration.name.c_str(),
                absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", migration.applied_at, absl::UTCTimeZone())
                    .c_str());
  }
  for (const storage::Migration& migration : status->pending) {
    std::printf("pending  %s\n", migration.name.c_str());
  }
  std::printf("%zu applied, %zu pending\n", status->applied.size(), status->pending.size());
  return 0;
}

int Seed(postgres::ConnectionPool& pool) {
  if (absl::Status current = storage::CheckSchemaIsCurrent(pool, storage::BuiltInMigrations());
      !current.ok()) {
    return Fail(current);
  }
  absl::StatusOr<auth::PasswordHasher> hasher = auth::PasswordHasher::Create();
  if (!hasher.ok()) return Fail(hasher.status());
  absl::StatusOr<std::string> hash = hasher->Hash(kDemoPassword);
  if (!hash.ok()) return Fail(hash.status());
  if (absl::Status seeded = storage::SeedDemoData(pool, *hash); !seeded.ok()) {
    return Fail(seeded);
  }
  std::printf("demo data loaded; sign in as %s (or %s) with password %s\n", storage::kDemoUserEmail,
              storage::kDemoUserName, kDemoPassword);
  return 0;
}

// Prints only the secret on stdout, for scripts: KEY=$(plantmon_db api-key ...).
int IssueApiKey(postgres::ConnectionPool& pool, const std::string& email, const std::string& name) {
  storage::UserRepository users(pool);
  absl::StatusOr<storage::UserRecord> user = users.FindByLogin(email);
  if (!user.ok()) return Fail(user.status());
  storage::ApiKeyRepository keys(pool);
  absl::StatusOr<int64_t> revoked = keys.RevokeNamed(user->user.id(), name);
  if (!revoked.ok()) return Fail(revoked.status());
  absl::StatusOr<auth::MintedApiKey> minted = auth::MintApiKey();
  if (!minted.ok()) return Fail(minted.status());
  absl::StatusOr<storage::ApiKey> key =
      keys.Create(user->user.id(), name, minted->prefix, minted->secret_sha256);
  if (!key.ok()) return Fail(key.status());
  std::printf("%s\n", minted->secret.c_str());
  return 0;
}

int Run(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  std::vector<std::string> arguments(argv + 2, argv + argc);

  absl::StatusOr<postgres::EnvLookup> env = postgres::EnvWithDotEnv(".env");
  if (!env.ok()) return Fail(env.status());
  absl::StatusOr<postgres::DatabaseConfig> config = postgres::DatabaseConfigFromEnv(*env);
  if (!config.ok()) return Fail(config.status());
  config->pool_size = 1;
  config->max_overflow = 0;

  if (command == "init") {
    absl::StatusOr<bool> created = storage::CreateDatabaseIfMissing(*config);
    if (!created.ok()) return Fail(created.status());
    std::printf("%s database %s\n", *created ? "created" : "found",
                postgres::DatabaseUrl(*config).c_str());
  } else if (command != "migrate" && command != "status" && command != "seed" &&
             command != "reset" && command != "grant-admin" && command != "revoke-admin" &&
             command != "api-key") {
    std::fprintf(stderr, "plantmon_db: unknown command \"%s\"\n%s", command.c_str(), kUsage);
    return 2;
  }
  if (command == "reset" && (arguments.size() != 1 || arguments[0] != "--yes")) {
    std::fprintf(stderr,
                 "plantmon_db: reset deletes every table and all data in %s; "
                 "run `plantmon_db reset --yes` to confirm\n",
                 postgres::DatabaseUrl(*config).c_str());
    return 2;
  }

  absl::StatusOr<std::unique_ptr<postgres::ConnectionPool>> pool =
      postgres::ConnectionPool::Create(*config);
  if (!pool.ok()) return Fail(pool.status());

  if (command == "grant-admin" || command == "revoke-admin") {
    if (arguments.size() != 1) {
      std::fprintf(stderr, "plantmon_db: usage: plantmon_db %s EMAIL\n", command.c_str());
      return 2;
    }
    bool grant = command == "grant-admin";
    storage::UserRepository users(**pool);
    if (absl::Status set = users.SetAdmin(arguments[0], grant); !set.ok()) {
      return Fail(set);
    }
    std::printf("%s is %s an administrator\n", arguments[0].c_str(), grant ? "now" : "no longer");
    return 0;
  }
  if (command == "api-key") {
    if (arguments.size() != 2 || arguments[1].empty() || arguments[1].size() > 100) {
      std::fprintf(stderr, "plantmon_db: usage: plantmon_db api-key EMAIL NAME (1-100 bytes)\n");
      return 2;
    }
    return IssueApiKey(**pool, arguments[0], arguments[1]);
  }
  if (command == "init" || command == "migrate") return Migrate(**pool);
  if (command == "status") return Status(**pool);
  if (command == "seed") return Seed(**pool);
  // reset
  if (absl::Status dropped = storage::DropAllObjects(**pool); !dropped.ok()) {
    return Fail(dropped);
  }
  std::printf("dropped all tables in %s\n", postgres::DatabaseUrl(*config).c_str());
  return Migrate(**pool);
}

}  // namespace
}  // namespace plantmon

int main(int argc, char** argv) { return plantmon::Run(argc, argv); }
