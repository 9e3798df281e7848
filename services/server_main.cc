// plantmon_server: serves the Plantmon gRPC API.
//
// Configuration: POSTGRES_DB_* and PLANTMON_DB_POOL_* (environment or ./.env),
// PLANTMON_LISTEN_ADDR (default 127.0.0.1:50051), PLANTMON_BCRYPT_COST (12),
// PLANTMON_TOKEN_TTL_SECONDS (86400), PLANTMON_TLS_CERT / PLANTMON_TLS_KEY
// (PEM files: serve TLS) and PLANTMON_TLS_CLIENT_CA (also require client
// certificates signed by it), PLANTMON_MAX_CONCURRENT_CALLS (256),
// PLANTMON_MAX_QUEUED_LOGINS (64), PLANTMON_MAX_OPEN_STREAMS (500),
// PLANTMON_MAX_STREAMS_PER_USER (16), PLANTMON_MAX_UNREAD_RESPONSE_MIB (64) and
// PLANTMON_MAX_UNREAD_RESPONSE_MIB_PER_CONNECTION (16),
// PLANTMON_ALERT_EVENT_RETENTION_DAYS (7),
// PLANTMON_SWEEP_INTERVAL_SECONDS (10: how often rules over time are judged),
// POSTGRES_DB_READ_HOSTS (unset: no standby; "host[:port],...": hot standbys
// that answer ListSensorData and AggregateSensorData while they lag at most
// PLANTMON_READ_MAX_LAG_MS, 1000),
// PLANTMON_RAW_RETENTION_DAYS (0: raw readings are kept forever; otherwise
// older readings are refused and their weekly partitions dropped),
// PLANTMON_METRICS_ADDR (unset: no metrics endpoint; a bare port is on
// 127.0.0.1).
// Flags: --migrate applies
// pending migrations at start-up. SIGTERM/SIGINT shut down gracefully.

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "metrics/http_endpoint.h"
#include "postgres/database_config.h"
#include "services/server.h"

namespace {

// True when OK; otherwise says why on stderr (a configuration error).
bool Reported(const absl::Status& status) {
  if (status.ok()) return true;
  std::fprintf(stderr, "plantmon: %s\n", status.ToString().c_str());
  return false;
}

int Run(int argc, char** argv) {
  plantmon::services::ServerOptions options;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--migrate") == 0) {
      options.migrate = true;
    } else {
      std::fprintf(stderr, "usage: plantmon_server [--migrate]\n");
      return 2;
    }
  }
  absl::StatusOr<plantmon::postgres::EnvLookup> env = plantmon::postgres::EnvWithDotEnv(".env");
  if (!Reported(env.status())) return 1;
  absl::StatusOr<plantmon::postgres::DatabaseConfig> database =
      plantmon::postgres::DatabaseConfigFromEnv(*env);
  if (!Reported(database.status())) return 1;
  options.database = *database;
  absl::StatusOr<std::optional<plantmon::postgres::DatabaseConfig>> standby =
      plantmon::postgres::StandbyConfigFromEnv(*env, *database);
  if (!Reported(standby.status())) return 1;
  options.standby_database = *standby;
  absl::StatusOr<plantmon::services::CallLimits> limits =
      plantmon::services::CallLimitsFromEnv(*env);
  if (!Reported(limits.status())) return 1;
  options.limits = *limits;
  if (std::optional<std::string> address = (*env)("PLANTMON_LISTEN_ADDR")) {
    options.listen_address = *address;
  }
  options.tls_cert_file = (*env)("PLANTMON_TLS_CERT").value_or("");
  options.tls_key_file = (*env)("PLANTMON_TLS_KEY").value_or("");
  options.tls_client_ca_file = (*env)("PLANTMON_TLS_CLIENT_CA").value_or("");
  int token_ttl_seconds = static_cast<int>(absl::ToInt64Seconds(options.token_lifetime));
  int retention_days = static_cast<int>(absl::ToInt64Hours(options.alert_event_retention) / 24);
  int sweep_seconds = static_cast<int>(absl::ToInt64Seconds(options.sweep_interval));
  int raw_retention_days = 0;
  int read_max_lag_ms = static_cast<int>(absl::ToInt64Milliseconds(options.standby_reads.max_lag));
  // Webhooks (docs/notifications.md): this process delivers them.
  options.webhooks.deliver = true;
  int allow_http = 0;
  int allow_private = 0;
  int webhook_timeout_seconds = static_cast<int>(absl::ToInt64Seconds(options.webhooks.timeout));
  using plantmon::postgres::ReadInt;
  if (!Reported(ReadInt(*env, "PLANTMON_BCRYPT_COST", 10, 31, options.bcrypt_cost)) ||
      !Reported(ReadInt(*env, "PLANTMON_TOKEN_TTL_SECONDS", 60, 365 * 86400, token_ttl_seconds)) ||
      !Reported(ReadInt(*env, "PLANTMON_ALERT_EVENT_RETENTION_DAYS", 1, 3650, retention_days)) ||
      !Reported(ReadInt(*env, "PLANTMON_SWEEP_INTERVAL_SECONDS", 1, 3600, sweep_seconds)) ||
      !Reported(ReadInt(*env, "PLANTMON_RAW_RETENTION_DAYS", 0, 36500, raw_retention_days)) ||
      !Reported(ReadInt(*env, "PLANTMON_READ_MAX_LAG_MS", 1, 3600000, read_max_lag_ms)) ||
      !Reported(ReadInt(*env, "PLANTMON_WEBHOOK_ALLOW_HTTP", 0, 1, allow_http)) ||
      !Reported(ReadInt(*env, "PLANTMON_WEBHOOK_ALLOW_PRIVATE", 0, 1, allow_private)) ||
      !Reported(
          ReadInt(*env, "PLANTMON_WEBHOOK_TIMEOUT_SECONDS", 1, 300, webhook_timeout_seconds)) ||
      !Reported(
          ReadInt(*env, "PLANTMON_WEBHOOK_MAX_ATTEMPTS", 1, 100, options.webhooks.max_attempts))) {
    return 1;
  }
  options.webhooks.url_policy.allow_http = allow_http == 1;
  options.webhooks.url_policy.allow_private = allow_private == 1;
  options.webhooks.timeout = absl::Seconds(webhook_timeout_seconds);
  options.token_lifetime = absl::Seconds(token_ttl_seconds);
  options.alert_event_retention = absl::Hours(24) * retention_days;
  options.sweep_interval = absl::Seconds(sweep_seconds);
  options.standby_reads.max_lag = absl::Milliseconds(read_max_lag_ms);
  if (raw_retention_days > 0) {
    options.partitions.policy.raw_retention = absl::Hours(24) * raw_retention_days;
  }

  // Metrics (docs/operations.md): off unless PLANTMON_METRICS_ADDR is set.
  std::unique_ptr<plantmon::metrics::MetricsEndpoint> metrics;
  if (std::optional<std::string> address = (*env)("PLANTMON_METRICS_ADDR");
      address.has_value() && !address->empty()) {
    absl::StatusOr<std::unique_ptr<plantmon::metrics::MetricsEndpoint>> started =
        plantmon::metrics::MetricsEndpoint::Start(*address, plantmon::metrics::DefaultRegistry());
    if (!Reported(started.status())) return 1;
    metrics = *std::move(started);
    options.record_metrics = true;
    std::fprintf(stderr, "plantmon: metrics on port %d (GET /metrics)\n", metrics->port());
  }

  // Block the shutdown signals in every thread; main waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<plantmon::services::PlantmonServer>> server =
      plantmon::services::PlantmonServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "plantmon: cannot start: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "plantmon: serving on port %d (database %s)\n", (*server)->port(),
               plantmon::postgres::DatabaseUrl(options.database).c_str());
  std::fflush(stderr);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "plantmon: %s received, shutting down\n", strsignal(signal_number));
  (*server)->Shutdown();
  (*server)->Wait();
  std::fprintf(stderr, "plantmon: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
