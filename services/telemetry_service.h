#ifndef PLANTMON_SERVICES_TELEMETRY_SERVICE_H_
#define PLANTMON_SERVICES_TELEMETRY_SERVICE_H_

#include "plantmon/v1/telemetry.grpc.pb.h"
#include "services/auth/authenticator.h"
#include "storage/telemetry_repository.h"

namespace plantmon::services {

// plantmon.v1.TelemetryService: readings of the caller's devices.
class TelemetryServiceImpl final : public v1::TelemetryService::Service {
 public:
  TelemetryServiceImpl(storage::TelemetryRepository& telemetry,
                       auth::Authenticator& authenticator)
      : telemetry_(telemetry), authenticator_(authenticator) {}

  grpc::Status RecordReading(grpc::ServerContext* context,
                             const v1::RecordReadingRequest* request,
                             v1::SensorData* response) override;
  grpc::Status ListSensorData(grpc::ServerContext* context,
                              const v1::ListSensorDataRequest* request,
                              v1::ListSensorDataResponse* response) override;

 private:
  storage::TelemetryRepository& telemetry_;
  auth::Authenticator& authenticator_;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_TELEMETRY_SERVICE_H_
