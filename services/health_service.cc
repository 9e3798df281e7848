#include "services/health_service.h"

#include "common/sync.h"

namespace plantmon::services {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

HealthService::HealthService(const std::vector<std::string>& service_names) {
  std::lock_guard<std::mutex> lock(mu_);
  statuses_[""] = HealthCheckResponse::NOT_SERVING;
  for (const std::string& name : service_names) {
    statuses_[name] = HealthCheckResponse::NOT_SERVING;
  }
}

void HealthService::SetServing(bool serving) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ServingStatus status =
        serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
    bool changed = false;
    for (auto& [name, current] : statuses_) {
      if (current != status) changed = true;
      current = status;
    }
    if (!changed) return;
    ++generation_;
  }
  changed_.notify_all();
}

void HealthService::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
    for (auto& [name, current] : statuses_) {
      current = HealthCheckResponse::NOT_SERVING;
    }
    ++generation_;
  }
  changed_.notify_all();
}

grpc::Status HealthService::Check(grpc::ServerContext* /*context*/,
                                  const HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = statuses_.find(request->service());
  if (it == statuses_.end()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "unknown service \"" + request->service() + "\"");
  }
  response->set_status(it->second);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* context, const HealthCheckRequest* request,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  uint64_t seen_generation = 0;
  bool first = true;
  ServingStatus last_sent = HealthCheckResponse::UNKNOWN;
  while (!context->IsCancelled()) {
    ServingStatus status;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!first) {
        // Wake up on a change, or now and then to notice cancellation.
        common::WaitUntil(changed_, lock, absl::Now() + absl::Milliseconds(200),
                          [&] { return generation_ != seen_generation || shutting_down_; });
      }
      if (shutting_down_ && !first) return grpc::Status::OK;
      seen_generation = generation_;
      auto it = statuses_.find(request->service());
      // Per the health protocol, Watch reports SERVICE_UNKNOWN, not an error.
      status = it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
    }
    if (first || status != last_sent) {
      HealthCheckResponse response;
      response.set_status(status);
      if (!writer->Write(response)) return grpc::Status::OK;
      last_sent = status;
    }
    first = false;
  }
  return grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled");
}

}  // namespace plantmon::services
