#include "tools/bench/bench_support.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "storage/partition_keeper.h"

namespace plantmon::bench {

postgres::DatabaseConfig DatabaseConfigOrExit() {
  absl::StatusOr<postgres::DatabaseConfig> config =
      postgres::DatabaseConfigFromEnv(postgres::ProcessEnv);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    std::exit(1);
  }
  return *config;
}

int64_t ResidentKb(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "VmRSS:")) return std::atoll(line.c_str() + 6);
  }
  return 0;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

void PrintLatency(const std::string& label, const std::vector<double>& ms) {
  std::printf("%sp50 %.2f ms, p99 %.2f ms\n", label.c_str(), Percentile(ms, 0.5),
              Percentile(ms, 0.99));
}

std::optional<v1::LoginResponse> SignUpAndLogin(const std::shared_ptr<grpc::Channel>& channel,
                                                const std::string& name,
                                                const std::string& password) {
  auto users = v1::UserService::NewStub(channel);
  v1::CreateUserRequest create;
  create.mutable_user()->set_email(name + "@example.com");
  create.mutable_user()->set_username(name);
  create.set_password(password);
  v1::User user;
  grpc::ClientContext signup;
  users->CreateUser(&signup, create, &user);  // ALREADY_EXISTS on a rerun is fine
  v1::LoginRequest request;
  request.set_login(name);
  request.set_password(password);
  v1::LoginResponse login;
  grpc::ClientContext context;
  grpc::Status status = users->Login(&context, request, &login);
  if (!status.ok()) return std::nullopt;
  return login;
}

std::vector<int64_t> MakeDevices(const postgres::DatabaseConfig& config, int64_t user_id,
                                 const std::string& prefix, int device_count) {
  const std::string type_name = prefix + " probe";
  std::vector<int64_t> device_ids;
  pqxx::connection connection(postgres::LibpqConnectionString(config));
  pqxx::work setup(connection);
  setup.exec_params("INSERT INTO manufacturers (name) VALUES ($1) ON CONFLICT DO NOTHING", prefix);
  setup.exec_params(
      "INSERT INTO device_types (manufacturer_id, name, device_type, data_unit) "
      "SELECT id, $2, 'sensor', '%' FROM manufacturers WHERE name = $1 ON CONFLICT DO NOTHING",
      prefix, type_name);
  setup.exec_params(
      "INSERT INTO devices (user_id, device_type_id, unique_identifier, device_name) "
      "SELECT $1, t.id, $4 || '-' || g, $3 || ' ' || g FROM generate_series(1, $2) g, "
      "device_types t WHERE t.name = $5 ON CONFLICT DO NOTHING",
      user_id, device_count, prefix, absl::AsciiStrToLower(prefix), type_name);
  for (const auto& row :
       setup.exec_params("SELECT id FROM devices WHERE user_id = $1 ORDER BY id", user_id)) {
    device_ids.push_back(row[0].as<int64_t>());
  }
  setup.commit();
  return device_ids;
}

std::vector<int64_t> FillMinuteReadings(const postgres::DatabaseConfig& config, int64_t user_id,
                                        const std::string& prefix, int device_count,
                                        int64_t start_seconds, int64_t minutes) {
  std::vector<int64_t> device_ids = MakeDevices(config, user_id, prefix, device_count);
  pqxx::connection connection(postgres::LibpqConnectionString(config));
  const absl::Time fill_start = absl::Now();
  pqxx::work fill(connection);
  fill.exec_params(
      "INSERT INTO sensor_data (device_id, measurement_value, measurement_unit, \"timestamp\") "
      "SELECT d.id, random() * 100, '%', to_timestamp($2 + m * 60) "
      "FROM generate_series(0, $3 - 1) m CROSS JOIN "
      "(SELECT id FROM devices WHERE user_id = $1) d ORDER BY m, d.id",
      user_id, start_seconds, minutes);
  fill.commit();
  pqxx::nontransaction analyze(connection);
  analyze.exec("VACUUM ANALYZE sensor_data");
  analyze.exec("VACUUM ANALYZE sensor_data_hourly");
  const auto total = analyze.exec1("SELECT count(*) FROM sensor_data").front().as<int64_t>();
  std::printf("table: %lld rows (%d devices x %lld minutes), filled in %.1f s\n",
              static_cast<long long>(total), device_count, static_cast<long long>(minutes),
              absl::ToDoubleSeconds(absl::Now() - fill_start));
  return device_ids;
}

void PartitionWeeksSince(const postgres::DatabaseConfig& config, absl::Time since) {
  pqxx::connection connection(postgres::LibpqConnectionString(config));
  pqxx::work transaction(connection);
  if (transaction.exec1("SELECT count(*) FROM sensor_data")[0].as<int64_t>() != 0) {
    std::fprintf(stderr, "PartitionWeeksSince: sensor_data is not empty\n");
    std::exit(1);
  }
  // The migration's first week: where the new weeks stop (names sort as
  // their weeks do).
  const auto first = transaction
                         .exec1(
                             "SELECT min(c.relname) FROM pg_inherits i JOIN pg_class c "
                             "ON c.oid = i.inhrelid WHERE i.inhparent = 'sensor_data'::regclass "
                             "AND c.relname LIKE 'sensor_data_w%'")[0]
                         .as<std::string>();
  const absl::Time start = storage::WeekStart(since);
  transaction.exec("ALTER TABLE sensor_data DETACH PARTITION sensor_data_history");
  transaction.exec("DROP TABLE sensor_data_history");
  transaction.exec(absl::StrCat(
      "CREATE TABLE sensor_data_history PARTITION OF sensor_data FOR VALUES FROM (MINVALUE) TO (",
      storage::PartitionBoundLiteral(start), ")"));
  // As migration 0026 leaves every partition.
  transaction.exec("SELECT sensor_data_add_roll_up_trigger('sensor_data_history')");
  int weeks = 0;
  for (absl::Time week = start; storage::WeekPartitionName(week) < first;
       week += absl::Hours(24 * 7), ++weeks) {
    for (const std::string& statement : storage::WeekPartitionStatements(week)) {
      transaction.exec(statement);
    }
  }
  transaction.commit();
  std::printf("partitions: %d past weeks from %s, as a deployment running since then has them\n",
              weeks, absl::FormatTime("%Y-%m-%d", start, absl::UTCTimeZone()).c_str());
}

}  // namespace plantmon::bench
