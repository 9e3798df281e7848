#include "notify/webhook_http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace plantmon::notify {
namespace {

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct HeadersDeleter {
  void operator()(curl_slist* headers) const { curl_slist_free_all(headers); }
};

// One part of a parsed URL; empty when absent.
std::string Part(CURLU* url, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, 0) != CURLUE_OK || value == nullptr) return "";
  std::string text(value);
  curl_free(value);
  return text;
}

bool IsNonPublicV4(uint32_t host_order) {
  const uint8_t a = host_order >> 24;
  const uint8_t b = (host_order >> 16) & 0xff;
  return a == 0 ||                          // "this network"
         a == 10 ||                         // RFC 1918
         a == 127 ||                        // loopback
         (a == 100 && (b & 0xc0) == 64) ||  // carrier-grade NAT, 100.64/10
         (a == 169 && b == 254) ||          // link-local
         (a == 172 && (b & 0xf0) == 16) ||  // RFC 1918
         (a == 192 && b == 168) ||          // RFC 1918
         a >= 224;                          // multicast and reserved
}

bool IsNonPublicV6(const in6_addr& address) {
  const uint8_t* bytes = address.s6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&address)) {
    uint32_t v4 = 0;
    std::memcpy(&v4, bytes + 12, 4);
    return IsNonPublicV4(ntohl(v4));
  }
  return IN6_IS_ADDR_UNSPECIFIED(&address) || IN6_IS_ADDR_LOOPBACK(&address) ||
         IN6_IS_ADDR_LINKLOCAL(&address) || IN6_IS_ADDR_MULTICAST(&address) ||
         (bytes[0] & 0xfe) == 0xfc;  // unique local, fc00::/7
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct ConnectGuard {
  const UrlPolicy* policy;
  bool refused = false;
};

// libcurl asks this for every socket it would connect: the last word on
// where a webhook goes, after DNS, so a name that resolves inward is refused
// too.
curl_socket_t OpenCheckedSocket(void* guard_pointer, curlsocktype /*purpose*/,
                                curl_sockaddr* address) {
  auto* guard = static_cast<ConnectGuard*>(guard_pointer);
  if (!guard->policy->allow_private && IsNonPublicAddress(&address->addr)) {
    guard->refused = true;
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

size_t DiscardBody(char* /*data*/, size_t size, size_t count, void* /*user*/) {
  return size * count;
}

}  // namespace

bool IsNonPublicAddress(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return IsNonPublicV4(ntohl(v4->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    return IsNonPublicV6(reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
  }
  return true;
}

absl::Status CheckWebhookUrl(const std::string& url, const UrlPolicy& policy,
                             absl::string_view field) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, " ", why));
  };
  std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (parsed == nullptr) return absl::ResourceExhaustedError("out of memory parsing a URL");
  // No guessing of a missing scheme, and no scheme but http(s) below.
  if (curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return invalid("is not an absolute URL (https://host/path)");
  }
  const std::string scheme = absl::AsciiStrToLower(Part(parsed.get(), CURLUPART_SCHEME));
  if (scheme != "https" && !(scheme == "http" && policy.allow_http)) {
    return invalid(policy.allow_http ? "must be an http:// or https:// URL"
                                     : "must be an https:// URL (http:// is not allowed here: "
                                       "PLANTMON_WEBHOOK_ALLOW_HTTP)");
  }
  if (!Part(parsed.get(), CURLUPART_USER).empty() ||
      !Part(parsed.get(), CURLUPART_PASSWORD).empty()) {
    return invalid("must not carry a user name or password (the secret signs each request)");
  }
  std::string host = absl::AsciiStrToLower(Part(parsed.get(), CURLUPART_HOST));
  if (host.empty()) return invalid("has no host");
  if (policy.allow_private) return absl::OkStatus();
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  bool non_public = host == "localhost" || absl::EndsWith(host, ".localhost");
  if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    non_public = IsNonPublicAddress(reinterpret_cast<const sockaddr*>(&v4));
  } else if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    non_public = IsNonPublicAddress(reinterpret_cast<const sockaddr*>(&v6));
  }
  if (non_public) {
    return invalid(
        "points at a loopback, private or link-local address; the server does not send "
        "webhooks there (PLANTMON_WEBHOOK_ALLOW_PRIVATE)");
  }
  return absl::OkStatus();
}

std::string SignatureHeader(absl::string_view secret, int64_t unix_seconds,
                            absl::string_view body) {
  const std::string signed_text = absl::StrCat(unix_seconds, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
       &mac_length);
  return absl::StrCat(
      "t=", unix_seconds, ",v1=",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), mac_length)));
}

PostResult PostWebhook(const PostRequest& request, const UrlPolicy& policy,
                       absl::Duration timeout) {
  InitCurlOnce();
  PostResult result;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (curl == nullptr) {
    result.error = "could not start an HTTP request";
    return result;
  }
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  curl_slist* list = nullptr;
  for (const std::string& header :
       {std::string("Content-Type: application/json"),
        absl::StrCat("Plantmon-Signature: ", SignatureHeader(request.secret, now, request.body)),
        absl::StrCat("Plantmon-Delivery: ", request.delivery_id),
        absl::StrCat("Plantmon-Event: ", request.kind), std::string("Expect:")}) {
    curl_slist* appended = curl_slist_append(list, header.c_str());
    if (appended == nullptr) {
      curl_slist_free_all(list);
      result.error = "out of memory building headers";
      return result;
    }
    list = appended;
  }
  const std::unique_ptr<curl_slist, HeadersDeleter> headers(list);
  ConnectGuard guard{&policy};
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, policy.allow_http ? "http,https" : "https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      handle, CURLOPT_TIMEOUT_MS,
      static_cast<long>(absl::ToInt64Milliseconds(timeout)));  // NOLINT(google-runtime-int)
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "Plantmon-Webhook/1");
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, OpenCheckedSocket);
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETDATA, &guard);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, DiscardBody);
  const CURLcode code = curl_easy_perform(handle);
  if (guard.refused) {
    result.error = "refused: the host resolves to a loopback, private or link-local address";
    return result;
  }
  if (code != CURLE_OK) {
    result.error = curl_easy_strerror(code);
    return result;
  }
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  result.http_status = static_cast<int>(status);
  if (status < 200 || status > 299) {
    result.error = absl::StrCat("the receiver answered HTTP ", status);
  }
  return result;
}

}  // namespace plantmon::notify
