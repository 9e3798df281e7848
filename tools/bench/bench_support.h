#ifndef PLANTMON_TOOLS_BENCH_BENCH_SUPPORT_H_
#define PLANTMON_TOOLS_BENCH_BENCH_SUPPORT_H_

// Pieces the benchmark and drill programs share.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "postgres/database_config.h"

namespace plantmon::bench {

// The database from POSTGRES_DB_*; a malformed one is printed on stderr and
// ends the program (exit status 1).
postgres::DatabaseConfig DatabaseConfigOrExit();

// Resident memory of a process in KiB (VmRSS), 0 when unknown.
int64_t ResidentKb(int pid);

// The p-quantile (0..1) of `values`; 0 for none.
double Percentile(std::vector<double> values, double p);

// Prints "<label>p50 X ms, p99 Y ms" for latencies in milliseconds.
void PrintLatency(const std::string& label, const std::vector<double>& ms);

// Signs `name` up (if not already) with `password` and logs in.
std::optional<v1::LoginResponse> SignUpAndLogin(const std::shared_ptr<grpc::Channel>& channel,
                                                const std::string& name,
                                                const std::string& password);

// Makes `device_count` devices of `user_id` (of a device type and maker
// named after `prefix`; kept when they exist); returns the user's device ids
// in order.
std::vector<int64_t> MakeDevices(const postgres::DatabaseConfig& config, int64_t user_id,
                                 const std::string& prefix, int device_count);

// Makes the devices as MakeDevices does and stores one reading a minute
// per device for `minutes` minutes from `start_seconds` (in one statement, so
// the rollup trigger folds them as it does a batch), then VACUUM ANALYZEs
// the tables read. Prints the table's size and the fill time; returns the
// devices' ids in order.
std::vector<int64_t> FillMinuteReadings(const postgres::DatabaseConfig& config, int64_t user_id,
                                        const std::string& prefix, int device_count,
                                        int64_t start_seconds, int64_t minutes);

// Lays sensor_data's partitions out as a deployment running since `since`
// has them: a partition per week from the week of `since` (the partition
// keeper makes each week before it comes, so past weeks' readings were
// stored in their own), with sensor_data_history ending there. On a fresh
// database the migration's history partition spans all the past, so a
// benchmark that fills past weeks calls this first. Needs sensor_data empty.
void PartitionWeeksSince(const postgres::DatabaseConfig& config, absl::Time since);

}  // namespace plantmon::bench

#endif  // PLANTMON_TOOLS_BENCH_BENCH_SUPPORT_H_
