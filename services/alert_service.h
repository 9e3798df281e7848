#ifndef PLANTMON_SERVICES_ALERT_SERVICE_H_
#define PLANTMON_SERVICES_ALERT_SERVICE_H_

#include "plantmon/v1/alert.grpc.pb.h"
#include "services/auth/authenticator.h"
#include "storage/alert_listener.h"
#include "storage/alert_repository.h"

namespace plantmon::services {

// plantmon.v1.AlertService: the caller's alert rules and alerts.
class AlertServiceImpl final : public v1::AlertService::Service {
 public:
  AlertServiceImpl(storage::AlertRepository& alerts, storage::AlertListener& listener,
                   auth::Authenticator& authenticator)
      : alerts_(alerts), listener_(listener), authenticator_(authenticator) {}

  grpc::Status CreateAlertRule(grpc::ServerContext* context,
                               const v1::CreateAlertRuleRequest* request,
                               v1::AlertRule* response) override;
  grpc::Status GetAlertRule(grpc::ServerContext* context, const v1::GetAlertRuleRequest* request,
                            v1::AlertRule* response) override;
  grpc::Status ListAlertRules(grpc::ServerContext* context,
                              const v1::ListAlertRulesRequest* request,
                              v1::ListAlertRulesResponse* response) override;
  grpc::Status UpdateAlertRule(grpc::ServerContext* context,
                               const v1::UpdateAlertRuleRequest* request,
                               v1::AlertRule* response) override;
  grpc::Status DeleteAlertRule(grpc::ServerContext* context,
                               const v1::DeleteAlertRuleRequest* request,
                               google::protobuf::Empty* response) override;
  grpc::Status GetAlert(grpc::ServerContext* context, const v1::GetAlertRequest* request,
                        v1::Alert* response) override;
  grpc::Status ListAlerts(grpc::ServerContext* context, const v1::ListAlertsRequest* request,
                          v1::ListAlertsResponse* response) override;
  grpc::Status AcknowledgeAlert(grpc::ServerContext* context,
                                const v1::AcknowledgeAlertRequest* request,
                                v1::Alert* response) override;
  grpc::Status ResolveAlert(grpc::ServerContext* context, const v1::ResolveAlertRequest* request,
                            v1::Alert* response) override;
  grpc::Status AcknowledgeAlerts(grpc::ServerContext* context,
                                 const v1::AcknowledgeAlertsRequest* request,
                                 v1::AcknowledgeAlertsResponse* response) override;
  grpc::Status WatchAlerts(grpc::ServerContext* context, const v1::WatchAlertsRequest* request,
                           grpc::ServerWriter<v1::WatchAlertsResponse>* writer) override;

 private:
  storage::AlertRepository& alerts_;
  storage::AlertListener& listener_;
  auth::Authenticator& authenticator_;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_ALERT_SERVICE_H_
