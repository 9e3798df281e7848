#include "services/health_service.h"

#include "absl/strings/str_cat.h"

namespace plantmon::services {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream: the latest status is written whenever it differs from
// the last one written, one write at a time, so a client that does not read
// holds one message and nothing piles up.
class HealthService::Watcher final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService& service, std::string name) : service_(service), name_(std::move(name)) {}

  // Under the service's lock: the status now (the first call starts the
  // stream), or the end of the stream.
  void Update(ServingStatus status) {
    std::lock_guard<std::mutex> lock(mu_);
    wanted_ = status;
    if (!writing_) WriteLocked();
  }
  void End(const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(status);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status::OK);  // the client went away
      return;
    }
    WriteLocked();
  }
  void OnCancel() override { End(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled")); }
  void OnDone() override {
    service_.Forget(this);
    delete this;
  }

 private:
  void WriteLocked() {
    if (finished_ || wanted_ == sent_) return;
    response_.set_status(wanted_);
    sent_ = wanted_;
    writing_ = true;
    StartWrite(&response_);
  }
  void FinishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  HealthService& service_;
  const std::string name_;
  std::mutex mu_;
  HealthCheckResponse response_;
  ServingStatus wanted_ = HealthCheckResponse::UNKNOWN;  // guarded by mu_
  ServingStatus sent_ = HealthCheckResponse::UNKNOWN;    // guarded by mu_
  bool writing_ = false;                                 // guarded by mu_
  bool finished_ = false;                                // guarded by mu_

  friend class HealthService;
};

HealthService::HealthService(const std::vector<std::string>& service_names, int max_watches)
    : max_watches_(max_watches) {
  std::lock_guard<std::mutex> lock(mu_);
  statuses_[""] = HealthCheckResponse::NOT_SERVING;
  for (const std::string& name : service_names) {
    statuses_[name] = HealthCheckResponse::NOT_SERVING;
  }
}

// gRPC has run every watcher's OnDone by now (the server shuts down first).
HealthService::~HealthService() = default;

HealthService::ServingStatus HealthService::StatusOf(const std::string& service) {
  auto it = statuses_.find(service);
  // Per the health protocol, Watch reports SERVICE_UNKNOWN, not an error.
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
}

void HealthService::SetServing(bool serving) {
  std::lock_guard<std::mutex> lock(mu_);
  ServingStatus status = serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
  if (shutting_down_) return;
  for (auto& [name, current] : statuses_) current = status;
  for (Watcher* watcher : watchers_) watcher->Update(StatusOf(watcher->name_));
}

void HealthService::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  for (auto& [name, current] : statuses_) current = HealthCheckResponse::NOT_SERVING;
  for (Watcher* watcher : watchers_) {
    watcher->Update(HealthCheckResponse::NOT_SERVING);
    watcher->End(grpc::Status::OK);
  }
}

void HealthService::Forget(Watcher* watcher) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.erase(watcher);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = statuses_.find(request->service());
  if (it == statuses_.end()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 "unknown service \"" + request->service() + "\""));
    return reactor;
  }
  response->set_status(it->second);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* /*context*/, const HealthCheckRequest* request) {
  auto* watcher = new Watcher(*this, request->service());
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) {
    watcher->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
  } else if (static_cast<int>(watchers_.size()) >= max_watches_) {
    watcher->End(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("too many open Health/Watch streams (PLANTMON_MAX_OPEN_STREAMS is ",
                     max_watches_, ")")));
  } else {
    watchers_.insert(watcher);
    watcher->Update(StatusOf(watcher->name_));
  }
  return watcher;
}

}  // namespace plantmon::services
