// Aggregate benchmark: AggregateSensorData of 30 days in hourly buckets for
// one device (one reading a minute), latency measured by a gRPC client, beside
// the statements the server chooses between, on a plain connection in the same
// run: the one that reads hourly rollups (migration 0023) for whole hours and
// raw rows at the edges, and the one that scans raw rows only. Then the same
// in UTC day buckets, where whole days come from daily rollups (migration
// 0027, summed here by a round of the keeper's job), beside the rollup
// statement told to read hourly rows only; with --days of 395 or more, also a
// year in month buckets.
//
// Needs a running plantmon_server (--port) and its database in POSTGRES_DB_*;
// tools/bench/run_aggregate.sh sets that up.

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "postgres/database_config.h"
#include "storage/partition_keeper.h"
#include "storage/telemetry_repository.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(int, port, 50051, "plantmon_server port");
ABSL_FLAG(int, devices, 20, "devices, each with a reading a minute");
ABSL_FLAG(int, days, 60, "days of readings per device");
ABSL_FLAG(int, iterations, 100, "queries per statement");

// A tool that meets an unexpected libpqxx or gRPC exception should stop with
// it (std::terminate prints its what()), not carry on with half a setup.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  using ::plantmon::bench::PrintLatency;
  using ::plantmon::storage::TelemetryRepository;
  absl::ParseCommandLine(argc, argv);
  const int device_count = absl::GetFlag(FLAGS_devices);
  const int64_t minutes = absl::GetFlag(FLAGS_days) * int64_t{1440};
  const plantmon::postgres::DatabaseConfig config = plantmon::bench::DatabaseConfigOrExit();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)),
                                     grpc::InsecureChannelCredentials());
  std::optional<plantmon::v1::LoginResponse> signed_in =
      plantmon::bench::SignUpAndLogin(channel, "aggregatebench", "bench-password");
  if (!signed_in) return 1;
  const plantmon::v1::LoginResponse login = *signed_in;

  // One reading a minute per device, ending now; the rollups are written by
  // the trigger as the rows go in, as they are for ingest.
  const int64_t end_seconds = absl::ToUnixSeconds(absl::Now()) / 60 * 60;
  const int64_t start_seconds = end_seconds - minutes * 60;
  const std::vector<int64_t> device_ids = plantmon::bench::FillMinuteReadings(
      config, login.user().id(), "AB", device_count, start_seconds, minutes);
  pqxx::connection connection(plantmon::postgres::LibpqConnectionString(config));

  // Daily rollups, as the keeper's hourly round would have summed them.
  absl::StatusOr<plantmon::storage::PartitionRound> kept =
      plantmon::storage::KeepPartitions(config, absl::Now(), plantmon::storage::PartitionPolicy());
  if (!kept.ok()) {
    std::fprintf(stderr, "keeper round: %s\n", kept.status().ToString().c_str());
    return 1;
  }

  auto telemetry = plantmon::v1::TelemetryService::NewStub(channel);
  const int iterations = absl::GetFlag(FLAGS_iterations);
  int wrong = 0;
  // `span_days` days in `unit` buckets in UTC, ending at a random minute of
  // the last (days - span_days) days, so the range begins and ends inside an
  // hour, as a client's "last 30 days" does: over gRPC, then the rollup statement (with
  // the whole days daily rollups may answer, and with none: hourly rows
  // only), then the raw-scan statement.
  auto measure = [&](const std::string& unit, int span_days) {
    std::mt19937_64 random(1);
    std::uniform_int_distribution<int> pick_device(0, device_count - 1);
    std::uniform_int_distribution<int64_t> pick_end(0, minutes - span_days * 1440);
    std::vector<double> grpc_ms;
    std::vector<double> daily_sql_ms;
    std::vector<double> hourly_sql_ms;
    std::vector<double> raw_sql_ms;
    for (int i = 0; i < iterations + 10; ++i) {  // the first 10 warm up
      const int64_t device = device_ids[pick_device(random)];
      const int64_t to = end_seconds - pick_end(random) * 60 - 17;
      const int64_t from = to - span_days * 86400;
      plantmon::v1::AggregateSensorDataRequest request;
      request.set_device_id(device);
      request.mutable_start_time()->set_seconds(from);
      request.mutable_end_time()->set_seconds(to);
      request.set_calendar_unit(unit);
      plantmon::v1::AggregateSensorDataResponse response;
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + login.access_token());
      absl::Time before = absl::Now();
      grpc::Status status = telemetry->AggregateSensorData(&context, request, &response);
      double took = absl::ToDoubleMilliseconds(absl::Now() - before);
      int64_t grpc_count = 0;
      for (const auto& bucket : response.buckets()) grpc_count += bucket.count();
      const size_t least_buckets = unit == "hour" ? span_days * 24 : unit == "day" ? span_days : 1;
      if (!status.ok() || static_cast<size_t>(response.buckets_size()) < least_buckets ||
          grpc_count != span_days * 1440) {
        std::printf("wrong over gRPC: %s, %d buckets, %lld readings (%lld to %lld)\n",
                    status.error_message().c_str(), response.buckets_size(),
                    static_cast<long long>(grpc_count), static_cast<long long>(from),
                    static_cast<long long>(to));
        ++wrong;
      }
      if (i >= 10) grpc_ms.push_back(took);

      // The statements on a plain connection: the database's share.
      const int64_t from_us = from * 1000000;
      const int64_t to_us = to * 1000000;
      const int64_t hours_from = (from / 3600 + 1) * 3600 * 1000000;
      const int64_t hours_to = to / 3600 * 3600 * 1000000;
      const int64_t days_from = (from / 86400 + 1) * 86400 * 1000000;
      const int64_t days_to = to / 86400 * 86400 * 1000000;
      const std::optional<int> no_quality;
      const std::optional<std::string> primary;
      enum class Source { kDaily, kHourly, kRaw };
      for (Source source : {Source::kDaily, Source::kHourly, Source::kRaw}) {
        if (source == Source::kDaily && unit == "hour") continue;
        pqxx::nontransaction raw(connection);
        before = absl::Now();
        const std::string& sql = TelemetryRepository::AggregateStatement(source != Source::kRaw);
        pqxx::result rows =
            source == Source::kRaw
                ? raw.exec_params(sql, device, from_us, to_us, int64_t{3600000000}, no_quality,
                                  false, primary, unit, std::string("UTC"))
                : raw.exec_params(sql, device, from_us, to_us, int64_t{3600000000}, no_quality,
                                  false, primary, unit, std::string("UTC"), hours_from, hours_to,
                                  source == Source::kDaily ? days_from : hours_from,
                                  source == Source::kDaily ? days_to : hours_from);
        took = absl::ToDoubleMilliseconds(absl::Now() - before);
        int64_t count = 0;
        for (const auto& row : rows) count += row[2].as<int64_t>();
        // 721 hours (or 31 days) overlap the range; the first holds no
        // reading when the range begins after its last minute.
        if (rows.size() != static_cast<size_t>(response.buckets_size()) ||
            count != span_days * 1440) {
          std::printf("wrong statement (%d): %zu buckets, %lld readings (%lld to %lld)\n",
                      static_cast<int>(source), rows.size(), static_cast<long long>(count),
                      static_cast<long long>(from), static_cast<long long>(to));
          ++wrong;
        }
        if (i >= 10) {
          (source == Source::kDaily    ? daily_sql_ms
           : source == Source::kHourly ? hourly_sql_ms
                                       : raw_sql_ms)
              .push_back(took);
        }
      }
    }
    PrintLatency(
        absl::StrCat("AggregateSensorData over gRPC (", span_days, " days, ", unit, " buckets): "),
        grpc_ms);
    if (!daily_sql_ms.empty()) {
      PrintLatency("  its statement, daily rollups, plain connection:   ", daily_sql_ms);
    }
    PrintLatency("  its statement, hourly rollups, plain connection:  ", hourly_sql_ms);
    PrintLatency("  the raw-scan statement, plain connection:         ", raw_sql_ms);
  };
  measure("hour", 30);
  measure("day", 30);
  // A year in months, where a daily row stands for 24 hourly ones.
  if (minutes >= 395 * 1440) measure("month", 365);
  std::printf("iterations: %d, wrong answers: %d\n", iterations, wrong);
  return wrong == 0 ? 0 : 1;
}
