#include "services/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "plantmon/v1/alert.grpc.pb.h"
#include "plantmon/v1/device.grpc.pb.h"
#include "plantmon/v1/plant.grpc.pb.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "services/access_log.h"
#include "services/auth/password_hasher.h"
#include "services/plantmon_services.h"
#include "storage/migration_runner.h"

namespace plantmon::services {

namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  std::ifstream file(path);
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read the TLS ", what, " ", path));
  }
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// Insecure unless a certificate and key are configured.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& options) {
  if (options.tls_cert_file.empty() && options.tls_key_file.empty()) {
    if (!options.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError("a TLS client CA needs a server certificate and key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate and a key");
  }
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  absl::StatusOr<std::string> cert = ReadPem(options.tls_cert_file, "certificate");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(options.tls_key_file, "key");
  if (!key.ok()) return key.status();
  pair.cert_chain = *std::move(cert);
  pair.private_key = *std::move(key);
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!options.tls_client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(options.tls_client_ca_file, "client CA");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

// gRPC 1.51 stops accepting for good once accept() fails for want of file
// descriptors (the CVE-2023-4785 class); the soft limit is often 1,024 while
// the hard one is far higher, so the server takes all it may.
void RaiseFileLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

// Threads gRPC may start for synchronous methods (server reflection).
constexpr int kSynchronousThreads = 16;

// Connections of the pipelined reader. Reads queue on each back to back, so
// a few carry what the pool's ten did (one and two measured alike under
// h2load, docs/benchmarks.md, "Keyed reads in a pipeline"); with two, a read
// that waits (on a lock a migration holds, say) stalls only the reads queued
// behind it on its connection, while new ones go to the other.
constexpr int kPipelinedReadConnections = 2;

int Milliseconds(absl::Duration duration) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(duration), INT32_MAX));
}

void ApplyEdgeBounds(const ServerOptions::Edge& edge, grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, edge.max_streams_per_connection);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             Milliseconds(edge.max_connection_idle));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, Milliseconds(edge.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             Milliseconds(edge.max_connection_age_grace));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(edge.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Milliseconds(edge.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Milliseconds(edge.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, edge.max_metadata_bytes);
}

}  // namespace

PlantmonServer::PlantmonServer(ServerOptions options) : options_(std::move(options)) {}

PlantmonServer::~PlantmonServer() {
  Shutdown(absl::ZeroDuration());
  // gRPC has finished every call once the server is gone, but a stream may
  // have left a task on the executors that still uses the backends, which go
  // next.
  server_.reset();
  if (runtime_ != nullptr) runtime_->DrainExecutors();
}

absl::StatusOr<std::unique_ptr<PlantmonServer>> PlantmonServer::Start(
    const ServerOptions& options) {
  auto server = absl::WrapUnique(new PlantmonServer(options));
  absl::StatusOr<std::unique_ptr<postgres::ConnectionPool>> pool =
      postgres::ConnectionPool::Create(options.database);
  if (!pool.ok()) return pool.status();
  server->pool_ = *std::move(pool);

  absl::Status schema = server->PrepareSchema();
  if (!schema.ok()) {
    if (schema.code() != absl::StatusCode::kUnavailable) return schema;
    std::fprintf(stderr,
                 "plantmon: database %s is unreachable; serving NOT_SERVING "
                 "until it is back\n",
                 postgres::DatabaseUrl(options.database).c_str());
  }

  absl::StatusOr<auth::PasswordHasher> hasher = auth::PasswordHasher::Create(options.bcrypt_cost);
  if (!hasher.ok()) return hasher.status();
  server->backends_ =
      std::make_unique<Backends>(*server->pool_, options.database, *hasher, options.token_lifetime);
  server->backends_->webhook_urls = options.webhooks.url_policy;
  server->backends_->raw_retention = options.partitions.policy.raw_retention;
  if (options.standby_database.has_value()) {
    absl::StatusOr<std::unique_ptr<postgres::ConnectionPool>> standby_pool =
        postgres::ConnectionPool::Create(*options.standby_database);
    if (!standby_pool.ok()) return standby_pool.status();
    server->standby_reads_ = std::make_unique<storage::StandbyReads>(
        *server->pool_, *std::move(standby_pool), options.standby_reads);
    server->backends_->telemetry.ReadFromStandby(server->standby_reads_.get());
  }
  // One database thread per connection the pool keeps (pool_size), not per
  // connection it may open: the pool closes an overflow connection as soon
  // as it comes back, so a steady load above pool_size would open a new
  // connection (a SCRAM handshake) for every call. Profiled under h2load,
  // that was half of the server's CPU. Overflow connections remain for work
  // outside the executor (the database monitor, migrations, tools).
  // Keyed reads and list pages share a few pipelined connections
  // (postgres/pipelined_reader.h) on the primary: a read after the caller's
  // own write sees it.
  server->runtime_ = std::make_unique<CallRuntime>(
      server->backends_->authenticator, options.limits, options.database.pool_size,
      options.database.acquire_timeout,
      std::make_unique<postgres::PipelinedReader>(postgres::LibpqConnectionString(options.database),
                                                  kPipelinedReadConnections,
                                                  options.database.connect_timeout));
  Backends& backends = *server->backends_;
  CallRuntime& runtime = *server->runtime_;
  // Credential changes from any server process reach the cache at once, and
  // then the open streams the change concerns.
  backends.listener.SetCredentialHandler(
      [&runtime](const storage::AlertListener::CredentialChange& change) {
        runtime.OnCredentialChange(change);
      });
  server->services_.push_back(NewUserService(backends, runtime));
  server->services_.push_back(NewDeviceService(backends, runtime));
  server->services_.push_back(NewPlantService(backends, runtime));
  server->services_.push_back(NewAlertService(backends, runtime));
  server->services_.push_back(NewTelemetryService(backends, runtime));
  for (const std::unique_ptr<RpcService>& service : server->services_) {
    if (absl::Status complete = service->CheckComplete(); !complete.ok()) return complete;
  }
  server->health_ = std::make_unique<HealthService>(
      std::vector<std::string>{
          v1::UserService::service_full_name(), v1::DeviceService::service_full_name(),
          v1::PlantService::service_full_name(), v1::AlertService::service_full_name(),
          v1::TelemetryService::service_full_name()},
      options.limits.max_open_streams);

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = Credentials(options);
  if (!credentials.ok()) return credentials.status();

  RaiseFileLimit();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, *credentials, &server->port_);
  ApplyEdgeBounds(options.edge, builder);
  // Every plantmon method and health run on the callback API; only server
  // reflection (the library's) is synchronous, a thread per open stream.
  // Capped, so reflection cannot grow the thread count without bound: over
  // the cap gRPC answers RESOURCE_EXHAUSTED.
  grpc::ResourceQuota quota("plantmon");
  quota.SetMaxThreads(kSynchronousThreads);
  builder.SetResourceQuota(quota);
  builder.RegisterService(server->health_.get());
  for (const std::unique_ptr<RpcService>& service : server->services_) {
    builder.RegisterService(service.get());
  }
  // In order: the status fix-up runs first, so the access log shows the
  // code the client receives.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<MalformedRequestInterceptorFactory>());
  if (options.access_log) {
    interceptors.push_back(std::make_unique<AccessLogInterceptorFactory>());
  }
  if (options.record_metrics) {
    interceptors.push_back(std::make_unique<CallMetricsInterceptorFactory>());
  }
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address));
  }
  server->CheckDatabaseOnce();
  // WatchAlerts streams opened right after start should not miss changes
  // while the listener connects (skipped when the database is down).
  if (schema.ok()) server->backends_->listener.WaitUntilListening(absl::Seconds(5));
  server->monitor_ = std::thread([raw = server.get()] { raw->MonitorDatabase(); });
  if (options.webhooks.deliver) {
    postgres::DatabaseConfig webhook_database = options.database;
    webhook_database.pool_size = 2;
    webhook_database.max_overflow = 2;
    absl::StatusOr<std::unique_ptr<postgres::ConnectionPool>> webhook_pool =
        postgres::ConnectionPool::Create(webhook_database);
    if (!webhook_pool.ok()) return webhook_pool.status();
    server->webhook_pool_ = *std::move(webhook_pool);
    server->webhook_repository_ =
        std::make_unique<storage::NotificationRepository>(*server->webhook_pool_);
    server->deliverer_ =
        std::make_unique<notify::WebhookDeliverer>(*server->webhook_repository_, options.webhooks);
  }
  if (options.record_metrics) server->RegisterGauges();
  server->sweeper_ = std::make_unique<storage::AlertSweeper>(
      options.database,
      storage::AlertSweeper::Options{options.sweep_interval, options.sweep_takeover_interval});
  server->partition_keeper_ =
      std::make_unique<storage::PartitionKeeper>(options.database, options.partitions);
  return server;
}

void PlantmonServer::RegisterGauges() {
  metrics::Registry& registry = metrics::DefaultRegistry();
  auto pool_gauges = [&](const char* pool_name, postgres::ConnectionPool* pool) {
    const std::pair<const char*, int postgres::ConnectionPool::Stats::*> states[] = {
        {"in_use", &postgres::ConnectionPool::Stats::in_use},
        {"idle", &postgres::ConnectionPool::Stats::idle}};
    for (const auto& [state, field] : states) {
      gauges_.push_back(registry.Gauge(
          "plantmon_db_pool_connections",
          "PostgreSQL connections of a pool (calls: the serving pool; webhooks: the deliverer's), "
          "checked out (in_use) or waiting in the pool (idle).",
          {"pool", "state"}, {pool_name, state},
          [pool, field = field] { return static_cast<double>(pool->GetStats().*field); }));
    }
  };
  pool_gauges("calls", pool_.get());
  if (webhook_pool_ != nullptr) pool_gauges("webhooks", webhook_pool_.get());
  if (storage::StandbyReads* standby = standby_reads_.get(); standby != nullptr) {
    pool_gauges("standby", &standby->standby_pool());
    gauges_.push_back(registry.Gauge(
        "plantmon_replica_lag_seconds",
        "How far the hot standby of POSTGRES_DB_READ_HOSTS was behind the primary at the last "
        "check (a heartbeat, several times a second); -1 while it does not answer.",
        {}, {}, [standby] { return standby->lag_seconds(); }));
    gauges_.push_back(registry.Gauge(
        "plantmon_replica_usable",
        "1 while lag-tolerant reads go to the hot standby (it answers, is in recovery and lags at "
        "most PLANTMON_READ_MAX_LAG_MS), 0 while they go to the primary.",
        {}, {}, [standby] { return standby->usable() ? 1.0 : 0.0; }));
  }
  CallRuntime* runtime = runtime_.get();
  gauges_.push_back(
      registry.Gauge("plantmon_calls_in_flight", "Unary calls admitted and not yet answered.", {},
                     {}, [runtime] { return static_cast<double>(runtime->calls_in_flight()); }));
  gauges_.push_back(
      registry.Gauge("plantmon_calls_waiting",
                     "Unary calls waiting for a database thread (one per pooled connection).", {},
                     {}, [runtime] { return static_cast<double>(runtime->calls_waiting()); }));
  gauges_.push_back(registry.Gauge(
      "plantmon_keyed_reads_pending",
      "Keyed reads (GetPlant, GetDevice, ...) and list pages (ListPlants, ...) sent to the "
      "pipelined reader and not yet answered.",
      {}, {}, [runtime] { return static_cast<double>(runtime->keyed_reads_pending()); }));
  gauges_.push_back(registry.Gauge(
      "plantmon_open_streams", "Open StreamReadings, UploadReadings and WatchAlerts streams.", {},
      {}, [runtime] { return static_cast<double>(runtime->open_streams()); }));
  gauges_.push_back(registry.Gauge(
      "plantmon_unread_response_bytes",
      "Serialized bytes of unary responses held until clients read them "
      "(PLANTMON_MAX_UNREAD_RESPONSE_MIB bounds it).",
      {}, {}, [runtime] { return static_cast<double>(runtime->unread_response_bytes()); }));
}

absl::Status PlantmonServer::PrepareSchema() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (schema_ready_) return absl::OkStatus();
  }
  absl::Status status;
  if (options_.migrate) {
    absl::StatusOr<std::vector<storage::Migration>> applied =
        storage::ApplyMigrations(*pool_, storage::BuiltInMigrations());
    status = applied.status();
    if (applied.ok()) {
      for (const storage::Migration& migration : *applied) {
        std::fprintf(stderr, "plantmon: applied migration %s\n", migration.name.c_str());
      }
    }
  } else {
    status = storage::CheckSchemaIsCurrent(*pool_, storage::BuiltInMigrations());
  }
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    schema_ready_ = true;
  }
  return status;
}

void PlantmonServer::CheckDatabaseOnce() {
  absl::Status schema = PrepareSchema();
  bool serving = schema.ok() && pool_->Ping().ok();
  health_->SetServing(serving);
}

void PlantmonServer::MonitorDatabase() {
  // Idempotency keys only need to outlive gateway retries.
  constexpr absl::Duration kBatchKeyRetention = absl::Hours(24 * 7);
  constexpr absl::Duration kPurgeEvery = absl::Hours(1);
  absl::Time next_purge = absl::Now();
  while (!stop_monitor_.WaitForNotificationWithTimeout(options_.health_check_interval)) {
    CheckDatabaseOnce();
    if (absl::Now() >= next_purge) {
      absl::StatusOr<int64_t> purged = backends_->ingest.PurgeBatchKeys(kBatchKeyRetention);
      absl::StatusOr<int64_t> pruned =
          backends_->alerts.PruneEvents(options_.alert_event_retention);
      if (purged.ok() && pruned.ok()) next_purge = absl::Now() + kPurgeEvery;
    }
  }
}

void PlantmonServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (health_ != nullptr) health_->Shutdown();
  if (!stop_monitor_.HasBeenNotified()) stop_monitor_.Notify();
  if (monitor_.joinable()) monitor_.join();
  // Its lock goes with its connection, so another server takes over now.
  sweeper_.reset();
  partition_keeper_.reset();
  // An attempt in flight finishes (at most its timeout); the rest wait in
  // the outbox for the next deliverer.
  deliverer_.reset();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
  }
}

void PlantmonServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace plantmon::services
