#include "postgres/message_table.h"

#include <cstdlib>
#include <iostream>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/time_util.h"
#include "postgres/field_text.h"
#include "postgres/transaction.h"

namespace plantmon::postgres {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::util::TimeUtil;

bool IsTimestamp(const FieldDescriptor* field) {
  return field->type() == FieldDescriptor::TYPE_MESSAGE &&
         field->message_type()->full_name() == "google.protobuf.Timestamp";
}

bool IsDuration(const FieldDescriptor* field) {
  return field->type() == FieldDescriptor::TYPE_MESSAGE &&
         field->message_type()->full_name() == "google.protobuf.Duration";
}

// "DeviceKind" -> "DEVICE_KIND_": the prefix every value of a Buf-style enum carries.
std::string EnumPrefix(const EnumDescriptor* type) {
  std::string prefix;
  for (char c : type->name()) {
    if (absl::ascii_isupper(c) && !prefix.empty()) prefix += '_';
    prefix += absl::ascii_toupper(c);
  }
  return prefix + "_";
}

std::string EpochMicros(const std::string& column) {
  return absl::StrCat("(extract(epoch FROM ", column, ") * 1000000)::bigint");
}

[[noreturn]] void SchemaBug(const std::string& what) {
  std::cerr << "message table: " << what << "\n";
  std::abort();
}

}  // namespace

std::string DatabaseEnumName(const google::protobuf::EnumValueDescriptor* value) {
  return absl::AsciiStrToLower(value->name().substr(EnumPrefix(value->type()).size()));
}

std::string Statement::Add(std::optional<std::string> value) {
  params.push_back(std::move(value));
  return absl::StrCat("$", params.size());
}

FieldColumns& FieldColumns::ReadOnly(std::vector<std::string> fields) {
  return Give(std::move(fields), ColumnAccess::kReadOnly);
}

FieldColumns& FieldColumns::CreateOnly(std::vector<std::string> fields) {
  return Give(std::move(fields), ColumnAccess::kCreateOnly);
}

FieldColumns& FieldColumns::Writable(std::vector<std::string> fields) {
  return Give(std::move(fields), ColumnAccess::kWritable);
}

FieldColumns& FieldColumns::Give(std::vector<std::string> fields, ColumnAccess access) {
  for (std::string& field : fields) access_.emplace_back(std::move(field), access);
  return *this;
}

FieldColumns& FieldColumns::Enum(std::string field, std::string enum_type) {
  enum_types_.emplace_back(std::move(field), std::move(enum_type));
  return *this;
}

FieldColumns& FieldColumns::Skip(std::vector<std::string> fields) {
  for (std::string& field : fields) skipped_.push_back(std::move(field));
  return *this;
}

std::vector<Column> FieldColumns::Of(const Descriptor* message) const {
  auto check_field = [message](const std::string& name) {
    if (message->FindFieldByName(name) == nullptr) {
      SchemaBug(absl::StrCat(name, " is no field of ", message->full_name()));
    }
  };
  for (const auto& [name, access] : access_) check_field(name);
  for (const auto& [name, enum_type] : enum_types_) check_field(name);
  for (const std::string& name : skipped_) check_field(name);

  std::vector<Column> columns;
  for (int i = 0; i < message->field_count(); ++i) {
    const std::string& name = message->field(i)->name();
    if (absl::c_linear_search(skipped_, name)) continue;
    Column column{name, others_};
    for (const auto& [field, access] : access_) {
      if (field == name) column.access = access;
    }
    for (const auto& [field, enum_type] : enum_types_) {
      if (field == name) column.enum_type = enum_type;
    }
    columns.push_back(std::move(column));
  }
  return columns;
}

MessageTable::MessageTable(std::string table, const Descriptor* message,
                           std::vector<Column> columns)
    : table_(std::move(table)), columns_(std::move(columns)) {
  for (const Column& column : columns_) {
    const FieldDescriptor* field = message->FindFieldByName(column.name);
    if (field == nullptr || field->is_repeated()) {
      SchemaBug(absl::StrCat(table_, ".", column.name, " is no singular field of ",
                             message->full_name()));
    }
    if (field->type() == FieldDescriptor::TYPE_MESSAGE && !IsTimestamp(field) &&
        !IsDuration(field)) {
      SchemaBug(absl::StrCat(table_, ".", column.name,
                             " has a message type besides Timestamp and Duration"));
    }
    if (field->type() == FieldDescriptor::TYPE_ENUM && column.enum_type.empty()) {
      SchemaBug(absl::StrCat(table_, ".", column.name, " needs its PostgreSQL enum type"));
    }
    fields_.push_back(field);
    enum_prefixes_.push_back(field->type() == FieldDescriptor::TYPE_ENUM
                                 ? EnumPrefix(field->enum_type())
                                 : std::string());
    if (column.access == ColumnAccess::kWritable) updatable_.push_back(column.name);
  }
  select_list_ = SelectList("");
}

std::string MessageTable::SelectList(const std::string& alias) const {
  std::vector<std::string> selected;
  for (size_t i = 0; i < columns_.size(); ++i) {
    const std::string column = alias.empty() ? columns_[i].name : alias + "." + columns_[i].name;
    if (IsTimestamp(fields_[i]) || IsDuration(fields_[i])) {
      selected.push_back(EpochMicros(column));
    } else if (fields_[i]->type() == FieldDescriptor::TYPE_ENUM) {
      selected.push_back(absl::StrCat(column, "::text"));
    } else {
      selected.push_back(column);
    }
  }
  return absl::StrJoin(selected, ", ");
}

void MessageTable::Read(const pqxx::row& row, Message* out, int first_column) const {
  ReadText(
      [&row](int column) -> std::optional<std::string_view> {
        const pqxx::field value = row[column];
        if (value.is_null()) return std::nullopt;
        return std::string_view(value.c_str(), value.size());
      },
      out, first_column);
}

void MessageTable::ReadText(ColumnText column_text, Message* out, int first_column) const {
  const Reflection* reflection = out->GetReflection();
  for (size_t i = 0; i < fields_.size(); ++i) {
    const FieldDescriptor* field = fields_[i];
    const std::optional<std::string_view> value = column_text(first_column + static_cast<int>(i));
    if (!value.has_value()) {
      reflection->ClearField(out, field);
      continue;
    }
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        reflection->SetInt32(out, field, TextAs<int32_t>(*value));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        reflection->SetInt64(out, field, TextAs<int64_t>(*value));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        reflection->SetDouble(out, field, TextAs<double>(*value));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        reflection->SetBool(out, field, TextAs<bool>(*value));
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        reflection->SetString(out, field, std::string(*value));
        break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* enum_value = field->enum_type()->FindValueByName(
            enum_prefixes_[i] +
            absl::AsciiStrToUpper(absl::string_view(value->data(), value->size())));
        // A value the API does not know reads as UNSPECIFIED (0).
        reflection->SetEnumValue(out, field, enum_value == nullptr ? 0 : enum_value->number());
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (IsDuration(field)) {
          reflection->MutableMessage(out, field)
              ->CopyFrom(TimeUtil::MicrosecondsToDuration(TextAs<int64_t>(*value)));
        } else {
          reflection->MutableMessage(out, field)
              ->CopyFrom(TimeUtil::MicrosecondsToTimestamp(TextAs<int64_t>(*value)));
        }
        break;
      default:
        SchemaBug(absl::StrCat("unsupported type of ", field->full_name()));
    }
  }
}

std::optional<std::string> MessageTable::Param(const Message& values, size_t i) const {
  const FieldDescriptor* field = fields_[i];
  const Reflection* reflection = values.GetReflection();
  // An unset Duration is no time at all, as proto3 reads it.
  if (IsDuration(field) && !reflection->HasField(values, field)) return "0";
  if (field->has_presence() && !reflection->HasField(values, field)) return std::nullopt;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(reflection->GetInt32(values, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(reflection->GetInt64(values, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      // %.17g round-trips every double exactly; validation keeps out NaN and infinities.
      return absl::StrFormat("%.17g", reflection->GetDouble(values, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return reflection->GetBool(values, field) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_STRING:
      return reflection->GetString(values, field);
    case FieldDescriptor::CPPTYPE_ENUM: {
      if (reflection->GetEnumValue(values, field) == 0) return std::nullopt;  // UNSPECIFIED
      const std::string& name = reflection->GetEnum(values, field)->name();
      return absl::AsciiStrToLower(name.substr(enum_prefixes_[i].size()));
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (IsDuration(field)) {
        return absl::StrCat(TimeUtil::DurationToMicroseconds(
            static_cast<const google::protobuf::Duration&>(reflection->GetMessage(values, field))));
      }
      return absl::StrCat(TimeUtil::TimestampToMicroseconds(
          static_cast<const google::protobuf::Timestamp&>(reflection->GetMessage(values, field))));
    default:
      SchemaBug(absl::StrCat("unsupported type of ", field->full_name(), " in ", columns_[i].name));
  }
}

std::string MessageTable::Cast(const std::string& placeholder, size_t i) const {
  switch (fields_[i]->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return placeholder + "::integer";
    case FieldDescriptor::CPPTYPE_INT64:
      return placeholder + "::bigint";
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return placeholder + "::double precision";
    case FieldDescriptor::CPPTYPE_BOOL:
      return placeholder + "::boolean";
    case FieldDescriptor::CPPTYPE_ENUM:
      return absl::StrCat(placeholder, "::", columns_[i].enum_type);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (IsDuration(fields_[i])) {
        return absl::StrCat("(", placeholder, "::bigint * interval '1 microsecond')");
      }
      return absl::StrCat("epoch_us_to_timestamptz(", placeholder, "::bigint)");
    default:
      return placeholder;
  }
}

Statement MessageTable::Insert(
    const Message& values, const std::vector<std::pair<std::string, std::string>>& fixed) const {
  Statement statement;
  std::vector<std::string> names;
  std::vector<std::string> placeholders;
  for (const auto& [name, value] : fixed) {
    names.push_back(name);
    placeholders.push_back(statement.Add(value));
  }
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].access == ColumnAccess::kReadOnly) continue;
    names.push_back(columns_[i].name);
    placeholders.push_back(Cast(statement.Add(Param(values, i)), i));
  }
  statement.sql =
      absl::StrCat("INSERT INTO ", table_, " (", absl::StrJoin(names, ", "), ") VALUES (",
                   absl::StrJoin(placeholders, ", "), ") RETURNING ", select_list_);
  return statement;
}

Statement MessageTable::Update(const Message& values, const std::string& where,
                               std::vector<std::optional<std::string>> where_params) const {
  Statement statement;
  statement.params = std::move(where_params);
  std::vector<std::string> assignments;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].access != ColumnAccess::kWritable) continue;
    assignments.push_back(
        absl::StrCat(columns_[i].name, " = ", Cast(statement.Add(Param(values, i)), i)));
  }
  statement.sql = absl::StrCat("UPDATE ", table_, " SET ", absl::StrJoin(assignments, ", "),
                               " WHERE ", where, " RETURNING ", select_list_);
  return statement;
}

pqxx::result Execute(pqxx::transaction_base& transaction, const Statement& statement) {
  return transaction.exec_params(statement.sql,
                                 pqxx::prepare::make_dynamic_params(statement.params));
}

pqxx::result ExecutePrepared(pqxx::transaction_base& transaction, const Statement& statement) {
  return ExecPrepared(transaction, statement.sql,
                      pqxx::prepare::make_dynamic_params(statement.params));
}

void MergeMasked(const Message& values, const google::protobuf::FieldMask& mask, Message* current) {
  // A named message field (a Timestamp, a Duration) is replaced whole, not
  // merged into: merging would keep a stored 10m when the request sets 0s
  // (zero fields merge as nothing), and keep a value the request left unset.
  google::protobuf::util::FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  google::protobuf::util::FieldMaskUtil::MergeMessageTo(values, mask, options, current);
}

void InsertRow(pqxx::transaction_base& transaction, const MessageTable& table,
               const Message& values, const std::vector<std::pair<std::string, std::string>>& fixed,
               Message* out) {
  table.Read(Execute(transaction, table.Insert(values, fixed)).at(0), out);
}

bool UpdateRow(pqxx::transaction_base& transaction, const MessageTable& table,
               const Message& values, const google::protobuf::FieldMask& mask,
               const std::string& where,
               const std::vector<std::optional<std::string>>& where_params, Message* out) {
  Statement select;
  select.sql = absl::StrCat("SELECT ", table.select_list(), " FROM ", table.table(), " WHERE ",
                            where, " FOR UPDATE");
  select.params = where_params;
  pqxx::result rows = Execute(transaction, select);
  if (rows.empty()) return false;
  table.Read(rows[0], out);
  MergeMasked(values, mask, out);
  table.Read(Execute(transaction, table.Update(*out, where, where_params)).at(0), out);
  return true;
}

}  // namespace plantmon::postgres
