// Fault drill: a fault hits PostgreSQL (a command: a restart, or the primary
// killed so that a standby takes over) while gateways stream and a client
// reads. Checks that calls in flight end UNAVAILABLE (not a crash, a hang or
// another code), that every gateway is acknowledged again within a bound after
// the fault, that every acknowledged reading is stored, that gateways
// replaying what was not acknowledged end with exactly the rows they sent, and
// that the pool holds no broken or leaked connections afterwards.
//
// With --acknowledged_loss=report (a failover with asynchronous replication,
// which may lose commits), acknowledged batches may be missing: the drill
// reports how many readings, and how long before the fault they were
// acknowledged (the loss window), instead of failing.
//
// Run through tools/fault/run_pg_restart.sh and tools/fault/run_failover.sh.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "postgres/database_config.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(int, port, 50051, "plantmon_server port");
ABSL_FLAG(std::string, fault_command, "", "shell command that brings the fault on");
ABSL_FLAG(double, fault_after_seconds, 1, "ingest time before the fault");
ABSL_FLAG(double, max_recovery_seconds, 5,
          "every gateway must be acknowledged again within this long after the fault command");
ABSL_FLAG(std::string, acknowledged_loss, "fail",
          "fail: an acknowledged reading missing fails the drill; report: measure the loss");
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
  const bool report_loss = absl::GetFlag(FLAGS_acknowledged_loss) == "report";
  if (!report_loss && absl::GetFlag(FLAGS_acknowledged_loss) != "fail") {
    std::fprintf(stderr, "--acknowledged_loss is fail or report\n");
    return 2;
  }
  const plantmon::postgres::DatabaseConfig config = plantmon::bench::DatabaseConfigOrExit();
  const std::string database_url = plantmon::postgres::LibpqConnectionString(config);

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)),
                                     grpc::InsecureChannelCredentials());
  std::optional<plantmon::v1::LoginResponse> signed_in =
      plantmon::bench::SignUpAndLogin(channel, "drill", "drill-password");
  if (!signed_in) return 1;
  const plantmon::v1::LoginResponse login = *signed_in;
  const std::vector<int64_t> devices =
      plantmon::bench::MakeDevices(config, login.user().id(), "Drill", gateways);

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
  std::atomic<int64_t> fault_start_micros{0};
  std::atomic<int64_t> fault_done_micros{0};
  std::atomic<int> reconnects{0};
  // When each batch was acknowledged, [gateway][sequence] in Unix micros (0:
  // not yet), and when each gateway was first acknowledged on a stream it
  // opened after the fault began (0: not yet). Each gateway's thread writes
  // only its own entries; they are read after it is joined.
  std::vector<std::vector<int64_t>> acknowledged_at(gateways, std::vector<int64_t>(batches + 1, 0));
  std::vector<int64_t> resumed_at(gateways, 0);
  // For a gateway whose stream the fault did not end: its first
  // acknowledgement after the fault command returned.
  std::vector<int64_t> first_ack_after_fault(gateways, 0);
  // char, not bool: std::vector<bool> packs entries into shared words, so
  // threads setting their own entries would race.
  std::vector<char> done_before_fault(gateways, 0);
  std::vector<std::thread> threads;
  for (int g = 0; g < gateways; ++g) {
    threads.emplace_back([&, g] {
      int next_unacknowledged = 1;
      absl::Duration backoff = absl::Milliseconds(50);
      while (next_unacknowledged <= batches) {
        const bool opened_after_fault = fault_start_micros != 0;
        grpc::ClientContext context;
        context.AddMetadata("authorization", "Bearer " + login.access_token());
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
        auto stream = telemetry->StreamReadings(&context);
        // Acknowledgements are read on a thread of their own, as they arrive,
        // so that the time recorded for each is when it came (what the loss
        // window and its check are measured by), not when a paced writer got
        // round to reading it.
        std::mutex mutex;
        std::condition_variable acknowledged;
        bool reader_done = false;
        std::thread ack_reader([&] {
          plantmon::v1::StreamReadingsResponse ack;
          while (stream->Read(&ack)) {
            const int64_t now_micros = absl::ToUnixMicros(absl::Now());
            std::lock_guard<std::mutex> lock(mutex);
            if (static_cast<int>(ack.sequence()) != next_unacknowledged) {
              std::fprintf(stderr, "out-of-order acknowledgement\n");
              std::exit(1);
            }
            // A replayed batch was stored before: it counts as acknowledged.
            acknowledged_readings += ack.accepted_count() + ack.duplicate_count();
            acknowledged_at[g][next_unacknowledged] = now_micros;
            if (opened_after_fault && resumed_at[g] == 0) resumed_at[g] = now_micros;
            if (fault_done_micros != 0 && first_ack_after_fault[g] == 0) {
              first_ack_after_fault[g] = now_micros;
            }
            if (ack.rejected_count() != 0) {
              std::fprintf(stderr, "rejected readings in batch %llu\n",
                           static_cast<unsigned long long>(ack.sequence()));
            }
            ++next_unacknowledged;
            backoff = absl::Milliseconds(50);
            acknowledged.notify_all();
          }
          // After a failed Read the server has ended the call (or every
          // batch was answered), and Finish returns its status.
          std::lock_guard<std::mutex> lock(mutex);
          reader_done = true;
          acknowledged.notify_all();
        });
        // Replay everything not acknowledged, then go on: a few in flight, at
        // a gateway's pace.
        int sent;
        {
          std::lock_guard<std::mutex> lock(mutex);
          sent = next_unacknowledged;
        }
        while (sent <= batches) {
          {
            std::unique_lock<std::mutex> lock(mutex);
            acknowledged.wait(lock, [&] { return reader_done || sent < next_unacknowledged + 4; });
            if (reader_done) break;
          }
          if (!stream->Write(make_batch(g, sent))) break;
          ++sent;
          absl::SleepFor(absl::Milliseconds(5));
        }
        if (sent > batches) stream->WritesDone();
        ack_reader.join();
        if (next_unacknowledged > batches && fault_start_micros == 0) done_before_fault[g] = 1;
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

  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_fault_after_seconds)));
  const absl::Time fault_start = absl::Now();
  std::printf("fault after %lld acknowledged readings\n",
              static_cast<long long>(acknowledged_readings.load()));
  std::fflush(stdout);
  fault_start_micros = absl::ToUnixMicros(fault_start);
  // The command's output is passed on; a line "stopped_at_unix_us N" (from
  // tools/cluster kill-primary) says when the database stopped, which is
  // what a loss window is measured from.
  int64_t stopped_micros = 0;
  int rc = -1;
  if (FILE* fault = popen(absl::GetFlag(FLAGS_fault_command).c_str(), "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, fault) != nullptr) {
      std::fputs(line, stdout);
      absl::string_view text(line);
      int64_t micros = 0;
      if (absl::ConsumePrefix(&text, "stopped_at_unix_us ") &&
          absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(text), &micros)) {
        stopped_micros = micros;
      }
    }
    rc = pclose(fault);
  }
  fault_done_micros = absl::ToUnixMicros(absl::Now());
  if (stopped_micros == 0) stopped_micros = fault_done_micros;
  std::printf("fault command exited %d after %.2f s\n", rc,
              absl::ToDoubleSeconds(absl::Now() - fault_start));
  for (std::thread& thread : threads) thread.join();
  reading = false;
  reader.join();

  const int64_t expected = static_cast<int64_t>(gateways) * batches * batch;
  pqxx::connection connection(database_url);
  pqxx::nontransaction query(connection);
  const auto rows = query.exec1("SELECT count(*) FROM sensor_data").front().as<int64_t>();
  const auto distinct = query
                            .exec1(R"sql(SELECT count(DISTINCT (device_id, "timestamp"))
                                         FROM sensor_data)sql")
                            .front()
                            .as<int64_t>();
  // Readings stored per batch: a batch is one transaction, so all or none.
  std::map<std::pair<int64_t, int64_t>, int64_t> stored_per_batch;
  for (const auto& row : query.exec_params(
           R"sql(SELECT device_id, (floor(extract(epoch FROM "timestamp"))::bigint - $1) / $2,
                        count(*)
                   FROM sensor_data GROUP BY 1, 2)sql",
           base_seconds, batch)) {
    stored_per_batch[{row[0].as<int64_t>(), row[1].as<int64_t>()}] = row[2].as<int64_t>();
  }
  int64_t lost_readings = 0;
  int lost_batches = 0;
  int partial_batches = 0;
  int64_t oldest_lost_ack = 0;
  int64_t newest_lost_ack = 0;
  for (int g = 0; g < gateways; ++g) {
    for (int sequence = 1; sequence <= batches; ++sequence) {
      const auto found = stored_per_batch.find({devices[g], sequence});
      const int64_t stored = found == stored_per_batch.end() ? 0 : found->second;
      // More than a batch is a duplicate, which rows == distinct below fails.
      if (stored >= batch) continue;
      if (stored != 0) ++partial_batches;
      ++lost_batches;
      lost_readings += batch - stored;
      const int64_t acked = acknowledged_at[g][sequence];
      if (oldest_lost_ack == 0 || acked < oldest_lost_ack) oldest_lost_ack = acked;
      newest_lost_ack = std::max(newest_lost_ack, acked);
    }
  }
  const auto server_connections =
      query
          .exec1(
              "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'plantmon' "
              "AND pid <> pg_backend_pid()")
          .front()
          .as<int64_t>();
  // A leaked transaction stays idle in transaction; a healthy one is so only
  // between its statements, for milliseconds (the standby monitor's beat,
  // say; one sample in a fresh-clone CI run found one such connection). So
  // the drill samples for up to 10 s and counts as stuck what is idle in
  // transaction in every sample.
  const char* const kIdleInTransaction =
      "SELECT pid, now() - state_change, left(query, 120) FROM pg_stat_activity "
      "WHERE application_name = 'plantmon' AND state LIKE 'idle in transaction%'";
  pqxx::result idle_in_transaction = query.exec(kIdleInTransaction);
  const absl::Time stuck_after = absl::Now() + absl::Seconds(10);
  while (!idle_in_transaction.empty() && absl::Now() < stuck_after) {
    absl::SleepFor(absl::Milliseconds(50));
    idle_in_transaction = query.exec(kIdleInTransaction);
  }
  const auto stuck = static_cast<int64_t>(idle_in_transaction.size());
  for (const auto& row : idle_in_transaction) {
    std::printf("idle in transaction: pid %s for %s: %s\n", row[0].c_str(), row[1].c_str(),
                row[2].c_str());
  }
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext health_context;
  grpc::health::v1::HealthCheckResponse serving;
  health->Check(&health_context, grpc::health::v1::HealthCheckRequest(), &serving);

  // Ingest has resumed when every gateway still sending at the fault has been
  // acknowledged again: on a stream it opened after the fault began or, if the
  // fault left its stream alone, on that stream after the fault.
  double recovery = 0;
  bool every_gateway_resumed = true;
  for (int g = 0; g < gateways; ++g) {
    if (done_before_fault[g] != 0) continue;
    const int64_t resumed = resumed_at[g] != 0 ? resumed_at[g] : first_ack_after_fault[g];
    if (resumed == 0) {
      every_gateway_resumed = false;
      continue;
    }
    recovery = std::max(recovery, (resumed - fault_done_micros) / 1e6);
  }
  std::printf(
      "sent %lld readings in %d batches; acknowledged %lld; stored %lld rows, %lld "
      "distinct (device, timestamp)\n",
      static_cast<long long>(expected), gateways * batches,
      static_cast<long long>(acknowledged_readings.load()), static_cast<long long>(rows),
      static_cast<long long>(distinct));
  std::printf(
      "gateway reconnects: %d; every gateway acknowledged again %.2f s after the fault "
      "command returned%s\n",
      reconnects.load(), recovery, every_gateway_resumed ? "" : " (NOT every gateway)");
  if (lost_batches == 0) {
    std::printf("acknowledged readings lost: 0\n");
  } else {
    std::printf(
        "acknowledged readings lost: %lld in %d batches (%d partly stored), acknowledged "
        "from %.3f s to %.3f s before the database stopped (the loss window)\n",
        static_cast<long long>(lost_readings), lost_batches, partial_batches,
        (stopped_micros - oldest_lost_ack) / 1e6, (stopped_micros - newest_lost_ack) / 1e6);
  }
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
  // Every batch was acknowledged in the end (a gateway replays until it is),
  // and none is stored twice. A lost batch is acceptable only where loss is
  // being measured, and only whole and acknowledged before the fault command
  // returned (an acknowledgement may still be on its way when the database
  // stops; one that comes later was committed after the fault).
  const bool loss_ok =
      lost_batches == 0 || (report_loss && partial_batches == 0 && newest_lost_ack != 0 &&
                            newest_lost_ack <= fault_done_micros);
  // Each check with what it says when it fails, so that a failing drill says
  // why.
  const std::vector<std::pair<const char*, bool>> checks = {
      {"the fault command exited 0", rc == 0},
      {"no reading stored twice", rows == distinct},
      {"every reading stored but the lost ones", rows == expected - lost_readings},
      {"loss only where measured, whole batches acknowledged before the fault returned", loss_ok},
      {"only UNAVAILABLE errors", only_unavailable},
      {"every reading acknowledged", acknowledged_readings == expected},
      {"every gateway resumed", every_gateway_resumed},
      {"resumed in time", recovery <= absl::GetFlag(FLAGS_max_recovery_seconds)},
      {"no connection idle in transaction", stuck == 0},
      {"at most 30 server connections", server_connections <= 30},
      {"health SERVING", serving.status() == grpc::health::v1::HealthCheckResponse::SERVING},
  };
  bool ok = true;
  for (const auto& [check, passed] : checks) {
    if (passed) continue;
    ok = false;
    std::printf("failed: %s\n", check);
  }
  if (!loss_ok && newest_lost_ack != 0) {
    std::printf("newest lost acknowledgement at %+.3f s from the fault command's return\n",
                (newest_lost_ack - fault_done_micros) / 1e6);
  }
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
