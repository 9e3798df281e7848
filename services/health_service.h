#ifndef PLANTMON_SERVICES_HEALTH_SERVICE_H_
#define PLANTMON_SERVICES_HEALTH_SERVICE_H_

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace plantmon::services {

// grpc.health.v1.Health generated from grpc-proto's health.proto, so that
// reflection describes it (the library's built-in health service is not).
// "" stands for the whole server; each plantmon service is listed by name.
class HealthService final : public grpc::health::v1::Health::Service {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  explicit HealthService(const std::vector<std::string>& service_names);

  // Sets every registered service (and "") to SERVING or NOT_SERVING.
  void SetServing(bool serving);
  // Ends every Watch stream (at shutdown).
  void Shutdown();

  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  std::mutex mu_;  // std::mutex rather than absl::Mutex: see common/sync.h.
  std::condition_variable changed_;
  std::map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  // Bumped on every change, so watchers notice.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_HEALTH_SERVICE_H_
