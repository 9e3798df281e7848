#ifndef PLANTMON_POSTGRES_PQXX_STATUS_H_
#define PLANTMON_POSTGRES_PQXX_STATUS_H_

#include <exception>
#include <initializer_list>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace plantmon::postgres {

// Payload key under which a constraint violation carries the constraint's
// name, so callers can turn "users_email_key" into a message about emails.
inline constexpr absl::string_view kConstraintPayloadKey = "type.plantmon.dev/constraint";

// Maps an exception thrown by libpqxx (or anything else caught in storage/)
// to a status, by SQLSTATE where there is one (docs/api.md, "Error codes"). The
// message never contains SQL; unexpected errors become INTERNAL with the
// details written to the server log only.
absl::Status StatusFromException(const std::exception& error);

// The same for an error PostgreSQL reported with `sqlstate` and `message`
// (the libpq reads of pipelined_reader.h).
absl::Status StatusFromSqlError(absl::string_view sqlstate, absl::string_view message);

// Maps a SQLSTATE code to the canonical status code.
absl::StatusCode StatusCodeFromSqlState(absl::string_view sqlstate);

// The constraint named by a status from StatusFromException, if any.
std::optional<std::string> ViolatedConstraint(const absl::Status& status);

// What a violated constraint means, in the words of the API.
struct ConstraintMeaning {
  absl::string_view constraint;
  absl::StatusCode code;
  absl::string_view message;
};

// `status` restated as the entry of `meanings` for the constraint it
// violated, if there is one; otherwise `status` as it is.
absl::Status ExplainConstraint(absl::Status status,
                               std::initializer_list<ConstraintMeaning> meanings);

// True if the error means the connection can no longer be trusted.
bool IsConnectionError(const std::exception& error);

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_PQXX_STATUS_H_
