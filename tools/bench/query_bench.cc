// Query benchmark: ListSensorData of 24 hours (1,440 readings) of one device
// in a sensor_data table of --rows rows, latency measured by a gRPC client,
// beside the same query run directly through the storage layer
// (TelemetryRepository::List, the SQL the server runs) in the same run; then
// ListPlants, a page of 50, beside its statement on a plain connection.
//
// With --grow_to, the table then grows to that many rows with readings of
// earlier weeks, and the same queries (same devices, same days) are measured
// again: how listing one day scales with the table (docs/scaling.md). The
// weeks are laid out in partitions as a deployment that has run that long has
// them (bench::PartitionWeeksSince).
//
// Needs a running plantmon_server (--port) and its database in POSTGRES_DB_*;
// tools/bench/run_query.sh sets that up.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "plantmon/v1/plant.grpc.pb.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "postgres/connection_pool.h"
#include "postgres/database_config.h"
#include "storage/plant_repository.h"
#include "storage/telemetry_repository.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(int, port, 50051, "plantmon_server port");
ABSL_FLAG(int64_t, rows, 10080000, "rows in sensor_data (devices x minutes)");
ABSL_FLAG(int, devices, 1000, "devices");
ABSL_FLAG(int, iterations, 300, "queries per method");
ABSL_FLAG(int64_t, grow_to, 0, "then grow sensor_data to this many rows and measure again");
ABSL_FLAG(bool, warm_first, true,
          "read each day once, untimed, before the timed ListSensorData paths");

namespace {

using ::plantmon::bench::Percentile;
using ::plantmon::bench::PrintLatency;

// ListPlants, a page of 50 of the user's 60 plants, over gRPC beside the
// statement the server runs (PlantRepository::ListPlantsStatement) on a plain
// connection. Returns the number of wrong answers.
int MeasurePlantPages(const plantmon::postgres::DatabaseConfig& config,
                      const std::shared_ptr<grpc::Channel>& channel,
                      const plantmon::v1::LoginResponse& login, int iterations) {
  pqxx::connection connection(plantmon::postgres::LibpqConnectionString(config));
  {
    pqxx::work setup(connection);
    const auto species =
        setup
            .exec1(
                "INSERT INTO plant_types (name) VALUES ('Query bench fern') "
                "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id")[0]
            .as<int64_t>();
    setup.exec_params(
        "INSERT INTO plants (user_id, plant_type_id, plant_name, location, notes) "
        "SELECT $1, $2, 'Plant ' || i, 'Window ' || i % 4, 'Water when dry' "
        "FROM generate_series(1, 60) i",
        login.user().id(), species);
    setup.commit();
  }
  auto plants = plantmon::v1::PlantService::NewStub(channel);
  const std::string statement = plantmon::storage::PlantRepository::ListPlantsStatement();
  int wrong = 0;
  std::vector<double> grpc_ms;
  std::vector<double> sql_ms;
  for (int i = 0; i < iterations + 20; ++i) {  // the first 20 warm up
    plantmon::v1::ListPlantsRequest request;
    request.set_page_size(50);
    plantmon::v1::ListPlantsResponse response;
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + login.access_token());
    absl::Time before = absl::Now();
    grpc::Status status = plants->ListPlants(&context, request, &response);
    double took = absl::ToDoubleMilliseconds(absl::Now() - before);
    if (!status.ok() || response.plants_size() != 50 || response.next_page_token().empty()) {
      ++wrong;
    }
    if (i >= 20) grpc_ms.push_back(took);

    before = absl::Now();
    {
      pqxx::nontransaction raw(connection);
      // What the server asks for: the page plus one, to know whether more follow.
      pqxx::result rows =
          raw.exec_params(statement, login.user().id(), 0, std::optional<bool>(),
                          std::optional<int64_t>(), std::optional<std::string>(), 51);
      if (rows.size() != 51) ++wrong;
    }
    took = absl::ToDoubleMilliseconds(absl::Now() - before);
    if (i >= 20) sql_ms.push_back(took);
  }
  PrintLatency("ListPlants over gRPC (page of 50):         ", grpc_ms);
  PrintLatency("the same SQL on a plain connection:        ", sql_ms);
  std::printf("gRPC p50 / plain SQL p50: %.2fx\n",
              Percentile(grpc_ms, 0.5) / Percentile(sql_ms, 0.5));
  return wrong;
}

}  // namespace

// A tool that meets an unexpected libpqxx or gRPC exception should stop with
// it (std::terminate prints its what()), not carry on with half a setup.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int device_count = absl::GetFlag(FLAGS_devices);
  const int64_t minutes = absl::GetFlag(FLAGS_rows) / device_count;
  const plantmon::postgres::DatabaseConfig config = plantmon::bench::DatabaseConfigOrExit();

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)),
                                     grpc::InsecureChannelCredentials());
  std::optional<plantmon::v1::LoginResponse> signed_in =
      plantmon::bench::SignUpAndLogin(channel, "querybench", "bench-password");
  if (!signed_in) return 1;
  const plantmon::v1::LoginResponse login = *signed_in;
  const int64_t user_id = login.user().id();

  // One reading a minute per device, ending now.
  const int64_t end_seconds = absl::ToUnixSeconds(absl::Now()) / 60 * 60;
  const int64_t start_seconds = end_seconds - minutes * 60;
  const int64_t grow_to = absl::GetFlag(FLAGS_grow_to);
  constexpr int64_t kWeekMinutes = 7 * 1440;
  // Whole weeks of earlier readings, enough to reach grow_to.
  const int64_t earlier_weeks =
      grow_to > 0 ? (grow_to / device_count - minutes + kWeekMinutes - 1) / kWeekMinutes : 0;
  if (earlier_weeks > 0) {
    plantmon::bench::PartitionWeeksSince(
        config, absl::FromUnixSeconds(start_seconds - earlier_weeks * kWeekMinutes * 60));
  }
  const std::vector<int64_t> device_ids = plantmon::bench::FillMinuteReadings(
      config, user_id, "QB", device_count, start_seconds, minutes);

  auto telemetry = plantmon::v1::TelemetryService::NewStub(channel);
  plantmon::postgres::DatabaseConfig pool_config = config;
  pool_config.pool_size = 1;
  pool_config.max_overflow = 0;
  auto pool = plantmon::postgres::ConnectionPool::Create(pool_config);
  if (!pool.ok()) return 1;
  plantmon::storage::TelemetryRepository repository(**pool);
  pqxx::connection raw_connection(plantmon::postgres::LibpqConnectionString(config));
  const int iterations = absl::GetFlag(FLAGS_iterations);
  int wrong = 0;

  // The server's listing statement on the plain connection; the rows it
  // returned.
  auto plain_sql = [&](int64_t device, int64_t from) {
    pqxx::nontransaction raw(raw_connection);
    return raw
        .exec_params(plantmon::storage::TelemetryRepository::ListStatement(false), device,
                     from * 1000000, (from + 86400) * 1000000, std::optional<int64_t>(),
                     std::optional<int64_t>(), 1441, std::optional<int>(), false, user_id,
                     std::optional<std::string>())
        .size();
  };
  const bool warm_first = absl::GetFlag(FLAGS_warm_first);

  // The same queries each time: a random device and a random whole day of
  // the first fill, from the same seed. Returns the gRPC p50.
  auto measure = [&](const char* label) {
    std::mt19937_64 random(1);
    std::uniform_int_distribution<int> pick_device(0, device_count - 1);
    std::uniform_int_distribution<int64_t> pick_day(0, minutes / 1440 - 1);
    std::vector<double> grpc_ms;
    std::vector<double> direct_ms;
    std::vector<double> sql_ms;
    for (int i = 0; i < iterations + 20; ++i) {  // the first 20 warm up
      const int64_t device = device_ids[pick_device(random)];
      const int64_t from = start_seconds + pick_day(random) * 86400;
      // The day's pages read once, untimed, so that the three timed paths
      // find the same pages in PostgreSQL's cache (the first to ask for a
      // random day otherwise pays for bringing them in, and that was gRPC).
      if (warm_first && plain_sql(device, from) != 1440) ++wrong;
      plantmon::v1::ListSensorDataRequest request;
      request.set_device_id(device);
      request.mutable_start_time()->set_seconds(from);
      request.mutable_end_time()->set_seconds(from + 86400);
      request.set_page_size(1440);
      plantmon::v1::ListSensorDataResponse response;
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + login.access_token());
      absl::Time before = absl::Now();
      grpc::Status status = telemetry->ListSensorData(&context, request, &response);
      double took = absl::ToDoubleMilliseconds(absl::Now() - before);
      if (!status.ok() || response.sensor_data_size() != 1440) ++wrong;
      if (i >= 20) grpc_ms.push_back(took);

      plantmon::storage::ReadingQuery query;
      query.device_id = device;
      query.start_time = absl::FromUnixSeconds(from);
      query.end_time = absl::FromUnixSeconds(from + 86400);
      query.limit = 1441;  // what the server asks for: a page plus one
      before = absl::Now();
      auto direct = repository.List(user_id, query);
      took = absl::ToDoubleMilliseconds(absl::Now() - before);
      if (!direct.ok() || direct->size() != 1440) ++wrong;
      if (i >= 20) direct_ms.push_back(took);

      // The same SQL on a plain connection: the database's share.
      before = absl::Now();
      if (plain_sql(device, from) != 1440) ++wrong;
      took = absl::ToDoubleMilliseconds(absl::Now() - before);
      if (i >= 20) sql_ms.push_back(took);
    }
    std::printf("%s\n", label);
    PrintLatency("ListSensorData over gRPC (1440 readings): ", grpc_ms);
    PrintLatency("same query through storage directly:      ", direct_ms);
    PrintLatency("the same SQL on a plain connection:        ", sql_ms);
    std::printf("gRPC p50 / plain SQL p50: %.2fx\n",
                Percentile(grpc_ms, 0.5) / Percentile(sql_ms, 0.5));
    return Percentile(grpc_ms, 0.5);
  };

  const double first_p50 = measure(absl::StrCat("at ", device_count * minutes, " rows:").c_str());
  wrong += MeasurePlantPages(config, channel, login, iterations);
  if (earlier_weeks > 0) {
    for (int64_t week = 1; week <= earlier_weeks; ++week) {
      plantmon::bench::FillMinuteReadings(config, user_id, "QB", device_count,
                                          start_seconds - week * kWeekMinutes * 60, kWeekMinutes);
    }
    const int64_t rows = device_count * (minutes + earlier_weeks * kWeekMinutes);
    const double grown_p50 = measure(absl::StrCat("at ", rows, " rows:").c_str());
    std::printf("gRPC p50 at %s rows / at %s rows: %.2fx\n", absl::StrCat(rows).c_str(),
                absl::StrCat(device_count * minutes).c_str(), grown_p50 / first_p50);
  }
  std::printf("iterations: %d per measurement, wrong answers: %d\n", iterations, wrong);
  return wrong == 0 ? 0 : 1;
}
