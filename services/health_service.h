#ifndef PLANTMON_SERVICES_HEALTH_SERVICE_H_
#define PLANTMON_SERVICES_HEALTH_SERVICE_H_

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace plantmon::services {

// grpc.health.v1.Health generated from grpc-proto's health.proto, so that
// reflection describes it (the library's built-in health service is not).
// "" stands for the whole server; each plantmon service is listed by name.
// On gRPC's callback API: an open Watch holds no thread.
class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // At most `max_watches` Watch streams are open at once; one more is
  // refused with RESOURCE_EXHAUSTED naming PLANTMON_MAX_OPEN_STREAMS, the
  // figure the server passes.
  HealthService(const std::vector<std::string>& service_names, int max_watches);
  ~HealthService() override;

  // Sets every registered service (and "") to SERVING or NOT_SERVING.
  void SetServing(bool serving);
  // Ends every Watch stream (at shutdown).
  void Shutdown();

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class Watcher;

  // SERVICE_UNKNOWN for a name that is not registered.
  ServingStatus StatusOf(const std::string& service) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Forget(Watcher* watcher);

  const int max_watches_;
  std::mutex mu_;  // std::mutex rather than absl::Mutex: see common/sync.h.
  std::map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_HEALTH_SERVICE_H_
