#ifndef PLANTMON_SERVICES_HANDLER_H_
#define PLANTMON_SERVICES_HANDLER_H_

// The shape every RPC handler takes: authenticate, run a body that validates,
// authorizes, calls storage and maps, then convert its status once.

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "postgres/request_deadline.h"
#include "services/auth/authenticator.h"
#include "services/grpc_status.h"

namespace plantmon::services {

// The client's deadline, which storage passes on to PostgreSQL.
inline absl::Time CallDeadline(const grpc::ServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

// For methods that need a signed-in caller: `body(const auth::Caller&)`
// returns absl::Status.
template <typename Body>
grpc::Status HandleAuthenticated(auth::Authenticator& authenticator, grpc::ServerContext* context,
                                 Body&& body) {
  postgres::ScopedRequestDeadline deadline(CallDeadline(*context));
  absl::StatusOr<auth::Caller> caller = authenticator.Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  return ToGrpcStatus(body(*caller));
}

// For the ingestion methods, which also take API keys.
template <typename Body>
grpc::Status HandleIngestion(auth::Authenticator& authenticator, grpc::ServerContext* context,
                             Body&& body) {
  postgres::ScopedRequestDeadline deadline(CallDeadline(*context));
  absl::StatusOr<auth::Caller> caller = authenticator.AuthenticateForIngestion(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  return ToGrpcStatus(body(*caller));
}

// For the public methods (sign-up, login): `body()` returns absl::Status.
template <typename Body>
grpc::Status HandlePublic(grpc::ServerContext* context, Body&& body) {
  postgres::ScopedRequestDeadline deadline(CallDeadline(*context));
  return ToGrpcStatus(body());
}

// Catalogue writes and user management.
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
