#ifndef PLANTMON_SERVICES_HANDLER_H_
#define PLANTMON_SERVICES_HANDLER_H_

// Steps that handler bodies share (services/rpc_service.h runs the bodies).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "postgres/message_table.h"
#include "postgres/pipelined_reader.h"
#include "services/auth/authenticator.h"
#include "services/pagination.h"
#include "services/rpc_service.h"
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

// PageById for a SignedInListRead body: `read(storage::PageRequest)`
// describes the page's read (a postgres::MessageListRead of `Row`s, from
// storage) and, when its rows come, each row of the page goes to `emit` and
// `next_page_token` is set. Both are used after this returns, on the
// reader's thread: `emit` may capture the response (by pointer), not the
// body's locals.
template <typename Row, typename Read, typename Emit>
absl::StatusOr<ReaderCall> PageByIdRead(QueryFingerprint query, int32_t page_size,
                                        const std::string& page_token, Read&& read, Emit emit,
                                        std::string* next_page_token) {
  ASSIGN_OR_RETURN(PageCursor cursor, ParsePage(page_size, page_token, query, 1));
  postgres::MessageListRead list = read(PageByIdRequest(cursor));
  return ReaderCall{
      std::move(list.statement),
      [table = list.table, cursor = std::move(cursor), query = std::move(query),
       emit = std::move(emit), next_page_token](const PGresult* rows) -> absl::Status {
        // Rows become messages only until the page's byte cap is crossed
        // (FinishPage drops the row that crossed it, and a second row
        // keeps the token when the first alone is over it): a page of long
        // rows costs the reader's thread what it sends, not every row
        // fetched.
        std::vector<Row> page;
        size_t bytes = 0;
        for (int row = 0; row < PQntuples(rows); ++row) {
          if (bytes > kMaxResponseBytes && page.size() >= 2) break;
          RETURN_IF_ERROR(postgres::ReadTableRow(*table, rows, row, &page.emplace_back()));
          bytes += RowBytes(page.back(), 0) + kRepeatedElementOverhead;
        }
        EmitPageById(page, cursor, query, emit, next_page_token);
        return absl::OkStatus();
      }};
}

inline absl::Status RequireAdmin(const auth::Caller& caller) {
  if (caller.is_admin()) return absl::OkStatus();
  return absl::PermissionDeniedError(
      "only administrators can do this (grant with `plantmon_db grant-admin`)");
}

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_HANDLER_H_
