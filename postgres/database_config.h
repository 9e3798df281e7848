#ifndef PLANTMON_POSTGRES_DATABASE_CONFIG_H_
#define PLANTMON_POSTGRES_DATABASE_CONFIG_H_

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace plantmon::postgres {

// Connection and pool settings. Defaults: docs/data-model.md
// (configuration and the pool) and the README's table.
struct DatabaseConfig {
  // One host, or several separated by commas (libpq tries them in order);
  // `ports`, when set, gives each its port the same way and replaces `port`.
  std::string host = "localhost";
  int port = 5432;
  std::string ports;
  // libpq's target_session_attrs ("standby" for a read pool); empty: any.
  std::string target_session_attrs;
  std::string user = "iot_user";
  std::string password = "iot_password";
  std::string dbname = "iot_plant_db";

  // Connections kept open (10 by default).
  int pool_size = 10;
  // Extra connections opened on demand and closed when returned (20 by default).
  int max_overflow = 20;
  // How long Acquire() waits for a free connection before RESOURCE_EXHAUSTED.
  absl::Duration acquire_timeout = absl::Seconds(30);
  // Connections older than this are closed and replaced (1 hour by default).
  absl::Duration max_lifetime = absl::Hours(1);
  // libpq connect_timeout.
  absl::Duration connect_timeout = absl::Seconds(5);
};

// Looks a variable up by name; returns nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Reads the process environment.
std::optional<std::string> ProcessEnv(const std::string& name);

// Parses the KEY=VALUE lines of a .env file: blank lines and `#` comments are
// skipped, an optional `export ` prefix is allowed and one pair of matching
// quotes around the value is removed. A line without `=` is an error that
// names its line number.
absl::StatusOr<std::map<std::string, std::string>> ParseDotEnv(const std::string& contents);

// Layers the process environment over a .env file at `dotenv_path` (the
// environment wins). A missing file is not an error.
absl::StatusOr<EnvLookup> EnvWithDotEnv(const std::string& dotenv_path);

// Reads the integer variable `name`, if set, into `out`: INVALID_ARGUMENT
// naming it unless it is an integer in [min_value, max_value].
absl::Status ReadInt(const EnvLookup& env, const std::string& name, int min_value, int max_value,
                     int& out);

// Builds the configuration from POSTGRES_DB_{HOST,PORT,USER,PASSWORD,NAME} and
// PLANTMON_DB_POOL_{SIZE,MAX_OVERFLOW,TIMEOUT_MS,RECYCLE_SECONDS}. A malformed
// value is INVALID_ARGUMENT naming the variable. POSTGRES_DB_HOST may list
// several "host[:port]" separated by commas (ports default to
// POSTGRES_DB_PORT): connections then go to whichever accepts writes
// (target_session_attrs=read-write), so after a failover the new primary is
// found without a change of configuration.
absl::StatusOr<DatabaseConfig> DatabaseConfigFromEnv(const EnvLookup& env);

// The hot standbys of POSTGRES_DB_READ_HOSTS ("host[:port],..." with the
// primary's port by default), as a configuration like `primary` (same user,
// password, database and pool settings) that connects only to a server in
// recovery. nullopt when the variable is unset or empty; INVALID_ARGUMENT
// naming it when malformed.
absl::StatusOr<std::optional<DatabaseConfig>> StandbyConfigFromEnv(const EnvLookup& env,
                                                                   const DatabaseConfig& primary);

// The database URL for logs and the CLI: postgresql://user:***@host:port/db, with the
// password masked unless `reveal_password` is set.
std::string DatabaseUrl(const DatabaseConfig& config, bool reveal_password = false);

// A libpq keyword/value connection string with every value quoted, so that
// spaces, quotes or backslashes in a password cannot change its meaning.
std::string LibpqConnectionString(const DatabaseConfig& config);

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_DATABASE_CONFIG_H_
