#ifndef PLANTMON_SERVICES_VALIDATION_H_
#define PLANTMON_SERVICES_VALIDATION_H_

// Request checks shared by the services. Every failure is INVALID_ARGUMENT
// with a message that names the field, checked before any SQL runs.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace plantmon::services {

// A positive id that fits the integer id columns.
absl::Status CheckId(int64_t id, absl::string_view field);
// An optional id filter: unset when `present` is false, otherwise `id` once
// CheckId has passed it.
absl::StatusOr<std::optional<int64_t>> OptionalId(bool present, int64_t id,
                                                  absl::string_view field);

// At most `max_bytes` bytes (the column's varchar(n)), no NUL bytes (PostgreSQL
// text cannot hold them), and not empty or blank when `required`.
absl::Status CheckText(const std::string& value, absl::string_view field, size_t max_bytes,
                       bool required);
absl::Status CheckOptionalText(bool present, const std::string& value, absl::string_view field,
                               size_t max_bytes);

// Unbounded text columns (Text in the seed) still get a sane cap.
inline constexpr size_t kMaxTextBytes = 65536;

// An IANA time zone name (for example Europe/Berlin), or empty. Names only:
// PostgreSQL and Abseil read the same zone files, but "localtime" and POSIX
// rules ("UTC+3") mean different things to them, so neither is taken.
absl::Status CheckTimeZone(const std::string& value, absl::string_view field);

// An email address: text with one '@' and no spaces.
absl::Status CheckEmail(const std::string& value, absl::string_view field);

// INVALID_ARGUMENT naming `field` and the code point when `value` holds a
// character that renders as nothing or as a space, or that nobody can see
// reliably (unicode::FirstInvisibleCharacter: controls, zero-width and
// bidirectional formatting, Unicode spaces, unassigned code points). Names
// made with them look like other names ("ann" and "an\u200Bn"). For
// identities only: emails and usernames.
absl::Status CheckVisibleCharacters(const std::string& value, absl::string_view field);

// INVALID_ARGUMENT naming `field` and the scripts when `value` mixes scripts
// the way look-alike names do (Latin with Cyrillic: unicode::MixedScripts).
absl::Status CheckSingleScript(const std::string& value, absl::string_view field);

// An identity (email, username) as it is stored and compared: in Unicode NFC,
// so that composed and decomposed spellings are one name (docs/api.md).
absl::StatusOr<std::string> NormalizeIdentity(const std::string& value, absl::string_view field);

// A well-formed google.protobuf.Duration (nanos under a second, with the
// seconds' sign), as an absl::Duration.
absl::StatusOr<absl::Duration> CheckDuration(const google::protobuf::Duration& value,
                                             absl::string_view field);

// A finite number, optionally within [min, max].
absl::Status CheckFinite(double value, absl::string_view field);
absl::Status CheckRange(double value, absl::string_view field, double min, double max);

// One of `allowed`.
absl::Status CheckOneOf(const std::string& value, absl::string_view field,
                        std::initializer_list<absl::string_view> allowed);

// A valid google.protobuf.Timestamp in years 1-9999, as absl::Time
// (truncated to microseconds, PostgreSQL's precision).
absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& value,
                                         absl::string_view field);

struct TimeRange {
  absl::Time start;  // inclusive
  absl::Time end;    // exclusive
};

// A request's required [start_time, end_time): both present and valid, and
// end after start.
template <typename Request>
absl::StatusOr<TimeRange> RequiredTimeRange(const Request& request) {
  if (!request.has_start_time() || !request.has_end_time()) {
    return absl::InvalidArgumentError("start_time and end_time are required");
  }
  absl::StatusOr<absl::Time> start = TimeFromProto(request.start_time(), "start_time");
  if (!start.ok()) return start.status();
  absl::StatusOr<absl::Time> end = TimeFromProto(request.end_time(), "end_time");
  if (!end.ok()) return end.status();
  if (*end <= *start) return absl::InvalidArgumentError("end_time must be after start_time");
  return TimeRange{*start, *end};
}

// The paths of an update mask, each checked against the updatable fields of
// the resource. An empty mask, a repeated path, or a path that is unknown or
// read-only is INVALID_ARGUMENT.
absl::StatusOr<std::set<std::string>> CheckUpdateMask(const google::protobuf::FieldMask& mask,
                                                      const std::vector<std::string>& updatable);
inline absl::StatusOr<std::set<std::string>> CheckUpdateMask(
    const google::protobuf::FieldMask& mask, std::initializer_list<absl::string_view> updatable) {
  return CheckUpdateMask(mask, std::vector<std::string>(updatable.begin(), updatable.end()));
}

// Runs `check(value, field)` for each of `fields` (a create checks every
// field it writes).
template <typename Message, typename Fields, typename Check>
absl::Status CheckFields(const Message& value, const Fields& fields, Check check) {
  for (const auto& field : fields) {
    if (absl::Status status = check(value, std::string(field)); !status.ok()) return status;
  }
  return absl::OkStatus();
}

// An Update's request: a valid id (named `id_field` in messages), a mask that
// CheckUpdateMask accepts, and each field the mask names passing `check`
// (fields outside the mask are not looked at).
template <typename Message, typename Check>
absl::Status CheckMaskedUpdate(const Message& value, absl::string_view id_field,
                               const google::protobuf::FieldMask& mask,
                               const std::vector<std::string>& updatable, Check check) {
  if (absl::Status status = CheckId(value.id(), id_field); !status.ok()) return status;
  absl::StatusOr<std::set<std::string>> paths = CheckUpdateMask(mask, updatable);
  if (!paths.ok()) return paths.status();
  return CheckFields(value, *paths, check);
}

// Value sets the migrations' CHECK constraints hold (docs/data-model.md).
inline constexpr std::initializer_list<absl::string_view> kAssignmentTypes = {
    "soil_moisture", "temperature", "humidity", "light", "pump"};
// Rule types, operators and parameters: alerting/rules.h.

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_VALIDATION_H_
