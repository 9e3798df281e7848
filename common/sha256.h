#ifndef PLANTMON_COMMON_SHA256_H_
#define PLANTMON_COMMON_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace plantmon::common {

// The 32-byte SHA-256 digest of `data` (OpenSSL libcrypto).
std::string Sha256(absl::string_view data);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

}  // namespace plantmon::common

#endif  // PLANTMON_COMMON_SHA256_H_
