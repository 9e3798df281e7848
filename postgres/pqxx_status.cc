#include "postgres/pqxx_status.h"

#include <cstdio>
#include <pqxx/pqxx>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace plantmon::postgres {
namespace {

// PostgreSQL words constraint errors as: ... constraint "name" ...
std::optional<std::string> ConstraintNameFromMessage(absl::string_view what) {
  static constexpr absl::string_view kMarker = "constraint \"";
  size_t start = what.find(kMarker);
  if (start == absl::string_view::npos) return std::nullopt;
  start += kMarker.size();
  size_t end = what.find('"', start);
  if (end == absl::string_view::npos) return std::nullopt;
  return std::string(what.substr(start, end - start));
}

absl::string_view MessageForCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kAlreadyExists:
      return "the record already exists";
    case absl::StatusCode::kFailedPrecondition:
      return "the record is referenced by, or refers to, another record";
    case absl::StatusCode::kInvalidArgument:
      return "a value is missing or outside its allowed range";
    case absl::StatusCode::kAborted:
      return "the transaction conflicted with another one; retry it";
    case absl::StatusCode::kDeadlineExceeded:
      return "the database operation timed out or was cancelled";
    case absl::StatusCode::kUnavailable:
      return "the database is unavailable";
    case absl::StatusCode::kResourceExhausted:
      return "the database is out of resources";
    default:
      return "internal database error";
  }
}

}  // namespace

absl::StatusCode StatusCodeFromSqlState(absl::string_view sqlstate) {
  if (sqlstate == "23505") return absl::StatusCode::kAlreadyExists;
  if (sqlstate == "23503" || sqlstate == "23001") {
    return absl::StatusCode::kFailedPrecondition;
  }
  // not_null_violation, check_violation, and data exceptions (class 22): a
  // value that validation should have caught.
  if (sqlstate == "23502" || sqlstate == "23514" || absl::StartsWith(sqlstate, "22")) {
    return absl::StatusCode::kInvalidArgument;
  }
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return absl::StatusCode::kAborted;
  }
  if (sqlstate == "57014") return absl::StatusCode::kDeadlineExceeded;
  // Class 08 (connection exceptions), admin/crash shutdown, cannot connect now.
  if (absl::StartsWith(sqlstate, "08") || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03") {
    return absl::StatusCode::kUnavailable;
  }
  if (absl::StartsWith(sqlstate, "53")) {
    return absl::StatusCode::kResourceExhausted;
  }
  return absl::StatusCode::kInternal;
}

absl::Status StatusFromSqlError(absl::string_view sqlstate, absl::string_view message) {
  absl::StatusCode code = StatusCodeFromSqlState(sqlstate);
  if (code == absl::StatusCode::kInternal) {
    std::fprintf(stderr, "storage: unexpected database error %.*s: %.*s\n",
                 static_cast<int>(sqlstate.size()), sqlstate.data(),
                 static_cast<int>(message.size()), message.data());
  }
  absl::Status status(code, MessageForCode(code));
  if (std::optional<std::string> constraint = ConstraintNameFromMessage(message);
      constraint.has_value() && absl::StartsWith(sqlstate, "23")) {
    status =
        absl::Status(code, absl::StrCat(MessageForCode(code), " (constraint ", *constraint, ")"));
    status.SetPayload(kConstraintPayloadKey, absl::Cord(*constraint));
  }
  return status;
}

absl::Status StatusFromException(const std::exception& error) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) {
    return absl::UnavailableError("the database connection was lost");
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr ||
      dynamic_cast<const pqxx::statement_completion_unknown*>(&error) != nullptr) {
    return absl::UnavailableError("the database connection was lost before the outcome was known");
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    return StatusFromSqlError(sql->sqlstate(), sql->what());
  }
  std::fprintf(stderr, "storage: unexpected error: %s\n", error.what());
  return absl::InternalError("internal database error");
}

std::optional<std::string> ViolatedConstraint(const absl::Status& status) {
  auto payload = status.GetPayload(kConstraintPayloadKey);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

absl::Status ExplainConstraint(absl::Status status,
                               std::initializer_list<ConstraintMeaning> meanings) {
  const std::optional<std::string> constraint = ViolatedConstraint(status);
  if (!constraint.has_value()) return status;
  for (const ConstraintMeaning& meaning : meanings) {
    if (meaning.constraint == *constraint) {
      return absl::Status(meaning.code, meaning.message);
    }
  }
  return status;
}

bool IsConnectionError(const std::exception& error) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr ||
      dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr ||
      dynamic_cast<const pqxx::statement_completion_unknown*>(&error) != nullptr) {
    return true;
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    return StatusCodeFromSqlState(sql->sqlstate()) == absl::StatusCode::kUnavailable;
  }
  // Usage errors (e.g. a transaction still open) leave the connection in a
  // state we cannot vouch for.
  return dynamic_cast<const pqxx::usage_error*>(&error) != nullptr;
}

}  // namespace plantmon::postgres
