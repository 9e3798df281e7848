// Fault drill: PostgreSQL restarts (pg_ctl restart -m fast) while gateways
// stream and clients read. Checks that calls in flight end UNAVAILABLE (not a
// crash, a hang or another code), that the server recovers by itself, that
// every acknowledged reading is stored, that gateways replaying what was not
// acknowledged end with exactly the rows they sent, and that the pool holds
// no broken or leaked connections afterwards.
//
// Run through tools/fault/run_pg_restart.sh.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "postgres/database_config.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(int, port, 50051, "plantmon_server port");
ABSL_FLAG(std::string, restart_command, "", "shell command that restarts PostgreSQL");
ABSL_FLAG(int, gateways, 4, "concurrent gateway streams");
ABSL_FLAG(int, batches, 1000, "batches per gateway");
ABSL_FLAG(int, batch, 100, "readings per batch");

namespace {

std::mutex codes_mu;
std::map<std::string, int> error_codes;  // "who:CODE" -> count

void CountError(const std::string& who, grpc::StatusCode code) {
  std::lock_guard<std::mutex> lock(codes_mu);
  ++error_codes[absl::StrCat(who, ":", code)];
}

}  // namespace

// A tool that meets an unexpected libpqxx or gRPC exception should stop with
// it (std::terminate prints its what()), not carry on with half a setup.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int gateways = absl::GetFlag(FLAGS_gateways);
  const int batches = absl::GetFlag(FLAGS_batches);
  const int batch = absl::GetFlag(FLAGS_batch);
  auto config = plantmon::postgres::DatabaseConfigFromEnv(plantmon::postgres::ProcessEnv);
  if (!config.ok()) return 1;
  const std::string database_url = plantmon::postgres::LibpqConnectionString(*config);

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)),
                                     grpc::InsecureChannelCredentials());
  std::optional<plantmon::v1::LoginResponse> signed_in =
      plantmon::bench::SignUpAndLogin(channel, "drill", "drill-password");
  if (!signed_in) return 1;
  const plantmon::v1::LoginResponse login = *signed_in;
  std::vector<int64_t> devices;
  {
    pqxx::connection connection(database_url);
    pqxx::work setup(connection);
    setup.exec("INSERT INTO manufacturers (name) VALUES ('Drill') ON CONFLICT DO NOTHING");
    setup.exec(
        "INSERT INTO device_types (manufacturer_id, name, device_type) SELECT id, "
        "'Drill probe', 'sensor' FROM manufacturers WHERE name = 'Drill' "
        "ON CONFLICT DO NOTHING");
    for (const auto& row : setup.exec_params(
             "INSERT INTO devices (user_id, device_type_id, unique_identifier, device_name) "
             "SELECT $1, t.id, 'drill-' || g, 'Drill ' || g FROM generate_series(1, $2) g, "
             "device_types t WHERE t.name = 'Drill probe' RETURNING id",
             login.user().id(), gateways)) {
      devices.push_back(row[0].as<int64_t>());
    }
    setup.commit();
  }

  auto telemetry = plantmon::v1::TelemetryService::NewStub(channel);
  // Far enough back that no reading is in the future (those are rejected).
  const int64_t base_seconds = absl::ToUnixSeconds(absl::Now()) - 3 * 86400;
  auto make_batch = [&](int gateway, int sequence) {
    plantmon::v1::StreamReadingsRequest request;
    request.set_gateway_id(absl::StrCat("drill-gateway-", gateway));
    request.set_sequence(sequence);
    for (int i = 0; i < batch; ++i) {
      plantmon::v1::IncomingReading* reading = request.add_readings();
      reading->set_device_id(devices[gateway]);
      reading->set_measurement_value(sequence * 1000 + i);
      reading->mutable_timestamp()->set_seconds(base_seconds + sequence * batch + i);
    }
    return request;
  };

  std::atomic<int64_t> acknowledged_readings{0};
  std::atomic<bool> restarted{false};
  std::atomic<int64_t> restart_done_micros{0};
  std::atomic<int64_t> first_ack_after_restart_micros{0};
  std::atomic<int> reconnects{0};
  std::vector<std::thread> threads;
  for (int g = 0; g < gateways; ++g) {
    threads.emplace_back([&, g] {
      int next_unacknowledged = 1;
      absl::Duration backoff = absl::Milliseconds(50);
      while (next_unacknowledged <= batches) {
        grpc::ClientContext context;
        context.AddMetadata("authorization", "Bearer " + login.access_token());
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
        auto stream = telemetry->StreamReadings(&context);
        // Replay everything not acknowledged, then go on; a few in flight.
        int sent = next_unacknowledged;
        bool broken = false;
        while (next_unacknowledged <= batches && !broken) {
          while (sent <= batches && sent < next_unacknowledged + 4) {
            if (!stream->Write(make_batch(g, sent))) {
              broken = true;
              break;
            }
            ++sent;
          }
          plantmon::v1::StreamReadingsResponse ack;
          if (broken || !stream->Read(&ack)) {
            broken = true;
            break;
          }
          if (static_cast<int>(ack.sequence()) != next_unacknowledged) {
            std::fprintf(stderr, "out-of-order acknowledgement\n");
            std::exit(1);
          }
          // A replayed batch was stored before: it counts as acknowledged.
          acknowledged_readings += ack.accepted_count() + ack.duplicate_count();
          if (ack.rejected_count() != 0) {
            std::fprintf(stderr, "rejected readings in batch %llu\n",
                         static_cast<unsigned long long>(ack.sequence()));
          }
          ++next_unacknowledged;
          if (restart_done_micros != 0 && first_ack_after_restart_micros == 0) {
            first_ack_after_restart_micros = absl::ToUnixMicros(absl::Now());
          }
          backoff = absl::Milliseconds(50);
          absl::SleepFor(absl::Milliseconds(5));  // a gateway's pace
        }
        // After a failed Read or Write the server has ended the call, and
        // Finish returns its status (no cancel, which would hide it).
        if (next_unacknowledged > batches) stream->WritesDone();
        grpc::Status status = stream->Finish();
        if (!status.ok() && next_unacknowledged <= batches) {
          CountError("gateway", status.error_code());
          ++reconnects;
          absl::SleepFor(backoff);
          backoff = std::min(backoff * 2, absl::Seconds(1));
        }
      }
    });
  }
  std::atomic<bool> reading{true};
  std::atomic<int64_t> reads_ok{0};
  std::thread reader([&] {
    while (reading) {
      plantmon::v1::ListSensorDataRequest request;
      request.set_device_id(devices[0]);
      request.mutable_start_time()->set_seconds(base_seconds);
      request.mutable_end_time()->set_seconds(base_seconds + 2 * 86400);
      request.set_page_size(100);
      plantmon::v1::ListSensorDataResponse response;
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + login.access_token());
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      grpc::Status status = telemetry->ListSensorData(&context, request, &response);
      if (status.ok()) {
        ++reads_ok;
      } else {
        CountError("reader", status.error_code());
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  });

  absl::SleepFor(absl::Seconds(1));
  const absl::Time restart_start = absl::Now();
  std::printf("restarting PostgreSQL after %lld acknowledged readings\n",
              static_cast<long long>(acknowledged_readings.load()));
  restarted = true;
  int rc = std::system(absl::GetFlag(FLAGS_restart_command).c_str());
  restart_done_micros = absl::ToUnixMicros(absl::Now());
  std::printf("restart command exited %d after %.2f s\n", rc,
              absl::ToDoubleSeconds(absl::Now() - restart_start));
  for (std::thread& thread : threads) thread.join();
  reading = false;
  reader.join();

  const int64_t expected = static_cast<int64_t>(gateways) * batches * batch;
  pqxx::connection connection(database_url);
  pqxx::nontransaction query(connection);
  const auto rows = query.exec1("SELECT count(*) FROM sensor_data").front().as<int64_t>();
  const auto distinct = query
                            .exec1(
                                "SELECT count(DISTINCT (device_id, \"timestamp\")) "
                                "FROM sensor_data")
                            .front()
                            .as<int64_t>();
  const auto server_connections =
      query
          .exec1(
              "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'plantmon' "
              "AND pid <> pg_backend_pid()")
          .front()
          .as<int64_t>();
  const auto stuck =
      query
          .exec1(
              "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'plantmon' "
              "AND state LIKE 'idle in transaction%'")
          .front()
          .as<int64_t>();
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext health_context;
  grpc::health::v1::HealthCheckResponse serving;
  health->Check(&health_context, grpc::health::v1::HealthCheckRequest(), &serving);

  const double recovery = first_ack_after_restart_micros > 0
                              ? (first_ack_after_restart_micros - restart_done_micros) / 1e6
                              : -1;
  std::printf(
      "sent %lld readings in %d batches; acknowledged %lld; stored %lld rows, %lld "
      "distinct (device, timestamp)\n",
      static_cast<long long>(expected), gateways * batches,
      static_cast<long long>(acknowledged_readings.load()), static_cast<long long>(rows),
      static_cast<long long>(distinct));
  std::printf("gateway reconnects: %d; first acknowledgement %.2f s after PostgreSQL was back\n",
              reconnects.load(), recovery);
  std::printf("reads ok: %lld; errors by caller and code:", static_cast<long long>(reads_ok));
  bool only_unavailable = true;
  for (const auto& [key, count] : error_codes) {
    std::printf(" %s=%d", key.c_str(), count);
    // 14 = UNAVAILABLE.
    if (key.substr(key.find(':') + 1) != "14") {
      only_unavailable = false;
    }
  }
  std::printf("\nserver connections after: %lld, idle in transaction: %lld, health: %s\n",
              static_cast<long long>(server_connections), static_cast<long long>(stuck),
              serving.status() == grpc::health::v1::HealthCheckResponse::SERVING ? "SERVING"
                                                                                 : "not serving");
  const bool ok = rows == expected && distinct == expected && only_unavailable &&
                  acknowledged_readings == expected && recovery >= 0 && recovery <= 5 &&
                  stuck == 0 && server_connections <= 30 &&
                  serving.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
