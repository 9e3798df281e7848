#ifndef PLANTMON_SERVICES_BACKENDS_H_
#define PLANTMON_SERVICES_BACKENDS_H_

// What the services are built on: the repositories over one connection pool,
// the alert listener, password hashing and authentication. One set per
// server, shared by all its services.

#include <optional>

#include "absl/time/time.h"
#include "notify/webhook_http.h"
#include "postgres/database_config.h"
#include "services/auth/authenticator.h"
#include "services/auth/password_hasher.h"
#include "storage/alert_listener.h"
#include "storage/alert_repository.h"
#include "storage/api_key_repository.h"
#include "storage/catalog_repository.h"
#include "storage/device_repository.h"
#include "storage/ingest_repository.h"
#include "storage/notification_repository.h"
#include "storage/plant_repository.h"
#include "storage/telemetry_repository.h"
#include "storage/user_repository.h"

namespace plantmon::services {

struct Backends {
  Backends(postgres::ConnectionPool& pool, const postgres::DatabaseConfig& database,
           auth::PasswordHasher password_hasher, absl::Duration token_lifetime)
      : users(pool),
        api_keys(pool),
        catalog(pool),
        devices(pool),
        plants(pool),
        alerts(pool),
        telemetry(pool),
        ingest(pool),
        notifications(pool),
        hasher(password_hasher),
        authenticator(users, api_keys, token_lifetime),
        listener(database) {}

  storage::UserRepository users;
  storage::ApiKeyRepository api_keys;
  storage::CatalogRepository catalog;
  storage::DeviceRepository devices;
  storage::PlantRepository plants;
  storage::AlertRepository alerts;
  storage::TelemetryRepository telemetry;
  storage::IngestRepository ingest;
  storage::NotificationRepository notifications;
  // Where channels may send webhooks (checked when a channel is written).
  notify::UrlPolicy webhook_urls;
  // How long raw readings are kept, if not forever: older ones are refused
  // (storage/partition_keeper.h).
  std::optional<absl::Duration> raw_retention;
  auth::PasswordHasher hasher;
  auth::Authenticator authenticator;
  // Last: destroyed first, so its thread never calls into the cache above.
  storage::AlertListener listener;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_BACKENDS_H_
