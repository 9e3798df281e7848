#ifndef PLANTMON_SERVICES_TELEMETRY_SERVICE_H_
#define PLANTMON_SERVICES_TELEMETRY_SERVICE_H_

#include "plantmon/v1/telemetry.grpc.pb.h"
#include "services/auth/authenticator.h"
#include "storage/ingest_repository.h"
#include "storage/telemetry_repository.h"

namespace plantmon::services {

// plantmon.v1.TelemetryService: ingestion (single readings and gateway
// streams) and the time-series queries of the caller's devices.
class TelemetryServiceImpl final : public v1::TelemetryService::Service {
 public:
  TelemetryServiceImpl(storage::TelemetryRepository& telemetry, storage::IngestRepository& ingest,
                       auth::Authenticator& authenticator)
      : telemetry_(telemetry), ingest_(ingest), authenticator_(authenticator) {}

  grpc::Status RecordReading(grpc::ServerContext* context, const v1::RecordReadingRequest* request,
                             v1::SensorData* response) override;
  grpc::Status UploadReadings(grpc::ServerContext* context,
                              grpc::ServerReader<v1::UploadReadingsRequest>* reader,
                              v1::UploadReadingsResponse* response) override;
  grpc::Status StreamReadings(grpc::ServerContext* context,
                              grpc::ServerReaderWriter<v1::StreamReadingsResponse,
                                                       v1::StreamReadingsRequest>* stream) override;
  grpc::Status ListSensorData(grpc::ServerContext* context,
                              const v1::ListSensorDataRequest* request,
                              v1::ListSensorDataResponse* response) override;
  grpc::Status GetLatestReadings(grpc::ServerContext* context,
                                 const v1::GetLatestReadingsRequest* request,
                                 v1::GetLatestReadingsResponse* response) override;
  grpc::Status AggregateSensorData(grpc::ServerContext* context,
                                   const v1::AggregateSensorDataRequest* request,
                                   v1::AggregateSensorDataResponse* response) override;

 private:
  storage::TelemetryRepository& telemetry_;
  storage::IngestRepository& ingest_;
  auth::Authenticator& authenticator_;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_TELEMETRY_SERVICE_H_
