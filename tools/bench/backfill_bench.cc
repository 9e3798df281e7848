// Migrations 0011-0013 on a sensor_data table of millions of rows while a
// gateway-like writer keeps inserting: how long the migrations take, and how
// long ingest is held off (the writer's slowest batch while they run, against
// its batches before). Run through tools/bench/run_backfill.sh; figures go to
// docs/benchmarks.md.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "postgres/connection_pool.h"
#include "postgres/database_config.h"
#include "storage/migration_runner.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(int64_t, rows, 5000000, "readings in sensor_data before the migrations");
ABSL_FLAG(int, devices, 1000, "devices the readings belong to");
ABSL_FLAG(int, batch, 1000, "readings per committed ingest batch");

namespace {

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(p * static_cast<double>(values.size() - 1))];
}

}  // namespace

// A failed setup step throws and ends the benchmark (std::terminate prints
// its what()).
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const plantmon::postgres::DatabaseConfig config = plantmon::bench::DatabaseConfigOrExit();
  const int devices = absl::GetFlag(FLAGS_devices);
  const int batch = absl::GetFlag(FLAGS_batch);
  auto pool = plantmon::postgres::ConnectionPool::Create(config);
  if (!pool.ok()) return 1;
  if (!plantmon::storage::ApplyMigrations(**pool, plantmon::storage::BuiltInMigrationsBefore(11))
           .ok()) {
    return 1;
  }
  pqxx::connection setup_connection(plantmon::postgres::LibpqConnectionString(config));
  {
    pqxx::nontransaction setup(setup_connection);
    setup.exec(
        "INSERT INTO users (email, username, password_hash) VALUES ('bf@example.com', 'bf', 'x');"
        "INSERT INTO manufacturers (name) VALUES ('BF');"
        "INSERT INTO device_types (manufacturer_id, name, device_type, data_unit) "
        "SELECT id, 'BF probe', 'sensor', '%' FROM manufacturers;"
        "INSERT INTO plant_types (name) VALUES ('BF fern');");
    setup.exec_params(
        "INSERT INTO devices (user_id, device_type_id, unique_identifier, device_name) "
        "SELECT u.id, t.id, 'bf-' || g, 'BF ' || g FROM generate_series(1, $1) g, users u, "
        "device_types t",
        devices);
    // Half the devices assigned (the backfill's role branch), half not (its
    // type branch).
    setup.exec(
        "INSERT INTO plants (user_id, plant_type_id, plant_name) SELECT u.id, t.id, 'BF plant' "
        "FROM users u, plant_types t");
    setup.exec(
        "INSERT INTO plant_device_assignments (plant_id, device_id, assignment_type) "
        "SELECT p.id, d.id, 'soil_moisture' FROM plants p, devices d WHERE d.id % 2 = 0");
    const absl::Time fill_start = absl::Now();
    setup.exec_params(
        "INSERT INTO sensor_data (device_id, measurement_value, measurement_unit, \"timestamp\") "
        "SELECT 1 + g % $2, random() * 100, '%', "
        "now() - interval '30 days' + g * interval '1 millisecond' FROM generate_series(1, $1) g",
        absl::GetFlag(FLAGS_rows), devices);
    setup.exec("VACUUM ANALYZE sensor_data");
    std::printf("table: %lld readings of %d devices, filled in %.1f s\n",
                static_cast<long long>(absl::GetFlag(FLAGS_rows)), devices,
                absl::ToDoubleSeconds(absl::Now() - fill_start));
  }

  // The writer: COPY batches of `batch` rows, each its own transaction, as
  // the server's ingest commits them; timed one by one.
  std::atomic<bool> migrating{false};
  std::atomic<bool> stop{false};
  std::atomic<size_t> batches_before{0};
  std::vector<double> before_ms;
  std::vector<double> during_ms;
  std::thread writer([&] {
    pqxx::connection connection(plantmon::postgres::LibpqConnectionString(config));
    int64_t n = 0;
    while (!stop.load()) {
      const bool during = migrating.load();
      const absl::Time start = absl::Now();
      pqxx::work transaction(connection);
      pqxx::stream_to copy(transaction, "sensor_data",
                           std::vector<std::string>{"device_id", "measurement_value",
                                                    "measurement_unit", "timestamp"});
      for (int i = 0; i < batch; ++i, ++n) {
        copy << std::make_tuple(1 + n % devices, 42.0, std::string("%"),
                                std::string("2026-12-01 00:00:00+00"));
      }
      copy.complete();
      transaction.commit();
      (during ? during_ms : before_ms).push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
      if (!during) ++batches_before;
    }
  });
  while (batches_before.load() < 200) absl::SleepFor(absl::Milliseconds(10));
  migrating = true;
  const absl::Time migration_start = absl::Now();
  absl::StatusOr<std::vector<plantmon::storage::Migration>> applied =
      plantmon::storage::ApplyMigrations(**pool, plantmon::storage::BuiltInMigrations());
  const double migration_s = absl::ToDoubleSeconds(absl::Now() - migration_start);
  stop = true;
  writer.join();
  if (!applied.ok()) {
    std::printf("migrations failed: %s\n", applied.status().ToString().c_str());
    return 1;
  }
  pqxx::nontransaction check(setup_connection);
  const auto nulls =
      check.exec1("SELECT count(*) FROM sensor_data WHERE parameter_name IS NULL")[0].as<int64_t>();
  std::printf("migrations 0011-0013: %.1f s; rows left without a parameter: %lld\n", migration_s,
              static_cast<long long>(nulls));
  std::printf("ingest batches of %d before: %zu, p50 %.1f ms, max %.1f ms\n", batch,
              before_ms.size(), Percentile(before_ms, 0.5), Percentile(before_ms, 1.0));
  std::printf("ingest batches of %d during: %zu, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", batch,
              during_ms.size(), Percentile(during_ms, 0.5), Percentile(during_ms, 0.99),
              Percentile(during_ms, 1.0));
  return 0;
}
