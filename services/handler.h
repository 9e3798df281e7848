#ifndef PLANTMON_SERVICES_HANDLER_H_
#define PLANTMON_SERVICES_HANDLER_H_

// Steps that handler bodies share (services/rpc_service.h runs the bodies).

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "postgres/message_table.h"
#include "services/auth/authenticator.h"
#include "services/status_macros.h"
#include "services/validation.h"

namespace plantmon::services {

// A handler's last step: the repository's answer becomes the response.
template <typename T>
absl::Status Respond(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return result.status();
  *response = *std::move(result);
  return absl::OkStatus();
}

// SignedInRead bodies for a request that names a row by `id`: the caller's
// own row, read with `read(owner_id, id)`, or a catalogue row anyone
// signed in may read, with `read(id)`.
template <typename Request>
auto OwnedRowById(postgres::MessageRead (*read)(int64_t owner_id, int64_t id)) {
  return [read](const auth::Caller& caller,
                const Request& request) -> absl::StatusOr<postgres::MessageRead> {
    RETURN_IF_ERROR(CheckId(request.id(), "id"));
    return read(caller.user_id(), request.id());
  };
}
template <typename Request>
auto CatalogRowById(postgres::MessageRead (*read)(int64_t id)) {
  return [read](const auth::Caller& /*caller*/,
                const Request& request) -> absl::StatusOr<postgres::MessageRead> {
    RETURN_IF_ERROR(CheckId(request.id(), "id"));
    return read(request.id());
  };
}

inline absl::Status RequireAdmin(const auth::Caller& caller) {
  if (caller.is_admin()) return absl::OkStatus();
  return absl::PermissionDeniedError(
      "only administrators can do this (grant with `plantmon_db grant-admin`)");
}

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_HANDLER_H_
