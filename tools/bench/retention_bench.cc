// Retention benchmark: does dropping partitions past the raw-data retention
// stall ingest? Fills --weeks weeks of past readings into their weekly
// partitions, then runs --streams gateway streams that each send a batch of
// --batch current readings and wait for its acknowledgement, over and over,
// for --seconds. Midway, one partition-keeper round with a 14-day retention
// (storage::KeepPartitions, what every server runs hourly) detaches and drops
// the weeks past it. Prints the acknowledgement latencies of the batches that
// overlapped the round beside those of the rest (docs/scaling.md).
//
// Needs a running plantmon_server (--port) and its database in POSTGRES_DB_*;
// tools/bench/run_retention.sh sets that up.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "postgres/database_config.h"
#include "storage/partition_keeper.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(int, port, 50051, "plantmon_server port");
ABSL_FLAG(int, devices, 200, "devices");
ABSL_FLAG(int, weeks, 5, "weeks of past readings (one a minute per device)");
ABSL_FLAG(int, streams, 4, "concurrent gateway streams");
ABSL_FLAG(int, batch, 1000, "readings per batch");
ABSL_FLAG(int, seconds, 20, "how long the gateways send");

namespace {

using ::plantmon::bench::Percentile;

struct Batch {
  absl::Time sent;
  absl::Time acknowledged;
};

}  // namespace

// A tool that meets an unexpected libpqxx or gRPC exception should stop with
// it (std::terminate prints its what()), not carry on with half a setup.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int device_count = absl::GetFlag(FLAGS_devices);
  const int weeks = absl::GetFlag(FLAGS_weeks);
  const int batch = absl::GetFlag(FLAGS_batch);
  const plantmon::postgres::DatabaseConfig config = plantmon::bench::DatabaseConfigOrExit();

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)),
                                     grpc::InsecureChannelCredentials());
  std::optional<plantmon::v1::LoginResponse> signed_in =
      plantmon::bench::SignUpAndLogin(channel, "retentionbench", "bench-password");
  if (!signed_in) return 1;
  const plantmon::v1::LoginResponse login = *signed_in;

  // Past weeks, each in its partition, ending a day ago.
  const int64_t minutes = static_cast<int64_t>(weeks) * 7 * 1440;
  const int64_t end_seconds = absl::ToUnixSeconds(absl::Now() - absl::Hours(24)) / 60 * 60;
  const int64_t start_seconds = end_seconds - minutes * 60;
  plantmon::bench::PartitionWeeksSince(config, absl::FromUnixSeconds(start_seconds));
  const std::vector<int64_t> device_ids = plantmon::bench::FillMinuteReadings(
      config, login.user().id(), "RB", device_count, start_seconds, minutes);

  auto telemetry = plantmon::v1::TelemetryService::NewStub(channel);
  std::mutex mu;
  std::vector<Batch> batches;
  std::atomic<int> failures{0};
  const absl::Time stop_at = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::vector<std::thread> gateways;
  for (int s = 0; s < absl::GetFlag(FLAGS_streams); ++s) {
    gateways.emplace_back([&, s] {
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + login.access_token());
      auto stream = telemetry->StreamReadings(&context);
      for (uint64_t sequence = 1; absl::Now() < stop_at; ++sequence) {
        plantmon::v1::StreamReadingsRequest request;
        request.set_gateway_id(absl::StrCat("retention-gateway-", s));
        request.set_sequence(sequence);
        const int64_t now_micros = absl::ToUnixMicros(absl::Now());
        for (int i = 0; i < batch; ++i) {
          plantmon::v1::IncomingReading* reading = request.add_readings();
          reading->set_device_id(device_ids[(s + i * 7) % device_ids.size()]);
          reading->set_measurement_value(i % 100);
          const int64_t micros = now_micros - i;
          reading->mutable_timestamp()->set_seconds(micros / 1000000);
          reading->mutable_timestamp()->set_nanos(static_cast<int>(micros % 1000000) * 1000);
        }
        Batch timing{absl::Now(), absl::InfinitePast()};
        plantmon::v1::StreamReadingsResponse ack;
        if (!stream->Write(request) || !stream->Read(&ack) || ack.accepted_count() != batch) {
          ++failures;
          break;
        }
        timing.acknowledged = absl::Now();
        std::lock_guard<std::mutex> lock(mu);
        batches.push_back(timing);
      }
      stream->WritesDone();
      if (!stream->Finish().ok()) ++failures;
    });
  }

  // The keeper's round, a third of the way in.
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_seconds)) / 3);
  plantmon::storage::PartitionPolicy policy;
  policy.raw_retention = absl::Hours(24 * 14);
  const absl::Time round_start = absl::Now();
  absl::StatusOr<plantmon::storage::PartitionRound> round =
      plantmon::storage::KeepPartitions(config, absl::Now(), policy);
  const absl::Time round_end = absl::Now();
  for (std::thread& gateway : gateways) gateway.join();
  if (!round.ok()) {
    std::fprintf(stderr, "keeper round failed: %s\n", round.status().ToString().c_str());
    return 1;
  }

  std::vector<double> during_ms;
  std::vector<double> outside_ms;
  for (const Batch& timing : batches) {
    const double ms = absl::ToDoubleMilliseconds(timing.acknowledged - timing.sent);
    const bool overlaps = timing.sent < round_end && timing.acknowledged > round_start;
    (overlaps ? during_ms : outside_ms).push_back(ms);
  }
  std::printf("keeper round: %.1f ms, dropped %zu partitions (%s)\n",
              absl::ToDoubleMilliseconds(round_end - round_start), round->dropped.size(),
              absl::StrJoin(round->dropped, ", ").c_str());
  std::printf("batches of %d acknowledged: %zu (%zu overlapping the round), failures: %d\n", batch,
              batches.size(), during_ms.size(), failures.load());
  std::printf("ack latency, batches overlapping the round: p50 %.1f ms, max %.1f ms\n",
              Percentile(during_ms, 0.5), Percentile(during_ms, 1.0));
  std::printf("ack latency, all other batches:             p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              Percentile(outside_ms, 0.5), Percentile(outside_ms, 0.99),
              Percentile(outside_ms, 1.0));
  return failures == 0 && !round->dropped.empty() ? 0 : 1;
}
