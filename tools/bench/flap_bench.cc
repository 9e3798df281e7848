// Flap benchmark (issue 12): one UploadReadings batch of 2,000 readings
// alternating across a "soil moisture < 25" threshold, for a device whose
// plant has 5 such rules (no hysteresis: every pair opens and resolves an
// alert, 5,000 alerts a batch) against the same batch for a device whose
// plant has none, alternated in one run. Prints each side's median commit
// time and their ratio.
//
// Needs a running plantmon_server (--port) and its database in POSTGRES_DB_*;
// tools/bench/run_flap.sh sets that up.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "postgres/database_config.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(int, port, 50051, "plantmon_server port");
ABSL_FLAG(int, readings, 2000, "readings per batch");
ABSL_FLAG(int, rules, 5, "rules on the watched plant");
ABSL_FLAG(int, rounds, 7, "batches each way");
ABSL_FLAG(double, hysteresis, 0, "the rules' hysteresis");
ABSL_FLAG(int, for_duration_s, 0, "the rules' for_duration, in seconds");

// NOLINTNEXTLINE(bugprone-exception-escape): a bench stops on the first exception.
int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int count = absl::GetFlag(FLAGS_readings);
  const plantmon::postgres::DatabaseConfig config = plantmon::bench::DatabaseConfigOrExit();
  pqxx::connection admin(plantmon::postgres::LibpqConnectionString(config));
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)),
                                     grpc::InsecureChannelCredentials());
  std::optional<plantmon::v1::LoginResponse> login =
      plantmon::bench::SignUpAndLogin(channel, "flapbench", "bench-password");
  if (!login) {
    std::fprintf(stderr, "cannot log in\n");
    return 1;
  }
  const int64_t user = login->user().id();
  int64_t watched = 0;
  int64_t unwatched = 0;
  {
    pqxx::work setup(admin);
    setup.exec("INSERT INTO manufacturers (name) VALUES ('Flap') ON CONFLICT DO NOTHING");
    setup.exec(
        "INSERT INTO device_types (manufacturer_id, name, device_type, data_unit, min_value, "
        "max_value) SELECT id, 'Flap probe', 'sensor', '%', 0, 100 FROM manufacturers "
        "WHERE name = 'Flap' ON CONFLICT DO NOTHING");
    setup.exec("INSERT INTO plant_types (name) VALUES ('Flap fern') ON CONFLICT DO NOTHING");
    for (const char* name : {"watched", "unwatched"}) {
      const auto device =
          setup
              .exec_params1(
                  "INSERT INTO devices (user_id, device_type_id, unique_identifier, "
                  "device_name) SELECT $1, t.id, 'flap-' || $2, $2 FROM device_types t "
                  "WHERE t.name = 'Flap probe' RETURNING id",
                  user, std::string(name))[0]
              .as<int64_t>();
      const auto plant =
          setup
              .exec_params1(
                  "INSERT INTO plants (user_id, plant_type_id, plant_name) SELECT $1, "
                  "t.id, $2 FROM plant_types t WHERE t.name = 'Flap fern' RETURNING id",
                  user, std::string(name))[0]
              .as<int64_t>();
      setup.exec_params(
          "INSERT INTO plant_device_assignments (plant_id, device_id, assignment_type) "
          "VALUES ($1, $2, 'soil_moisture')",
          plant, device);
      (std::string(name) == "watched" ? watched : unwatched) = device;
      if (std::string(name) != "watched") continue;
      setup.exec_params(
          "INSERT INTO alert_rules (user_id, plant_id, rule_name, rule_type, parameter_name, "
          "condition_operator, threshold_value, hysteresis, for_duration) SELECT $1, $2, "
          "'Dry ' || g, 'threshold', 'soil_moisture', '<', 25, $4, $5 * interval '1 second' "
          "FROM generate_series(1, $3) g",
          user, plant, absl::GetFlag(FLAGS_rules), absl::GetFlag(FLAGS_hysteresis),
          absl::GetFlag(FLAGS_for_duration_s));
    }
    setup.commit();
  }

  auto telemetry = plantmon::v1::TelemetryService::NewStub(channel);
  int64_t next_second = absl::ToUnixSeconds(absl::Now()) - 10 * 24 * 3600;
  auto upload = [&](int64_t device) {
    plantmon::v1::UploadReadingsRequest request;
    for (int i = 0; i < count; ++i) {
      plantmon::v1::IncomingReading* reading = request.add_readings();
      reading->set_device_id(device);
      reading->set_measurement_value(i % 2 == 0 ? 20 : 27);
      reading->mutable_timestamp()->set_seconds(next_second++);
    }
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + login->access_token());
    plantmon::v1::UploadReadingsResponse response;
    const absl::Time start = absl::Now();
    auto writer = telemetry->UploadReadings(&context, &response);
    writer->Write(request);
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (!status.ok() || response.accepted_count() != count) {
      std::fprintf(stderr, "upload: %s (%lld accepted)\n", status.error_message().c_str(),
                   static_cast<long long>(response.accepted_count()));
      std::exit(1);
    }
    return ms;
  };
  upload(unwatched);  // warm up both paths
  upload(watched);
  std::vector<double> with_rules;
  std::vector<double> without;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    without.push_back(upload(unwatched));
    with_rules.push_back(upload(watched));
  }
  pqxx::nontransaction query(admin);
  const auto alerts = query.exec1("SELECT count(*) FROM alerts")[0].as<int64_t>();
  const double with_p50 = plantmon::bench::Percentile(with_rules, 0.5);
  const double without_p50 = plantmon::bench::Percentile(without, 0.5);
  std::printf("readings=%d rules=%d hysteresis=%g for_duration=%ds rounds=%d alerts_written=%lld\n",
              count, absl::GetFlag(FLAGS_rules), absl::GetFlag(FLAGS_hysteresis),
              absl::GetFlag(FLAGS_for_duration_s), absl::GetFlag(FLAGS_rounds),
              static_cast<long long>(alerts));
  std::printf("batch with %d rules: p50 %.1f ms (max %.1f)\n", absl::GetFlag(FLAGS_rules), with_p50,
              *std::max_element(with_rules.begin(), with_rules.end()));
  std::printf("batch without rules: p50 %.1f ms (max %.1f)\n", without_p50,
              *std::max_element(without.begin(), without.end()));
  std::printf("ratio: %.2f (with rules / without; the target is at most 5)\n",
              with_p50 / without_p50);
  return 0;
}
