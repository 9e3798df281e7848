#ifndef PLANTMON_SERVICES_GRPC_STATUS_H_
#define PLANTMON_SERVICES_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace plantmon::services {

// The one conversion from absl::Status to grpc::Status. Both enumerate the
// canonical codes with the same numbers (checked at compile time in the .cc).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_GRPC_STATUS_H_
