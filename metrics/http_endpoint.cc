#include "metrics/http_endpoint.h"

#include <civetweb.h>

#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace plantmon::metrics {

absl::StatusOr<std::string> MetricsListenAddress(const std::string& configured) {
  auto malformed = [&configured] {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable PLANTMON_METRICS_ADDR has malformed value \"",
                     configured, "\": expected host:port, [ipv6]:port or a port (0-65535)"));
  };
  const size_t colon = configured.rfind(':');
  const std::string port_text =
      colon == std::string::npos ? configured : configured.substr(colon + 1);
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) return malformed();
  if (colon == std::string::npos) return absl::StrCat("127.0.0.1:", port);
  const std::string host = configured.substr(0, colon);
  if (host.empty()) return absl::StrCat("127.0.0.1:", port);
  // CivetWeb takes IPv4 literals and bracketed IPv6 literals, not names.
  if (absl::StartsWith(host, "[") ? !absl::EndsWith(host, "]")
                                  : host.find_first_not_of("0123456789.") != std::string::npos) {
    return malformed();
  }
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& configured, Registry& registry) {
  absl::StatusOr<std::string> address = MetricsListenAddress(configured);
  if (!address.ok()) return address.status();
  static std::once_flag initialized;
  std::call_once(initialized, [] { mg_init_library(0); });

  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint(registry));
  // Two threads: scrapes are rare and short. No document root, so nothing
  // but /metrics is served (404).
  const char* options[] = {"listening_ports",    address->c_str(), "num_threads", "2",
                           "request_timeout_ms", "10000",          nullptr};
  mg_callbacks callbacks = {};
  mg_init_data init = {};
  init.callbacks = &callbacks;
  init.user_data = endpoint.get();
  init.configuration_options = options;
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error = {};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  endpoint->context_ = mg_start2(&init, &error);
  if (endpoint->context_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", *address, ": ", error_text));
  }
  mg_set_request_handler(endpoint->context_, "/metrics", &MetricsEndpoint::Serve, endpoint.get());
  mg_server_port ports[1] = {};
  if (mg_get_server_ports(endpoint->context_, 1, ports) < 1) {
    return absl::InternalError("CivetWeb reports no listening port for the metrics endpoint");
  }
  endpoint->port_ = ports[0].port;
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() {
  if (context_ != nullptr) mg_stop(context_);
}

int MetricsEndpoint::Serve(struct mg_connection* connection, void* endpoint) {
  const mg_request_info* request = mg_get_request_info(connection);
  if (request == nullptr || (std::string(request->request_method) != "GET" &&
                             std::string(request->request_method) != "HEAD")) {
    mg_send_http_error(connection, 405, "only GET is served here");
    return 405;
  }
  const std::string body = static_cast<MetricsEndpoint*>(endpoint)->registry_.Render();
  mg_send_http_ok(
      connection, "text/plain; version=0.0.4; charset=utf-8",
      static_cast<long long>(body.size()));  // NOLINT(google-runtime-int): CivetWeb's type
  if (std::string(request->request_method) == "GET") mg_write(connection, body.data(), body.size());
  return 200;
}

}  // namespace plantmon::metrics
