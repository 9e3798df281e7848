#ifndef PLANTMON_STORAGE_MESSAGE_ROWS_H_
#define PLANTMON_STORAGE_MESSAGE_ROWS_H_

// The create and masked update every repository on a message table does, in
// one transaction each, with the entity's own checks as hooks: `before` runs
// first (a referenced row exists, the caller owns it), `after` sees the
// written row and can still refuse it (the transaction then rolls back).

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/field_mask.pb.h"
#include "postgres/message_table.h"
#include "postgres/transaction.h"
#include "storage/models.h"
#include "storage/row_reader.h"

namespace plantmon::storage {

using BeforeWrite = std::function<absl::Status(pqxx::work&)>;

// Runs `read` in autocommit on a pooled connection.
template <typename Message>
absl::StatusOr<Message> ReadMessage(postgres::ConnectionPool& pool,
                                    const postgres::MessageRead& read) {
  return postgres::RunReadOnly(
      pool, [&](pqxx::transaction_base& transaction) -> absl::StatusOr<Message> {
        pqxx::result rows = postgres::ExecutePrepared(transaction, read.statement);
        if (rows.empty()) return read.not_found;
        return read.table->Read<Message>(rows[0]);
      });
}

// The row `id` of `table` (NOT_FOUND naming `what` when there is none).
inline postgres::MessageRead MessageByIdRead(const postgres::MessageTable& table,
                                             absl::string_view what, int64_t id) {
  return {{absl::StrCat("SELECT ", table.select_list(), " FROM ", table.table(), " WHERE id = $1"),
           {absl::StrCat(id)}},
          &table,
          NotFound(what, id)};
}

// The same for a table of owned rows: a row of another user is NOT_FOUND too.
inline postgres::MessageRead OwnedMessageRead(const postgres::MessageTable& table,
                                              absl::string_view what, int64_t owner_id,
                                              int64_t id) {
  return {{absl::StrCat("SELECT ", table.select_list(), " FROM ", table.table(),
                        " WHERE id = $1 AND user_id = $2"),
           {absl::StrCat(id), absl::StrCat(owner_id)}},
          &table,
          NotFound(what, id)};
}

template <typename Message>
absl::StatusOr<Message> GetOwnedMessage(postgres::ConnectionPool& pool,
                                        const postgres::MessageTable& table, absl::string_view what,
                                        int64_t owner_id, int64_t id) {
  return ReadMessage<Message>(pool, OwnedMessageRead(table, what, owner_id, id));
}

// The statement OwnedListRead runs: $1 the owner, $2 the id to list
// after, then `filter_count` filters, then the page's limit. $2 comes from a
// page token, which a client can forge: as a bigint it compares with the
// integer ids for any value (an empty page past the last id) instead of
// failing the statement out of range, which on the pipelined reader would
// also skip the reads sent behind it.
inline std::string OwnedListStatement(const postgres::MessageTable& table,
                                      absl::string_view filters, size_t filter_count) {
  return absl::StrCat("SELECT ", table.select_list(), " FROM ", table.table(),
                      " WHERE user_id = $1 AND id > $2::bigint ", filters, " ORDER BY id LIMIT $",
                      filter_count + 3);
}

// The read of a page of the owner's rows of `table` in id order after
// `page.after_id`: those `filters` (SQL conditions on $3 on, bound to
// `filter_values` in order) let through. It runs on a pooled connection
// (ReadMessages) or on the pipelined reader (services/rpc_service.h).
template <typename... Values>
postgres::MessageListRead OwnedListRead(const postgres::MessageTable& table, int64_t owner_id,
                                        const PageRequest& page, absl::string_view filters,
                                        const Values&... filter_values) {
  return {{OwnedListStatement(table, filters, sizeof...(Values)),
           {postgres::ParamText(owner_id), postgres::ParamText(page.after_id),
            postgres::ParamText(filter_values)..., postgres::ParamText(page.limit)}},
          &table};
}

// Runs `read` in autocommit on a pooled connection.
template <typename Message>
absl::StatusOr<std::vector<Message>> ReadMessages(postgres::ConnectionPool& pool,
                                                  const postgres::MessageListRead& read) {
  return postgres::RunReadOnly(
      pool, [&](pqxx::transaction_base& transaction) -> absl::StatusOr<std::vector<Message>> {
        std::vector<Message> messages;
        for (const pqxx::row& row : postgres::ExecutePrepared(transaction, read.statement)) {
          messages.push_back(read.table->Read<Message>(row));
        }
        return messages;
      });
}

template <typename Message>
absl::StatusOr<Message> InsertMessage(
    postgres::ConnectionPool& pool, const postgres::MessageTable& table, const Message& values,
    const std::vector<std::pair<std::string, std::string>>& fixed = {},
    const BeforeWrite& before = nullptr) {
  return postgres::RunInTransaction(pool, [&](pqxx::work& transaction) -> absl::StatusOr<Message> {
    if (before) {
      if (absl::Status status = before(transaction); !status.ok()) return status;
    }
    Message row;
    postgres::InsertRow(transaction, table, values, fixed, &row);
    return row;
  });
}

// Updates the row `where` selects (NOT_FOUND naming `what` and `id` when none).
template <typename Message>
absl::StatusOr<Message> UpdateMessage(
    postgres::ConnectionPool& pool, const postgres::MessageTable& table, absl::string_view what,
    int64_t id, const std::string& where,
    const std::vector<std::optional<std::string>>& where_params, const Message& values,
    const google::protobuf::FieldMask& mask, const BeforeWrite& before = nullptr,
    const std::function<absl::Status(pqxx::work&, const Message&)>& after = nullptr) {
  return postgres::RunInTransaction(pool, [&](pqxx::work& transaction) -> absl::StatusOr<Message> {
    if (before) {
      if (absl::Status status = before(transaction); !status.ok()) return status;
    }
    Message row;
    if (!postgres::UpdateRow(transaction, table, values, mask, where, where_params, &row)) {
      return NotFound(what, id);
    }
    if (after) {
      if (absl::Status status = after(transaction, row); !status.ok()) return status;
    }
    return row;
  });
}

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_MESSAGE_ROWS_H_
