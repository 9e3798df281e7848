#ifndef PLANTMON_SERVICES_SERVER_H_
#define PLANTMON_SERVICES_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sync.h"
#include "metrics/registry.h"
#include "notify/webhook_deliverer.h"
#include "postgres/connection_pool.h"
#include "postgres/database_config.h"
#include "services/backends.h"
#include "services/health_service.h"
#include "services/rpc_service.h"
#include "storage/alert_sweeper.h"
#include "storage/partition_keeper.h"
#include "storage/standby_reads.h"

namespace plantmon::services {

struct ServerOptions {
  // host:port; port 0 picks a free one (read it back with port()).
  std::string listen_address = "127.0.0.1:50051";
  postgres::DatabaseConfig database;
  // Apply pending migrations instead of refusing to serve an old schema.
  bool migrate = false;
  // How often the database is checked for the health service.
  absl::Duration health_check_interval = absl::Seconds(1);
  // bcrypt cost for new password hashes (10 at least).
  int bcrypt_cost = 12;
  // How long an access token from Login stays valid.
  absl::Duration token_lifetime = absl::Hours(24);
  // How long alert events stay for WatchAlerts' resume_after_event_id.
  absl::Duration alert_event_retention = absl::Hours(24 * 7);
  // How often the alert sweeper judges the rules over time, and how often a
  // server that is not sweeping tries to take over (storage/alert_sweeper.h).
  absl::Duration sweep_interval = absl::Seconds(10);
  absl::Duration sweep_takeover_interval = absl::Seconds(1);
  // sensor_data's weekly partitions: how far ahead they are made and how
  // long raw readings are kept (PLANTMON_RAW_RETENTION_DAYS; unset keeps
  // them all), and how often that is seen to (storage/partition_keeper.h).
  storage::PartitionKeeper::Options partitions;
  // Hot standbys for ListSensorData and AggregateSensorData
  // (POSTGRES_DB_READ_HOSTS; storage/standby_reads.h); unset: all reads on
  // the primary.
  std::optional<postgres::DatabaseConfig> standby_database;
  storage::StandbyReads::Options standby_reads;
  // One line per call (method, code, latency) on stderr.
  bool access_log = true;
  // Count calls and register this server's gauges in
  // metrics::DefaultRegistry (on when PLANTMON_METRICS_ADDR is set).
  bool record_metrics = false;
  // TLS: PEM files. With a certificate and key the server speaks only TLS;
  // with a client CA too, it also requires and verifies client certificates.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // What callers can hold at once (services/rpc_service.h).
  CallLimits limits;
  // Webhooks: where channels may point, and whether this process delivers
  // (notify/webhook_deliverer.h).
  notify::WebhookOptions webhooks;
  // HTTP/2 connection bounds (docs/reliability.md, "The HTTP/2 edge").
  struct Edge {
    // Concurrent streams one connection may open.
    int max_streams_per_connection = 100;
    // A connection with no call for this long is closed (GOAWAY).
    absl::Duration max_connection_idle = absl::Minutes(5);
    // Connections are asked to reconnect after this long; calls in flight get
    // the grace period to finish, then are cancelled.
    absl::Duration max_connection_age = absl::Hours(2);
    absl::Duration max_connection_age_grace = absl::Minutes(10);
    // Server keepalive pings find dead peers; clients may ping at most this
    // often without data (more is a strike; two strikes close the connection).
    absl::Duration keepalive_time = absl::Minutes(1);
    absl::Duration keepalive_timeout = absl::Seconds(20);
    absl::Duration min_client_ping_interval = absl::Seconds(10);
    // Request metadata (headers) larger than this is refused.
    int max_metadata_bytes = 16 * 1024;
  } edge;
};

// The gRPC server: reflection, grpc.health.v1.Health and the plantmon
// services over one connection pool. Health is SERVING only while the
// database answers and its schema is current; the server starts (NOT_SERVING)
// when the database is down and turns SERVING by itself once it is back.
class PlantmonServer {
 public:
  // Fails with FAILED_PRECONDITION when the database is reachable but its
  // schema is not current (and `migrate` is off), or was changed by hand.
  static absl::StatusOr<std::unique_ptr<PlantmonServer>> Start(const ServerOptions& options);

  ~PlantmonServer();

  int port() const { return port_; }
  // Stops accepting calls, lets calls in flight finish within `grace`, then
  // cancels the rest.
  void Shutdown(absl::Duration grace = absl::Seconds(10));
  // Blocks until the server has shut down.
  void Wait();
  // True while this server's alert sweeper is the one sweeping.
  bool sweeping() const { return sweeper_ != nullptr && sweeper_->sweeping(); }

 private:
  explicit PlantmonServer(ServerOptions options);

  // Brings the schema up to date (or checks it). OK once it is current.
  absl::Status PrepareSchema();
  void MonitorDatabase();
  // The pools' and the call runtime's gauges (record_metrics).
  void RegisterGauges();
  void CheckDatabaseOnce();

  const ServerOptions options_;
  std::unique_ptr<postgres::ConnectionPool> pool_;
  // Before the backends, whose telemetry repository reads through it.
  std::unique_ptr<storage::StandbyReads> standby_reads_;
  // The runtime before the backends: it is destroyed after them, so the
  // listener's thread (in the backends) never calls into a runtime gone.
  std::unique_ptr<CallRuntime> runtime_;
  std::unique_ptr<Backends> backends_;
  std::vector<std::unique_ptr<RpcService>> services_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  std::mutex mu_;  // std::mutex rather than absl::Mutex: see common/sync.h.
  bool schema_ready_ ABSL_GUARDED_BY(mu_) = false;
  common::Notification stop_monitor_;
  std::thread monitor_;
  std::unique_ptr<storage::AlertSweeper> sweeper_;
  std::unique_ptr<storage::PartitionKeeper> partition_keeper_;
  // The deliverer has a pool of its own: webhook work never waits for, or
  // takes, a connection a call needs.
  std::unique_ptr<postgres::ConnectionPool> webhook_pool_;
  std::unique_ptr<storage::NotificationRepository> webhook_repository_;
  std::unique_ptr<notify::WebhookDeliverer> deliverer_;
  // Last: removed before what they read goes.
  std::vector<metrics::GaugeHandle> gauges_;
  bool shut_down_ = false;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_SERVER_H_
