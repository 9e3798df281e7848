// Unary benchmark: an authenticated keyed read (PlantService.GetPlant) beside
// the cheapest call the server answers (grpc.health.v1.Health/Check, no
// database), in the same run: latency one call at a time, then throughput
// with --clients closed-loop clients, each on its own connection.
//
// Needs a running plantmon_server (--port) and its database in POSTGRES_DB_*;
// tools/bench/run_unary.sh sets that up.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "plantmon/v1/plant.grpc.pb.h"
#include "postgres/database_config.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(int, port, 50051, "plantmon_server port");
ABSL_FLAG(int, iterations, 2000, "calls one at a time, per method");
ABSL_FLAG(int, clients, 8, "concurrent clients for the throughput phase");
ABSL_FLAG(int, seconds, 5, "length of each throughput phase");
ABSL_FLAG(bool, setup_only, false,
          "sign up, create the plant, print \"<token> <plant id>\" and stop (for h2load)");

namespace {

using ::plantmon::bench::Percentile;

std::shared_ptr<grpc::Channel> NewChannel(int port, int index) {
  grpc::ChannelArguments arguments;
  // A distinct argument per client, so that each gets a connection of its own.
  arguments.SetInt("plantmon.bench.client", index);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), arguments);
}

// One call of the method under test on `channel`; true if it succeeded.
using Call = std::function<bool(const std::shared_ptr<grpc::Channel>&)>;

std::vector<double> SequentialMicros(const Call& call,
                                     const std::shared_ptr<grpc::Channel>& channel,
                                     int iterations) {
  std::vector<double> micros;
  micros.reserve(iterations);
  for (int i = 0; i < iterations; ++i) {
    const absl::Time start = absl::Now();
    if (!call(channel)) {
      std::fprintf(stderr, "a call failed\n");
      std::exit(1);
    }
    micros.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
  }
  return micros;
}

double CallsPerSecond(const Call& call, int port, int clients, absl::Duration length) {
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> failed{0};
  std::vector<std::thread> threads;
  const absl::Time stop = absl::Now() + length;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      auto channel = NewChannel(port, i);
      while (absl::Now() < stop) {
        if (call(channel)) {
          done.fetch_add(1);
        } else {
          failed.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  if (failed.load() > 0) std::fprintf(stderr, "%lld calls failed\n", (long long)failed.load());
  return static_cast<double>(done.load()) / absl::ToDoubleSeconds(length);
}

}  // namespace

// A tool that meets an unexpected libpqxx or gRPC exception should stop with
// it (std::terminate prints its what()), not carry on with half a setup.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int port = absl::GetFlag(FLAGS_port);
  const plantmon::postgres::DatabaseConfig config = plantmon::bench::DatabaseConfigOrExit();
  auto channel = NewChannel(port, -1);
  std::optional<plantmon::v1::LoginResponse> signed_in =
      plantmon::bench::SignUpAndLogin(channel, "unarybench", "bench-password");
  if (!signed_in) return 1;
  const std::string authorization = "Bearer " + signed_in->access_token();

  int64_t plant_id = 0;
  {
    pqxx::connection connection(plantmon::postgres::LibpqConnectionString(config));
    pqxx::work setup(connection);
    const pqxx::row species = setup.exec1(
        "INSERT INTO plant_types (name) VALUES ('Bench fern') "
        "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id");
    plant_id = setup
                   .exec_params1(
                       "INSERT INTO plants (user_id, plant_type_id, plant_name) "
                       "VALUES ($1, $2, 'Bench plant') RETURNING id",
                       signed_in->user().id(), species[0].as<int64_t>())[0]
                   .as<int64_t>();
    setup.commit();
  }

  if (absl::GetFlag(FLAGS_setup_only)) {
    std::printf("%s %lld\n", signed_in->access_token().c_str(), static_cast<long long>(plant_id));
    return 0;
  }

  const Call get_plant = [&](const std::shared_ptr<grpc::Channel>& on) {
    auto stub = plantmon::v1::PlantService::NewStub(on);
    grpc::ClientContext context;
    // As clients should: a deadline, which the server passes to PostgreSQL.
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    context.AddMetadata("authorization", authorization);
    plantmon::v1::GetPlantRequest request;
    request.set_id(plant_id);
    plantmon::v1::Plant plant;
    return stub->GetPlant(&context, request, &plant).ok();
  };
  const Call health = [](const std::shared_ptr<grpc::Channel>& on) {
    auto stub = grpc::health::v1::Health::NewStub(on);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&context, request, &response).ok();
  };

  const int iterations = absl::GetFlag(FLAGS_iterations);
  SequentialMicros(get_plant, channel, 200);  // warm: sessions, caches, connections
  SequentialMicros(health, channel, 200);
  const std::vector<double> plant_micros = SequentialMicros(get_plant, channel, iterations);
  const std::vector<double> health_micros = SequentialMicros(health, channel, iterations);
  std::printf(
      "one at a time (%d calls): GetPlant p50 %.0f us p99 %.0f us; Health/Check p50 %.0f "
      "us p99 %.0f us\n",
      iterations, Percentile(plant_micros, 0.5), Percentile(plant_micros, 0.99),
      Percentile(health_micros, 0.5), Percentile(health_micros, 0.99));

  const int clients = absl::GetFlag(FLAGS_clients);
  const absl::Duration length = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const double plant_rate = CallsPerSecond(get_plant, port, clients, length);
  const double health_rate = CallsPerSecond(health, port, clients, length);
  std::printf(
      "%d clients for %d s each: GetPlant %.0f calls/s; Health/Check %.0f calls/s; "
      "ratio %.0f%%\n",
      clients, absl::GetFlag(FLAGS_seconds), plant_rate, health_rate,
      100.0 * plant_rate / health_rate);
  return 0;
}
