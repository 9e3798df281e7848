#include "services/validation.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

namespace {

// Characters that show as nothing or as a space. Written out rather than
// taken from a Unicode library: the project has none yet (ICU would come
// with normalisation, docs/api.md), and this list is short and stable.
bool IsInvisible(uint32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD || c == 0x034F || c == 0x061C ||
         c == 0x115F || c == 0x1160 || c == 0x1680 || c == 0x17B4 || c == 0x17B5 || c == 0x180E ||
         (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
         (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0x3164 ||
         (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF || c == 0xFFA0 ||
         (c >= 0xFFF0 && c <= 0xFFFB) || (c >= 0xE0000 && c <= 0xE0FFF);
}

}  // namespace

absl::Status CheckVisibleCharacters(const std::string& value, absl::string_view field) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(value.data());
  const size_t size = value.size();
  for (size_t i = 0; i < size;) {
    uint32_t c = bytes[i];
    int length = 1;
    if (c >= 0xF0) {
      length = 4;
      c &= 0x07;
    } else if (c >= 0xE0) {
      length = 3;
      c &= 0x0F;
    } else if (c >= 0xC0) {
      length = 2;
      c &= 0x1F;
    }
    for (int k = 1; k < length && i + k < size; ++k) c = (c << 6) | (bytes[i + k] & 0x3F);
    if (IsInvisible(c)) {
      return Invalid(field, absl::StrCat("must not contain invisible or control characters (U+",
                                         absl::Hex(c, absl::kZeroPad4), ")"));
    }
    i += length;
  }
  return absl::OkStatus();
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
