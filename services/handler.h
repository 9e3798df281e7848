#ifndef PLANTMON_SERVICES_HANDLER_H_
#define PLANTMON_SERVICES_HANDLER_H_

// Steps that handler bodies share (services/rpc_service.h runs the bodies).

#include "absl/status/status.h"
#include "services/auth/authenticator.h"

namespace plantmon::services {

// A handler's last step: the repository's answer becomes the response.
template <typename T>
absl::Status Respond(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return result.status();
  *response = *std::move(result);
  return absl::OkStatus();
}

inline absl::Status RequireAdmin(const auth::Caller& caller) {
  if (caller.is_admin()) return absl::OkStatus();
  return absl::PermissionDeniedError(
      "only administrators can do this (grant with `plantmon_db grant-admin`)");
}

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_HANDLER_H_
