#include "services/validation.h"

#include <cmath>
#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/unicode_text.h"
#include "services/status_macros.h"

namespace plantmon::services {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", problem));
}

// Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

}  // namespace

absl::Status CheckId(int64_t id, absl::string_view field) {
  // Every id a request names is a PostgreSQL integer column (only
  // sensor_data's own id is bigint, and no request names it).
  if (id <= 0 || id > 2147483647) {
    return Invalid(field, "must be an id between 1 and 2147483647");
  }
  return absl::OkStatus();
}

absl::Status CheckTimeZone(const std::string& value, absl::string_view field) {
  RETURN_IF_ERROR(CheckText(value, field, 64, false));
  if (value.empty()) return absl::OkStatus();
  absl::TimeZone zone;
  const bool name_only = value.find_first_not_of(
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789/_-+") == std::string::npos &&
                         value != "localtime" && !absl::StrContains(value, "..");
  if (!name_only || !absl::LoadTimeZone(value, &zone)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " \"", value, "\" is not a known IANA time zone (for example Europe/Berlin)"));
  }
  return absl::OkStatus();
}

absl::Status CheckText(const std::string& value, absl::string_view field, size_t max_bytes,
                       bool required) {
  if (required && absl::StripAsciiWhitespace(value).empty()) {
    return Invalid(field, "is required");
  }
  if (value.size() > max_bytes) {
    return Invalid(field, absl::StrCat("must be at most ", max_bytes, " bytes"));
  }
  if (absl::StrContains(value, '\0')) {
    return Invalid(field, "must not contain NUL bytes");
  }
  return absl::OkStatus();
}

absl::Status CheckOptionalText(bool present, const std::string& value, absl::string_view field,
                               size_t max_bytes) {
  if (!present) return absl::OkStatus();
  return CheckText(value, field, max_bytes, /*required=*/false);
}

absl::Status CheckEmail(const std::string& value, absl::string_view field) {
  if (absl::Status text = CheckText(value, field, 255, true); !text.ok()) {
    return text;
  }
  size_t at = value.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == value.size() ||
      value.find('@', at + 1) != std::string::npos ||
      value.find_first_of(" \t\r\n") != std::string::npos) {
    return Invalid(field, "must be an email address like name@example.com");
  }
  return CheckVisibleCharacters(value, field);
}

absl::Status CheckVisibleCharacters(const std::string& value, absl::string_view field) {
  if (std::optional<char32_t> c = unicode::FirstInvisibleCharacter(value)) {
    return Invalid(field, absl::StrCat("must not contain invisible or control characters (U+",
                                       absl::Hex(static_cast<uint32_t>(*c), absl::kZeroPad4), ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckSingleScript(const std::string& value, absl::string_view field) {
  std::vector<std::string> scripts = unicode::MixedScripts(value);
  if (scripts.empty()) return absl::OkStatus();
  return Invalid(field,
                 absl::StrCat("mixes scripts or digit systems (", absl::StrJoin(scripts, ", "),
                              "), so it could pass for another name"));
}

absl::StatusOr<std::string> NormalizeIdentity(const std::string& value, absl::string_view field) {
  absl::StatusOr<std::string> nfc = unicode::ToNfc(value);
  if (!nfc.ok() && nfc.status().code() == absl::StatusCode::kInvalidArgument) {
    return Invalid(field, nfc.status().message());
  }
  return nfc;
}

absl::StatusOr<absl::Duration> CheckDuration(const google::protobuf::Duration& value,
                                             absl::string_view field) {
  const int64_t seconds = value.seconds();
  const int32_t nanos = value.nanos();
  if (nanos <= -1000000000 || nanos >= 1000000000 || (seconds > 0 && nanos < 0) ||
      (seconds < 0 && nanos > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field,
                     " is not a valid duration: nanos must be under a second and share "
                     "the sign of seconds"));
  }
  return absl::Seconds(seconds) + absl::Nanoseconds(nanos);
}

absl::StatusOr<std::optional<int64_t>> OptionalId(bool present, int64_t id,
                                                  absl::string_view field) {
  if (!present) return std::nullopt;
  if (absl::Status valid = CheckId(id, field); !valid.ok()) return valid;
  return id;
}

absl::Status CheckFinite(double value, absl::string_view field) {
  if (!std::isfinite(value)) return Invalid(field, "must be a finite number");
  return absl::OkStatus();
}

absl::Status CheckRange(double value, absl::string_view field, double min, double max) {
  if (!std::isfinite(value) || value < min || value > max) {
    return Invalid(field, absl::StrCat("must be between ", min, " and ", max));
  }
  return absl::OkStatus();
}

absl::Status CheckOneOf(const std::string& value, absl::string_view field,
                        std::initializer_list<absl::string_view> allowed) {
  for (absl::string_view candidate : allowed) {
    if (value == candidate) return absl::OkStatus();
  }
  return Invalid(field, absl::StrCat("must be one of: ", absl::StrJoin(allowed, ", ")));
}

absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& value,
                                         absl::string_view field) {
  if (value.seconds() < kMinTimestampSeconds || value.seconds() > kMaxTimestampSeconds ||
      value.nanos() < 0 || value.nanos() > 999999999) {
    return Invalid(field, "is not a valid timestamp in years 1-9999");
  }
  return absl::FromUnixSeconds(value.seconds()) + absl::Microseconds(value.nanos() / 1000);
}

absl::StatusOr<std::set<std::string>> CheckUpdateMask(const google::protobuf::FieldMask& mask,
                                                      const std::vector<std::string>& updatable) {
  if (mask.paths().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "update_mask must name the fields to change; updatable: ", absl::StrJoin(updatable, ", ")));
  }
  std::set<std::string> paths;
  for (const std::string& path : mask.paths()) {
    bool known = false;
    for (const std::string& candidate : updatable) {
      if (path == candidate) known = true;
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask names \"", path,
          "\", which is unknown or read-only; updatable: ", absl::StrJoin(updatable, ", ")));
    }
    if (!paths.insert(path).second) {
      return absl::InvalidArgumentError(absl::StrCat("update_mask names \"", path, "\" twice"));
    }
  }
  return paths;
}

}  // namespace plantmon::services
