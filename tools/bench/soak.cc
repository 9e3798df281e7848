// Soak: mixed load for a while — gateway streams ingesting, clients reading,
// an alert watch — with error counts, read latencies and the server's
// resident memory sampled every ten seconds. Passes when no call failed and
// memory grew less than 10% after the first minute.
//
// Run through tools/bench/run_soak.sh [SECONDS].

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "plantmon/v1/alert.grpc.pb.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "postgres/database_config.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(int, port, 50051, "plantmon_server port");
ABSL_FLAG(int, server_pid, 0, "plantmon_server pid");
ABSL_FLAG(int, seconds, 600, "how long to run");

namespace {

constexpr int kDevices = 100;

struct Window {
  std::mutex mu;
  std::vector<double> read_ms;
  int64_t ok = 0;
  int64_t errors = 0;
};

using ::plantmon::bench::Percentile;
using ::plantmon::bench::ResidentKb;

}  // namespace

// A tool that meets an unexpected libpqxx or gRPC exception should stop with
// it (std::terminate prints its what()), not carry on with half a setup.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const plantmon::postgres::DatabaseConfig config = plantmon::bench::DatabaseConfigOrExit();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)),
                                     grpc::InsecureChannelCredentials());
  std::optional<plantmon::v1::LoginResponse> signed_in =
      plantmon::bench::SignUpAndLogin(channel, "soak", "soak-password");
  if (!signed_in) return 1;
  const plantmon::v1::LoginResponse login = *signed_in;
  std::vector<int64_t> devices;
  {
    pqxx::connection connection(plantmon::postgres::LibpqConnectionString(config));
    pqxx::work setup(connection);
    const int64_t user = login.user().id();
    setup.exec("INSERT INTO manufacturers (name) VALUES ('Soak') ON CONFLICT DO NOTHING");
    setup.exec(
        "INSERT INTO device_types (manufacturer_id, name, device_type, data_unit) SELECT "
        "id, 'Soak probe', 'sensor', '%' FROM manufacturers WHERE name = 'Soak' "
        "ON CONFLICT DO NOTHING");
    setup.exec("INSERT INTO plant_types (name) VALUES ('Soak fern') ON CONFLICT DO NOTHING");
    for (const auto& row : setup.exec_params(
             "INSERT INTO devices (user_id, device_type_id, unique_identifier, device_name) "
             "SELECT $1, t.id, 'soak-' || g, 'Soak ' || g FROM generate_series(1, $2) g, "
             "device_types t WHERE t.name = 'Soak probe' RETURNING id",
             user, kDevices)) {
      devices.push_back(row[0].as<int64_t>());
    }
    // A plant, an assignment and a "below 10" rule for every tenth device.
    setup.exec_params(
        "WITH p AS (INSERT INTO plants (user_id, plant_type_id, plant_name) "
        "SELECT $1, t.id, 'Soak plant ' || g FROM generate_series(1, $2 / 10) g, plant_types t "
        "WHERE t.name = 'Soak fern' RETURNING id, plant_name) "
        "INSERT INTO plant_device_assignments (plant_id, device_id, assignment_type) "
        "SELECT p.id, d.id, 'soil_moisture' FROM p JOIN devices d ON d.unique_identifier = "
        "'soak-' || (split_part(p.plant_name, ' ', 3)::int * 10)",
        user, kDevices);
    setup.exec_params(
        "INSERT INTO alert_rules (user_id, plant_id, rule_name, rule_type, parameter_name, "
        "condition_operator, threshold_value) SELECT $1, id, 'Soak dry', 'threshold', "
        "'soil_moisture', '<', 10 FROM plants WHERE user_id = $1",
        user);
    setup.commit();
  }

  auto telemetry = plantmon::v1::TelemetryService::NewStub(channel);
  auto alerts = plantmon::v1::AlertService::NewStub(channel);
  const std::string bearer = "Bearer " + login.access_token();
  std::atomic<bool> running{true};
  Window window;
  std::atomic<int64_t> total_errors{0};
  std::atomic<int64_t> readings_sent{0};
  std::atomic<int64_t> alert_events{0};
  auto record = [&](bool ok, double ms, bool is_read) {
    std::lock_guard<std::mutex> lock(window.mu);
    if (ok) {
      ++window.ok;
      if (is_read) window.read_ms.push_back(ms);
    } else {
      ++window.errors;
      ++total_errors;
    }
  };

  std::vector<std::thread> threads;
  for (int g = 0; g < 2; ++g) {
    threads.emplace_back([&, g] {
      uint64_t sequence = 0;
      while (running) {
        grpc::ClientContext context;
        context.AddMetadata("authorization", bearer);
        auto stream = telemetry->StreamReadings(&context);
        for (int b = 0; b < 200 && running; ++b) {
          plantmon::v1::StreamReadingsRequest request;
          request.set_gateway_id(absl::StrCat("soak-", g));
          request.set_sequence(++sequence);
          const int64_t now = absl::ToUnixSeconds(absl::Now());
          for (int i = 0; i < 100; ++i) {
            plantmon::v1::IncomingReading* reading = request.add_readings();
            reading->set_device_id(devices[(g * 50 + i) % kDevices]);
            reading->set_measurement_value((sequence * 7 + i * 13) % 100);
            reading->mutable_timestamp()->set_seconds(now);
            reading->mutable_timestamp()->set_nanos(i * 1000);
          }
          absl::Time before = absl::Now();
          plantmon::v1::StreamReadingsResponse ack;
          bool ok = stream->Write(request) && stream->Read(&ack) && ack.rejected_count() == 0;
          record(ok, absl::ToDoubleMilliseconds(absl::Now() - before), false);
          if (!ok) break;
          readings_sent += 100;
          absl::SleepFor(absl::Milliseconds(50));
        }
        stream->WritesDone();
        if (!stream->Finish().ok()) record(false, 0, false);
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      int n = 0;
      while (running) {
        const int64_t device = devices[(n++ * 17 + r) % kDevices];
        grpc::ClientContext context;
        context.AddMetadata("authorization", bearer);
        absl::Time before = absl::Now();
        grpc::Status status;
        if (n % 3 == 0) {
          plantmon::v1::GetLatestReadingsRequest request;
          request.add_device_ids(device);
          plantmon::v1::GetLatestReadingsResponse response;
          status = telemetry->GetLatestReadings(&context, request, &response);
        } else if (n % 3 == 1) {
          plantmon::v1::ListSensorDataRequest request;
          request.set_device_id(device);
          request.mutable_start_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) - 300);
          request.mutable_end_time()->set_seconds(
              absl::ToUnixSeconds(absl::Now() + absl::Seconds(1)));
          request.set_newest_first(true);
          request.set_page_size(500);
          plantmon::v1::ListSensorDataResponse response;
          status = telemetry->ListSensorData(&context, request, &response);
        } else {
          plantmon::v1::ListAlertsRequest request;
          request.set_status(plantmon::v1::ALERT_STATUS_ACTIVE);
          plantmon::v1::ListAlertsResponse response;
          status = alerts->ListAlerts(&context, request, &response);
        }
        record(status.ok(), absl::ToDoubleMilliseconds(absl::Now() - before), true);
        absl::SleepFor(absl::Milliseconds(10));
      }
    });
  }
  grpc::ClientContext watch_context;
  watch_context.AddMetadata("authorization", bearer);
  std::thread watcher([&] {
    auto watch = alerts->WatchAlerts(&watch_context, plantmon::v1::WatchAlertsRequest());
    plantmon::v1::WatchAlertsResponse change;
    while (watch->Read(&change)) ++alert_events;
    grpc::Status status = watch->Finish();
    if (running && !status.ok()) ++total_errors;
  });

  const int pid = absl::GetFlag(FLAGS_server_pid);
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  int64_t rss_at_one_minute = 0;
  int64_t max_rss_after = 0;
  std::printf("%6s %9s %9s %8s %9s %9s %10s %8s\n", "t_s", "rss_mb", "calls_ok", "errors",
              "read_p50", "read_p99", "readings", "alerts");
  while (absl::Now() < end) {
    absl::SleepFor(absl::Seconds(10));
    std::vector<double> latencies;
    int64_t ok = 0;
    int64_t errors = 0;
    {
      std::lock_guard<std::mutex> lock(window.mu);
      latencies.swap(window.read_ms);
      ok = window.ok;
      errors = window.errors;
      window.ok = window.errors = 0;
    }
    const int64_t rss = ResidentKb(pid);
    const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
    if (elapsed >= 60 && rss_at_one_minute == 0) rss_at_one_minute = rss;
    if (rss_at_one_minute > 0) max_rss_after = std::max(max_rss_after, rss);
    std::printf("%6.0f %9.1f %9lld %8lld %8.2fms %8.2fms %10lld %8lld\n", elapsed, rss / 1024.0,
                static_cast<long long>(ok), static_cast<long long>(errors),
                Percentile(latencies, 0.5), Percentile(latencies, 0.99),
                static_cast<long long>(readings_sent.load()),
                static_cast<long long>(alert_events.load()));
    std::fflush(stdout);
  }
  running = false;
  watch_context.TryCancel();
  for (std::thread& thread : threads) thread.join();
  watcher.join();
  const double growth =
      rss_at_one_minute > 0 ? 100.0 * (max_rss_after - rss_at_one_minute) / rss_at_one_minute : 0;
  std::printf("errors: %lld; rss at 1 min %.1f MB, max after %.1f MB, growth %.1f%%\n",
              static_cast<long long>(total_errors.load()), rss_at_one_minute / 1024.0,
              max_rss_after / 1024.0, growth);
  const bool pass = total_errors == 0 && (rss_at_one_minute == 0 || growth < 10);
  std::printf("%s\n", pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}
