#include "services/auth/password_hasher.h"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace plantmon::auth {

absl::StatusOr<PasswordHasher> PasswordHasher::Create(int cost) {
  if (cost < kMinimumCost || cost > kMaximumCost) {
    return absl::InvalidArgumentError(
        absl::StrCat("bcrypt cost must be between ", kMinimumCost, " and ", kMaximumCost));
  }
  return PasswordHasher(cost);
}

absl::Status PasswordHasher::ValidatePassword(absl::string_view password) {
  if (password.size() < kMinimumLength || password.size() > kMaximumLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("password must be ", kMinimumLength, " to ", kMaximumLength, " bytes"));
  }
  if (absl::StrContains(password, '\0')) {
    return absl::InvalidArgumentError("password must not contain NUL bytes");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PasswordHasher::Hash(absl::string_view password) const {
  if (absl::Status valid = ValidatePassword(password); !valid.ok()) {
    return valid;
  }
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  // Null random bytes: libxcrypt draws them from the operating system.
  if (crypt_gensalt_rn("$2b$", cost_, nullptr, 0, salt, sizeof(salt)) == nullptr) {
    return absl::InternalError("cannot generate a bcrypt salt");
  }
  auto data = std::make_unique<crypt_data>();
  std::string password_copy(password);
  const char* hash = crypt_r(password_copy.c_str(), salt, data.get());
  if (hash == nullptr || hash[0] == '*') {
    return absl::InternalError("bcrypt hashing failed");
  }
  return std::string(hash);
}

bool PasswordHasher::Verify(absl::string_view password, const std::string& hash) {
  if (absl::StrContains(password, '\0') || password.size() > kMaximumLength) {
    return false;
  }
  auto data = std::make_unique<crypt_data>();
  std::string password_copy(password);
  const char* computed = crypt_r(password_copy.c_str(), hash.c_str(), data.get());
  if (computed == nullptr || computed[0] == '*') return false;
  size_t length = std::strlen(computed);
  return length == hash.size() && CRYPTO_memcmp(computed, hash.data(), length) == 0;
}

bool PasswordHasher::NeedsRehash(absl::string_view hash) const {
  // "$2b$" then a two-digit cost then "$".
  int stored_cost = 0;
  if (hash.size() < 7 || !absl::StartsWith(hash, "$2b$") || hash[6] != '$' ||
      !absl::SimpleAtoi(hash.substr(4, 2), &stored_cost)) {
    return true;
  }
  return stored_cost != cost_;
}

}  // namespace plantmon::auth
