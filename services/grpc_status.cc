#include "services/grpc_status.h"

#include <string>

namespace plantmon::services {
namespace {

#define PLANTMON_SAME_CODE(absl_name, grpc_name)                   \
  static_assert(static_cast<int>(absl::StatusCode::absl_name) ==   \
                    static_cast<int>(grpc::StatusCode::grpc_name), \
                #absl_name " differs between Abseil and gRPC")
PLANTMON_SAME_CODE(kOk, OK);
PLANTMON_SAME_CODE(kCancelled, CANCELLED);
PLANTMON_SAME_CODE(kUnknown, UNKNOWN);
PLANTMON_SAME_CODE(kInvalidArgument, INVALID_ARGUMENT);
PLANTMON_SAME_CODE(kDeadlineExceeded, DEADLINE_EXCEEDED);
PLANTMON_SAME_CODE(kNotFound, NOT_FOUND);
PLANTMON_SAME_CODE(kAlreadyExists, ALREADY_EXISTS);
PLANTMON_SAME_CODE(kPermissionDenied, PERMISSION_DENIED);
PLANTMON_SAME_CODE(kResourceExhausted, RESOURCE_EXHAUSTED);
PLANTMON_SAME_CODE(kFailedPrecondition, FAILED_PRECONDITION);
PLANTMON_SAME_CODE(kAborted, ABORTED);
PLANTMON_SAME_CODE(kOutOfRange, OUT_OF_RANGE);
PLANTMON_SAME_CODE(kUnimplemented, UNIMPLEMENTED);
PLANTMON_SAME_CODE(kInternal, INTERNAL);
PLANTMON_SAME_CODE(kUnavailable, UNAVAILABLE);
PLANTMON_SAME_CODE(kDataLoss, DATA_LOSS);
PLANTMON_SAME_CODE(kUnauthenticated, UNAUTHENTICATED);
#undef PLANTMON_SAME_CODE

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace plantmon::services
