#ifndef PLANTMON_STORAGE_SHA256_H_
#define PLANTMON_STORAGE_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace plantmon::storage {

// The 32-byte SHA-256 digest of `data` (OpenSSL libcrypto).
std::string Sha256(absl::string_view data);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_SHA256_H_
