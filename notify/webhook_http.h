#ifndef PLANTMON_NOTIFY_WEBHOOK_HTTP_H_
#define PLANTMON_NOTIFY_WEBHOOK_HTTP_H_

// The HTTP side of webhooks (docs/notifications.md): which URLs are allowed,
// the signature, and one POST through libcurl.

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace plantmon::notify {

// Where webhooks may go.
struct UrlPolicy {
  // http:// as well as https:// (PLANTMON_WEBHOOK_ALLOW_HTTP).
  bool allow_http = false;
  // Loopback, private, link-local and other non-public addresses
  // (PLANTMON_WEBHOOK_ALLOW_PRIVATE).
  bool allow_private = false;
};

// INVALID_ARGUMENT naming `field` unless `url` is an absolute http(s) URL
// with a host and no user name or password, allowed by `policy`. A host
// given as an address (or "localhost") is checked here; a name is checked
// against the addresses it resolves to when each delivery connects, so a
// name that later points inward is refused then (no DNS lookup here).
absl::Status CheckWebhookUrl(const std::string& url, const UrlPolicy& policy,
                             absl::string_view field);

// True for addresses a webhook must not reach without allow_private:
// unspecified, loopback, RFC 1918 and carrier-grade NAT, link-local, unique
// local, multicast, and IPv4-mapped forms of them.
bool IsNonPublicAddress(const sockaddr* address);

// The Plantmon-Signature header's value for `body` sent at `unix_seconds`:
// "t=<unix_seconds>,v1=<hex HMAC-SHA256 of "<unix_seconds>.<body>" under
// secret>". A receiver recomputes it and refuses old timestamps (replays).
std::string SignatureHeader(absl::string_view secret, int64_t unix_seconds, absl::string_view body);

struct PostResult {
  // The receiver's status code, when it answered.
  std::optional<int> http_status;
  // Why the attempt failed, when it did (no answer, or not 2xx).
  std::optional<std::string> error;
  bool delivered() const { return !error.has_value(); }
};

struct PostRequest {
  std::string url;
  std::string secret;
  std::string body;
  int64_t delivery_id = 0;
  std::string kind;
};

// POSTs `request.body` as JSON with the Plantmon-Signature,
// Plantmon-Delivery and Plantmon-Event headers; no redirects. Delivered
// means a 2xx answer within `timeout`.
PostResult PostWebhook(const PostRequest& request, const UrlPolicy& policy, absl::Duration timeout);

}  // namespace plantmon::notify

#endif  // PLANTMON_NOTIFY_WEBHOOK_HTTP_H_
