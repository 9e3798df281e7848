#ifndef PLANTMON_SERVICES_ACCESS_LOG_H_
#define PLANTMON_SERVICES_ACCESS_LOG_H_

#include <grpcpp/support/server_interceptor.h>

#include <cstdio>
#include <memory>

#include "metrics/registry.h"

namespace plantmon::services {

// Writes one line per call to `out`: method, status code and latency. No
// request contents, metadata or status messages, so no secrets reach the log.
class AccessLogInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AccessLogInterceptorFactory(std::FILE* out = stderr) : out_(out) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  std::FILE* out_;
};

// Counts every call by method and status code and records its latency in
// metrics::DefaultRegistry (plantmon_rpc_calls_total,
// plantmon_rpc_duration_seconds; docs/operations.md). Installed only when the
// metrics endpoint is on.
class CallMetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  CallMetricsInterceptorFactory();
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  metrics::CounterFamily& calls_;
  metrics::HistogramFamily& latency_;
};

// A request that does not parse (bad wire data, a string field that is not
// UTF-8) fails inside gRPC's generated handler with INTERNAL and an empty
// message. It is the client's mistake: this rewrites that one status to
// INVALID_ARGUMENT. Our own INTERNAL statuses always carry a message and are
// left alone.
class MalformedRequestInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_ACCESS_LOG_H_
