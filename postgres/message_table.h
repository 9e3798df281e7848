#ifndef PLANTMON_POSTGRES_MESSAGE_TABLE_H_
#define PLANTMON_POSTGRES_MESSAGE_TABLE_H_

// A table whose rows are read and written as an API message: one column per
// field, each named as its field, listed once in a column table. The table
// drives the select list, row reading, the INSERT and the masked UPDATE, so a
// new nullable column is a migration, a proto field and its validation, plus
// its name in the column table when clients may not write it
// (CONTRIBUTING.md, "Add a field").
//
// Values travel as text parameters with an explicit cast (never inside the
// SQL). Field types map as: int32/int64 -> integer/bigint, double, bool,
// string -> text, a proto enum -> the PostgreSQL enum type named in the
// column (values are the proto value names without the enum's prefix, in
// lower case: DEVICE_KIND_SENSOR <-> 'sensor'), google.protobuf.Timestamp ->
// timestamptz (as epoch microseconds, exact), google.protobuf.Duration ->
// interval (as microseconds; an interval of days or months would read as
// 24-hour days and 30-day months; an unset one is 0). Any other field without
// a value (proto3 `optional` or a message field) is NULL.

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"

namespace plantmon::postgres {

enum class ColumnAccess {
  kReadOnly,    // set by the database or the server: ids, owners, timestamps
  kCreateOnly,  // written at creation, never by an update
  kWritable,    // written at creation and by updates that name it
};

struct Column {
  std::string name;  // the column, and the field of the message
  ColumnAccess access = ColumnAccess::kWritable;
  std::string enum_type = {};  // PostgreSQL type of an enum field
};

// The usual column table: every field of a message is a column named as the
// field, in field order, writable unless named otherwise here. A new writable
// column then needs no line at all; a read-only or create-only one, its name.
//
//   FieldColumns().ReadOnly({"id", "user_id", "created_at", "updated_at"})
class FieldColumns {
 public:
  // `others`: the access of every field not named by ReadOnly, CreateOnly or
  // Writable.
  explicit FieldColumns(ColumnAccess others = ColumnAccess::kWritable) : others_(others) {}

  FieldColumns& ReadOnly(std::vector<std::string> fields);
  FieldColumns& CreateOnly(std::vector<std::string> fields);
  FieldColumns& Writable(std::vector<std::string> fields);
  // The PostgreSQL enum type of an enum field.
  FieldColumns& Enum(std::string field, std::string enum_type);
  // Fields that are no column of this table (stored elsewhere or computed).
  FieldColumns& Skip(std::vector<std::string> fields);

  // The columns of `message`. A name above that is no field of it aborts,
  // as a schema bug should.
  std::vector<Column> Of(const google::protobuf::Descriptor* message) const;

 private:
  FieldColumns& Give(std::vector<std::string> fields, ColumnAccess access);

  ColumnAccess others_;
  std::vector<std::pair<std::string, ColumnAccess>> access_;
  std::vector<std::pair<std::string, std::string>> enum_types_;
  std::vector<std::string> skipped_;
};

// A statement and its parameters, in order.
struct Statement {
  std::string sql;
  std::vector<std::optional<std::string>> params;

  // Appends a parameter and returns its placeholder ("$3").
  std::string Add(std::optional<std::string> value);
};

// A value as a statement parameter, in the text libpqxx would send for it
// (ExecPrepared): integers in decimal, booleans as true/false, an empty
// optional as NULL.
template <typename Value>
std::optional<std::string> ParamText(const Value& value) {
  if constexpr (std::is_same_v<Value, bool>) {
    return std::string(value ? "true" : "false");
  } else if constexpr (std::is_integral_v<Value>) {
    return std::to_string(value);
  } else {
    return std::string(value);
  }
}
template <typename Value>
std::optional<std::string> ParamText(const std::optional<Value>& value) {
  if (!value.has_value()) return std::nullopt;
  return ParamText(*value);
}

class MessageTable {
 public:
  // Every column must name a field of `message` (checked: a typo aborts at
  // start-up, as a schema bug should).
  MessageTable(std::string table, const google::protobuf::Descriptor* message,
               std::vector<Column> columns);
  MessageTable(std::string table, const google::protobuf::Descriptor* message,
               const FieldColumns& columns)
      : MessageTable(std::move(table), message, columns.Of(message)) {}

  const std::string& table() const { return table_; }
  // The columns in order, ready for SELECT or RETURNING.
  const std::string& select_list() const { return select_list_; }
  // The same, each column qualified with `alias` (for joins).
  std::string SelectList(const std::string& alias) const;
  size_t column_count() const { return columns_.size(); }
  // The fields an update may name.
  const std::vector<std::string>& updatable() const { return updatable_; }

  // Reads a row selected with select_list() into `out`; with `first_column`,
  // the select list starts at that column of the row.
  void Read(const pqxx::row& row, google::protobuf::Message* out, int first_column = 0) const;
  template <typename Message>
  Message Read(const pqxx::row& row) const {
    Message message;
    Read(row, &message);
    return message;
  }
  // The same from a row given as its columns' text (nullopt for NULL), for
  // results libpqxx does not hold (pipelined_reader.h).
  using ColumnText = absl::FunctionRef<std::optional<std::string_view>(int column)>;
  void ReadText(ColumnText column_text, google::protobuf::Message* out, int first_column = 0) const;

  // INSERT of the create-only and writable fields of `values`, plus `fixed`
  // (column, value) pairs the server decides (the owner), RETURNING the row.
  Statement Insert(const google::protobuf::Message& values,
                   const std::vector<std::pair<std::string, std::string>>& fixed) const;

  // UPDATE of every writable field from `values` for the rows `where` selects
  // (its placeholders are taken from `where_params`, $1 on), RETURNING them.
  Statement Update(const google::protobuf::Message& values, const std::string& where,
                   std::vector<std::optional<std::string>> where_params) const;

 private:
  // Column i's value in `values` as a statement parameter (nullopt: NULL).
  std::optional<std::string> Param(const google::protobuf::Message& values, size_t i) const;
  // The placeholder with column i's cast, e.g. "$4::double precision".
  std::string Cast(const std::string& placeholder, size_t i) const;

  std::string table_;
  std::vector<Column> columns_;
  std::vector<const google::protobuf::FieldDescriptor*> fields_;  // per column
  // Per column: the prefix of an enum field's value names ("DEVICE_KIND_"), once.
  std::vector<std::string> enum_prefixes_;
  std::string select_list_;
  std::vector<std::string> updatable_;
};

// How PostgreSQL spells a proto enum value: DEVICE_KIND_SENSOR -> "sensor".
std::string DatabaseEnumName(const google::protobuf::EnumValueDescriptor* value);

// Runs `statement` in `transaction`.
pqxx::result Execute(pqxx::transaction_base& transaction, const Statement& statement);
// The same as a prepared statement of the connection (ExecPrepared), for a
// statement of fixed text.
pqxx::result ExecutePrepared(pqxx::transaction_base& transaction, const Statement& statement);

// A read of at most one row of a message table, described by storage for
// whichever runs it: storage's ReadMessage on a pooled connection, or the
// pipelined reader (services/rpc_service.h). The statement has fixed text and
// selects `table`'s select_list(); `not_found` is the answer when it finds no
// row.
struct MessageRead {
  Statement statement;
  const MessageTable* table = nullptr;
  absl::Status not_found;
};

// The same for a read of any number of rows (a list page), each into a
// message of its own.
struct MessageListRead {
  Statement statement;
  const MessageTable* table = nullptr;
};

// Applies `mask` (FieldMaskUtil: paths named but unset in `values` are
// cleared) from `values` onto `current`.
void MergeMasked(const google::protobuf::Message& values, const google::protobuf::FieldMask& mask,
                 google::protobuf::Message* current);

// Inserts `values` (MessageTable::Insert) and reads the new row into `out`.
void InsertRow(pqxx::transaction_base& transaction, const MessageTable& table,
               const google::protobuf::Message& values,
               const std::vector<std::pair<std::string, std::string>>& fixed,
               google::protobuf::Message* out);

// The masked update of one row: locks the row `where` selects, applies `mask`
// from `values` to it, writes its writable columns back and reads the result
// into `out`. False when `where` selects no row. The caller has checked the
// mask names only writable fields.
bool UpdateRow(pqxx::transaction_base& transaction, const MessageTable& table,
               const google::protobuf::Message& values, const google::protobuf::FieldMask& mask,
               const std::string& where,
               const std::vector<std::optional<std::string>>& where_params,
               google::protobuf::Message* out);

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_MESSAGE_TABLE_H_
