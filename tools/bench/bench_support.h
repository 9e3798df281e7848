#ifndef PLANTMON_TOOLS_BENCH_BENCH_SUPPORT_H_
#define PLANTMON_TOOLS_BENCH_BENCH_SUPPORT_H_

// Pieces the benchmark and drill programs share.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

// Signs `name` up (if not already) with `password` and logs in.
std::optional<v1::LoginResponse> SignUpAndLogin(const std::shared_ptr<grpc::Channel>& channel,
                                                const std::string& name,
                                                const std::string& password);

}  // namespace plantmon::bench

#endif  // PLANTMON_TOOLS_BENCH_BENCH_SUPPORT_H_
