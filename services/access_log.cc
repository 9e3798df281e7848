#include "services/access_log.h"

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace plantmon::services {
namespace {

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "?";
  }
}

class AccessLogInterceptor : public grpc::experimental::Interceptor {
 public:
  AccessLogInterceptor(std::FILE* out, const char* method)
      : out_(out), method_(method ? method : "?"), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      std::fprintf(out_, "access method=%s code=%s latency_ms=%.3f\n", method_.c_str(),
                   CodeName(status.error_code()), absl::ToDoubleMilliseconds(absl::Now() - start_));
    }
    methods->Proceed();
  }

 private:
  std::FILE* out_;
  std::string method_;
  absl::Time start_;
};

class CallMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  CallMetricsInterceptor(metrics::CounterFamily& calls, metrics::HistogramFamily& latency,
                         const char* method)
      : calls_(calls), latency_(latency), method_(method ? method : "?"), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      calls_.Add({method_, CodeName(methods->GetSendStatus().error_code())});
      latency_.Observe({method_}, absl::ToDoubleSeconds(absl::Now() - start_));
    }
    methods->Proceed();
  }

 private:
  metrics::CounterFamily& calls_;
  metrics::HistogramFamily& latency_;
  std::string method_;
  absl::Time start_;
};

class MalformedRequestInterceptor : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::INTERNAL &&
          (status.error_message().empty() || status.error_message() == "No payload")) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            "the request is not a valid message (for example, a string field that is not "
            "UTF-8)"));
      }
    }
    methods->Proceed();
  }
};

}  // namespace

grpc::experimental::Interceptor* MalformedRequestInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* /*info*/) {
  return new MalformedRequestInterceptor();
}

CallMetricsInterceptorFactory::CallMetricsInterceptorFactory()
    : calls_(metrics::DefaultRegistry().Counter(
          "plantmon_rpc_calls_total", "gRPC calls answered, by full method name and status code.",
          {"method", "code"})),
      latency_(metrics::DefaultRegistry().Histogram(
          "plantmon_rpc_duration_seconds",
          "Time from a call's start to its status being sent, by full method name.", {"method"},
          metrics::LatencyBuckets())) {}

grpc::experimental::Interceptor* CallMetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new CallMetricsInterceptor(calls_, latency_, info->method());
}

grpc::experimental::Interceptor* AccessLogInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new AccessLogInterceptor(out_, info->method());
}

}  // namespace plantmon::services
