// Ingest benchmark: N readings over D devices sent by S concurrent gateway
// streams (TelemetryService.StreamReadings) in batches, with alert rules on a
// tenth of the devices; end to end = until the last acknowledgement, with
// every reading committed and counted. In the same run, the same rows are
// bulk-copied with libpqxx stream_to into the same table with the same
// indexes, as the baseline (into the partition that holds them, as ingest
// copies). Also samples the server's resident memory.
//
// Needs a running plantmon_server (--port, --server_pid) and its database in
// POSTGRES_DB_*; tools/bench/run_ingest.sh sets all of that up.

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "postgres/database_config.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(int, port, 50051, "plantmon_server port");
ABSL_FLAG(int, server_pid, 0, "plantmon_server pid, for resident memory samples");
ABSL_FLAG(int64_t, readings, 1000000, "readings to send");
ABSL_FLAG(int, devices, 1000, "devices");
ABSL_FLAG(int, streams, 4, "concurrent gateway streams");
ABSL_FLAG(int, batch, 1000, "readings per batch");
ABSL_FLAG(int, hours_ago, 24 * 30,
          "the readings begin this many hours ago, one a millisecond: by default 30 days, "
          "days the daily rollup job has closed, so every batch is late (migration 0027); "
          "1 for a gateway sending what it measures now");

namespace {

struct Row {
  int64_t device_id;
  double value;
  int64_t micros;
};

std::string Url() {
  return plantmon::postgres::LibpqConnectionString(plantmon::bench::DatabaseConfigOrExit());
}

// CPU seconds (user + system) a process has used so far.
double ProcessCpuSeconds(int pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(text.substr(close + 2), ' ');
  if (fields.size() < 13) return 0;
  // Fields 14 and 15 of /proc/PID/stat, counted after the command name.
  return (std::atof(fields[11].c_str()) + std::atof(fields[12].c_str())) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds of every process whose command name is `name`.
double CpuSecondsOf(const std::string& name) {
  double total = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string command;
    std::getline(comm, command);
    if (command == name) total += ProcessCpuSeconds(std::atoi(pid.c_str()));
  }
  return total;
}

double SelfCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec + now.tv_nsec / 1e9;
}

int64_t CountReadings(pqxx::connection& connection) {
  pqxx::nontransaction query(connection);
  return query.exec1("SELECT count(*) FROM sensor_data").front().as<int64_t>();
}

// The table a raw copy of readings from `from_micros` to `to_micros` goes
// into: the partition that holds them all and rolls up what is written to it,
// as ingest copies (migration 0026), or else sensor_data (also for a schema
// from before that migration, which a baseline server may have set up).
std::string CopyTarget(pqxx::connection& connection, int64_t from_micros, int64_t to_micros) {
  pqxx::nontransaction query(connection);
  if (!query.exec1("SELECT to_regproc('sensor_data_partition_bounds') IS NOT NULL")[0].as<bool>()) {
    return "sensor_data";
  }
  const pqxx::result found = query.exec_params(
      R"sql(SELECT partition_name FROM sensor_data_partition_bounds()
             WHERE rolls_up AND NOT detach_pending
               AND (lower_bound IS NULL OR lower_bound <= epoch_us_to_timestamptz($1))
               AND (upper_bound IS NULL OR upper_bound > epoch_us_to_timestamptz($2)))sql",
      from_micros, to_micros);
  return found.empty() ? "sensor_data" : found[0][0].as<std::string>();
}

}  // namespace

// A tool that meets an unexpected libpqxx or gRPC exception should stop with
// it (std::terminate prints its what()), not carry on with half a setup.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int64_t total = absl::GetFlag(FLAGS_readings);
  const int device_count = absl::GetFlag(FLAGS_devices);
  const int streams = absl::GetFlag(FLAGS_streams);
  const int batch = absl::GetFlag(FLAGS_batch);
  const std::string database_url = Url();

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)),
                                     grpc::InsecureChannelCredentials());
  std::optional<plantmon::v1::LoginResponse> signed_in =
      plantmon::bench::SignUpAndLogin(channel, "bench", "bench-password");
  if (!signed_in) {
    std::fprintf(stderr, "cannot log in\n");
    return 1;
  }
  const plantmon::v1::LoginResponse login = *signed_in;
  const int64_t user_id = login.user().id();

  // Catalogue, devices, plants, assignments and rules (a tenth of the
  // devices watched by a "soil moisture below 5" rule).
  pqxx::connection admin(database_url);
  {
    pqxx::work setup(admin);
    setup.exec("TRUNCATE sensor_data, alerts, ingest_batches CASCADE");
    setup.exec_params("INSERT INTO manufacturers (name) VALUES ('Bench') ON CONFLICT DO NOTHING;");
    setup.exec(
        "INSERT INTO device_types (manufacturer_id, name, device_type, data_unit, min_value, "
        "max_value) SELECT id, 'Bench probe', 'sensor', '%', 0, 100 FROM manufacturers "
        "WHERE name = 'Bench' ON CONFLICT DO NOTHING");
    setup.exec("INSERT INTO plant_types (name) VALUES ('Bench fern') ON CONFLICT DO NOTHING");
    setup.exec_params(
        "INSERT INTO devices (user_id, device_type_id, unique_identifier, device_name) "
        "SELECT $1, t.id, 'bench-' || g, 'Bench ' || g FROM generate_series(1, $2) g, "
        "device_types t WHERE t.name = 'Bench probe' ON CONFLICT DO NOTHING",
        user_id, device_count);
    setup.exec_params(
        "INSERT INTO plants (user_id, plant_type_id, plant_name) "
        "SELECT $1, t.id, 'Bench plant ' || g FROM generate_series(1, $2 / 10) g, "
        "plant_types t WHERE t.name = 'Bench fern' AND NOT EXISTS "
        "(SELECT 1 FROM plants p WHERE p.user_id = $1 AND p.plant_name = 'Bench plant ' || g)",
        user_id, device_count);
    setup.exec_params(
        "INSERT INTO plant_device_assignments (plant_id, device_id, assignment_type) "
        "SELECT p.id, d.id, 'soil_moisture' FROM plants p JOIN devices d "
        "ON d.unique_identifier = 'bench-' || (split_part(p.plant_name, ' ', 3)::int * 10) "
        "WHERE p.user_id = $1 ON CONFLICT DO NOTHING",
        user_id);
    setup.exec_params(
        "INSERT INTO alert_rules (user_id, plant_id, rule_name, rule_type, parameter_name, "
        "condition_operator, threshold_value) SELECT $1, p.id, 'Bench dry', 'threshold', "
        "'soil_moisture', '<', 5 FROM plants p WHERE p.user_id = $1 AND NOT EXISTS "
        "(SELECT 1 FROM alert_rules r WHERE r.plant_id = p.id)",
        user_id);
    setup.commit();
  }
  std::vector<int64_t> device_ids;
  {
    pqxx::nontransaction query(admin);
    for (const auto& row : query.exec_params(
             "SELECT id FROM devices WHERE user_id = $1 AND unique_identifier LIKE 'bench-%' "
             "ORDER BY id LIMIT $2",
             user_id, device_count)) {
      device_ids.push_back(row[0].as<int64_t>());
    }
  }
  if (static_cast<int>(device_ids.size()) != device_count) {
    std::fprintf(stderr, "expected %d devices, found %zu\n", device_count, device_ids.size());
    return 1;
  }

  // The same rows for both runs: stream s owns every streams-th device.
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> value(0, 100);
  const int64_t start_micros =
      absl::ToUnixMicros(absl::Now() - absl::Hours(absl::GetFlag(FLAGS_hours_ago)));
  std::vector<std::vector<Row>> per_stream(streams);
  for (int64_t i = 0; i < total; ++i) {
    int device = static_cast<int>(i % device_count);
    per_stream[device % streams].push_back(
        {device_ids[device], value(random), start_micros + i * 1000});
  }

  std::atomic<bool> sampling{true};
  std::atomic<int64_t> max_rss_kb{0};
  std::thread sampler([&] {
    const int pid = absl::GetFlag(FLAGS_server_pid);
    while (sampling && pid > 0) {
      int64_t rss = plantmon::bench::ResidentKb(pid);
      int64_t seen = max_rss_kb.load();
      while (rss > seen && !max_rss_kb.compare_exchange_weak(seen, rss)) {
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  });

  // --- end to end through the server ------------------------------------------
  auto telemetry = plantmon::v1::TelemetryService::NewStub(channel);
  std::atomic<int64_t> acknowledged{0};
  std::atomic<int> failures{0};
  const int server_pid = absl::GetFlag(FLAGS_server_pid);
  const double server_cpu_before = server_pid > 0 ? ProcessCpuSeconds(server_pid) : 0;
  const double postgres_cpu_before = CpuSecondsOf("postgres");
  const double client_cpu_before = SelfCpuSeconds();
  const absl::Time ingest_start = absl::Now();
  std::vector<std::thread> gateways;
  for (int s = 0; s < streams; ++s) {
    gateways.emplace_back([&, s] {
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + login.access_token());
      auto stream = telemetry->StreamReadings(&context);
      const std::vector<Row>& rows = per_stream[s];
      const int batches = static_cast<int>((rows.size() + batch - 1) / batch);
      std::thread reader([&] {
        plantmon::v1::StreamReadingsResponse ack;
        for (int b = 0; b < batches && stream->Read(&ack); ++b) {
          acknowledged += ack.accepted_count();
          if (ack.rejected_count() > 0) ++failures;
        }
      });
      for (int b = 0; b < batches; ++b) {
        plantmon::v1::StreamReadingsRequest request;
        request.set_gateway_id(absl::StrCat("bench-gateway-", s));
        request.set_sequence(b + 1);
        const size_t end = std::min(rows.size(), static_cast<size_t>(b + 1) * batch);
        for (size_t i = static_cast<size_t>(b) * batch; i < end; ++i) {
          plantmon::v1::IncomingReading* reading = request.add_readings();
          reading->set_device_id(rows[i].device_id);
          reading->set_measurement_value(rows[i].value);
          reading->mutable_timestamp()->set_seconds(rows[i].micros / 1000000);
          reading->mutable_timestamp()->set_nanos(static_cast<int>(rows[i].micros % 1000000) *
                                                  1000);
        }
        if (!stream->Write(request)) break;
      }
      stream->WritesDone();
      reader.join();
      grpc::Status status = stream->Finish();
      if (!status.ok()) {
        std::fprintf(stderr, "stream %d: %s\n", s, status.error_message().c_str());
        ++failures;
      }
    });
  }
  for (std::thread& gateway : gateways) gateway.join();
  const absl::Duration ingest_time = absl::Now() - ingest_start;
  const double server_cpu = server_pid > 0 ? ProcessCpuSeconds(server_pid) - server_cpu_before : 0;
  const double postgres_cpu = CpuSecondsOf("postgres") - postgres_cpu_before;
  const double client_cpu = SelfCpuSeconds() - client_cpu_before;
  sampling = false;
  sampler.join();
  const int64_t stored = CountReadings(admin);
  int64_t alerts = 0;
  {
    pqxx::nontransaction query(admin);
    alerts = query.exec1("SELECT count(*) FROM alerts").front().as<int64_t>();
  }

  // --- baseline: stream_to of the same rows -----------------------------------
  const std::string copy_target = CopyTarget(admin, start_micros, start_micros + total * 1000);
  std::printf("raw copies go into %s\n", copy_target.c_str());
  {
    pqxx::work clear(admin);
    clear.exec("TRUNCATE sensor_data, alerts CASCADE");
    clear.commit();
  }
  // Connections opened first and closed after measuring, so their backends'
  // CPU time is still readable in /proc.
  std::vector<std::unique_ptr<pqxx::connection>> copy_connections;
  for (int s = 0; s < streams; ++s) {
    copy_connections.push_back(std::make_unique<pqxx::connection>(database_url));
  }
  const double copy_postgres_cpu_before = CpuSecondsOf("postgres");
  const double copy_client_cpu_before = SelfCpuSeconds();
  const absl::Time copy_start = absl::Now();
  std::vector<std::thread> copiers;
  for (int s = 0; s < streams; ++s) {
    copiers.emplace_back([&, s] {
      pqxx::work transaction(*copy_connections[s]);
      pqxx::stream_to copy(
          transaction, copy_target,
          std::vector<std::string>{"device_id", "measurement_value", "measurement_unit",
                                   "data_quality", "is_anomaly", "timestamp"});
      for (const Row& row : per_stream[s]) {
        copy << std::make_tuple(
            row.device_id, row.value, std::string("%"), 100, false,
            absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", absl::FromUnixMicros(row.micros),
                             absl::UTCTimeZone()));
      }
      copy.complete();
      transaction.commit();
    });
  }
  for (std::thread& copier : copiers) copier.join();
  const absl::Duration copy_time = absl::Now() - copy_start;
  const double copy_postgres_cpu = CpuSecondsOf("postgres") - copy_postgres_cpu_before;
  const double copy_client_cpu = SelfCpuSeconds() - copy_client_cpu_before;
  copy_connections.clear();
  const int64_t copied = CountReadings(admin);

  // --- second baseline: stream_to in one transaction per batch, as the
  // server must commit each batch before acknowledging it ----------------------
  {
    pqxx::work clear(admin);
    clear.exec("TRUNCATE sensor_data");
    clear.commit();
  }
  const absl::Time batched_start = absl::Now();
  std::vector<std::thread> batched;
  for (int s = 0; s < streams; ++s) {
    batched.emplace_back([&, s] {
      pqxx::connection connection(database_url);
      const std::vector<Row>& rows = per_stream[s];
      for (size_t begin = 0; begin < rows.size(); begin += batch) {
        pqxx::work transaction(connection);
        pqxx::stream_to copy(
            transaction, copy_target,
            std::vector<std::string>{"device_id", "measurement_value", "measurement_unit",
                                     "data_quality", "is_anomaly", "timestamp"});
        for (size_t i = begin; i < std::min(rows.size(), begin + batch); ++i) {
          copy << std::make_tuple(
              rows[i].device_id, rows[i].value, std::string("%"), 100, false,
              absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", absl::FromUnixMicros(rows[i].micros),
                               absl::UTCTimeZone()));
        }
        copy.complete();
        transaction.commit();
      }
    });
  }
  for (std::thread& thread : batched) thread.join();
  const absl::Duration batched_time = absl::Now() - batched_start;

  const double ingest_rate = total / absl::ToDoubleSeconds(ingest_time);
  const double copy_rate = total / absl::ToDoubleSeconds(copy_time);
  std::printf("readings=%lld devices=%d streams=%d batch=%d\n", static_cast<long long>(total),
              device_count, streams, batch);
  std::printf(
      "end_to_end: %.2f s, %.0f readings/s, acknowledged=%lld stored=%lld alerts=%lld "
      "failures=%d\n",
      absl::ToDoubleSeconds(ingest_time), ingest_rate, static_cast<long long>(acknowledged.load()),
      static_cast<long long>(stored), static_cast<long long>(alerts), failures.load());
  std::printf("end_to_end_cpu_seconds: server %.2f, postgres %.2f, client %.2f\n", server_cpu,
              postgres_cpu, client_cpu);
  std::printf("raw_stream_to: %.2f s, %.0f rows/s, stored=%lld\n", absl::ToDoubleSeconds(copy_time),
              copy_rate, static_cast<long long>(copied));
  std::printf("raw_stream_to_cpu_seconds: postgres %.2f, client %.2f\n", copy_postgres_cpu,
              copy_client_cpu);
  std::printf("ratio: %.2f (end to end / raw copy)\n", ingest_rate / copy_rate);
  const double batched_rate = total / absl::ToDoubleSeconds(batched_time);
  std::printf(
      "raw_stream_to_per_batch_commit: %.2f s, %.0f rows/s (ratio to raw copy %.2f; "
      "end to end / this %.2f)\n",
      absl::ToDoubleSeconds(batched_time), batched_rate, batched_rate / copy_rate,
      ingest_rate / batched_rate);
  std::printf("server_max_rss_mb: %.1f\n", max_rss_kb.load() / 1024.0);
  return (stored == total && acknowledged == total && failures == 0) ? 0 : 1;
}
