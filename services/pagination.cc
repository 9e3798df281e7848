#include "services/pagination.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/sha256.h"

namespace plantmon::services {
namespace {

constexpr absl::string_view kTokenVersion = "p1";

std::string FingerprintDigest(const QueryFingerprint& query) {
  // 64 bits of SHA-256 tell queries apart; the token is not a secret.
  return common::Sha256Hex(query.text()).substr(0, 16);
}

absl::Status BadToken() {
  return absl::InvalidArgumentError("page_token is invalid or belongs to a different query");
}

}  // namespace

QueryFingerprint::QueryFingerprint(absl::string_view method) : text_(method) {}

QueryFingerprint& QueryFingerprint::Add(absl::string_view name, absl::string_view value) {
  // Length-prefixed so that no two filter sets share a text.
  absl::StrAppend(&text_, "|", name, "=", value.size(), ":", value);
  return *this;
}

QueryFingerprint& QueryFingerprint::Add(absl::string_view name, int64_t value) {
  return Add(name, absl::StrCat(value));
}

std::string MakePageToken(const QueryFingerprint& query, const std::vector<int64_t>& position) {
  std::string payload =
      absl::StrCat(kTokenVersion, ".", FingerprintDigest(query), ".", absl::StrJoin(position, "."));
  std::string token;
  absl::WebSafeBase64Escape(payload, &token);
  return token;
}

absl::StatusOr<PageCursor> ParsePage(int32_t page_size, const std::string& page_token,
                                     const QueryFingerprint& query, size_t position_size,
                                     PageSizeLimits limits) {
  if (page_size < 0) {
    return absl::InvalidArgumentError("page_size must not be negative");
  }
  PageCursor cursor;
  cursor.page_size =
      page_size == 0 ? limits.default_size : std::min<int32_t>(page_size, limits.max_size);
  if (page_token.empty()) return cursor;
  if (page_token.size() > 512) return BadToken();
  std::string payload;
  if (!absl::WebSafeBase64Unescape(page_token, &payload)) return BadToken();
  std::vector<std::string> parts = absl::StrSplit(payload, '.');
  if (parts.size() != 2 + position_size || parts[0] != kTokenVersion ||
      parts[1] != FingerprintDigest(query)) {
    return BadToken();
  }
  for (size_t i = 2; i < parts.size(); ++i) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(parts[i], &value)) return BadToken();
    cursor.position.push_back(value);
  }
  return cursor;
}

}  // namespace plantmon::services
