#ifndef PLANTMON_METRICS_HTTP_ENDPOINT_H_
#define PLANTMON_METRICS_HTTP_ENDPOINT_H_

// The registry over HTTP: GET /metrics on its own port, served by CivetWeb
// (Debian's libcivetweb) on two threads of its own, apart from gRPC's.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "metrics/registry.h"

struct mg_context;
struct mg_connection;

namespace plantmon::metrics {

// The listening address CivetWeb is given for PLANTMON_METRICS_ADDR: "host:port"
// or "[v6]:port" as given, a bare port on 127.0.0.1 (loopback unless
// configured). INVALID_ARGUMENT for anything else.
absl::StatusOr<std::string> MetricsListenAddress(const std::string& configured);

class MetricsEndpoint {
 public:
  // Port 0 picks a free one (read it back with port()).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& configured,
                                                                Registry& registry);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  int port() const { return port_; }

 private:
  explicit MetricsEndpoint(Registry& registry) : registry_(registry) {}
  static int Serve(struct mg_connection* connection, void* endpoint);

  Registry& registry_;
  mg_context* context_ = nullptr;
  int port_ = 0;
};

}  // namespace plantmon::metrics

#endif  // PLANTMON_METRICS_HTTP_ENDPOINT_H_
