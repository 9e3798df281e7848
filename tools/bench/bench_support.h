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

namespace plantmon::bench {

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
