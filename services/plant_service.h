#ifndef PLANTMON_SERVICES_PLANT_SERVICE_H_
#define PLANTMON_SERVICES_PLANT_SERVICE_H_

#include "plantmon/v1/plant.grpc.pb.h"
#include "services/auth/authenticator.h"
#include "storage/alert_repository.h"
#include "storage/catalog_repository.h"
#include "storage/device_repository.h"
#include "storage/plant_repository.h"
#include "storage/telemetry_repository.h"

namespace plantmon::services {

// plantmon.v1.PlantService: the plant-type catalogue, the caller's plants and
// their device assignments.
class PlantServiceImpl final : public v1::PlantService::Service {
 public:
  PlantServiceImpl(storage::CatalogRepository& catalog, storage::PlantRepository& plants,
                   storage::DeviceRepository& devices, storage::TelemetryRepository& telemetry,
                   storage::AlertRepository& alerts, auth::Authenticator& authenticator)
      : catalog_(catalog),
        plants_(plants),
        devices_(devices),
        telemetry_(telemetry),
        alerts_(alerts),
        authenticator_(authenticator) {}

  grpc::Status CreatePlantType(grpc::ServerContext* context,
                               const v1::CreatePlantTypeRequest* request,
                               v1::PlantType* response) override;
  grpc::Status GetPlantType(grpc::ServerContext* context, const v1::GetPlantTypeRequest* request,
                            v1::PlantType* response) override;
  grpc::Status ListPlantTypes(grpc::ServerContext* context,
                              const v1::ListPlantTypesRequest* request,
                              v1::ListPlantTypesResponse* response) override;
  grpc::Status UpdatePlantType(grpc::ServerContext* context,
                               const v1::UpdatePlantTypeRequest* request,
                               v1::PlantType* response) override;
  grpc::Status DeletePlantType(grpc::ServerContext* context,
                               const v1::DeletePlantTypeRequest* request,
                               google::protobuf::Empty* response) override;

  grpc::Status CreatePlant(grpc::ServerContext* context, const v1::CreatePlantRequest* request,
                           v1::Plant* response) override;
  grpc::Status GetPlant(grpc::ServerContext* context, const v1::GetPlantRequest* request,
                        v1::Plant* response) override;
  grpc::Status ListPlants(grpc::ServerContext* context, const v1::ListPlantsRequest* request,
                          v1::ListPlantsResponse* response) override;
  grpc::Status UpdatePlant(grpc::ServerContext* context, const v1::UpdatePlantRequest* request,
                           v1::Plant* response) override;
  grpc::Status DeletePlant(grpc::ServerContext* context, const v1::DeletePlantRequest* request,
                           google::protobuf::Empty* response) override;

  grpc::Status CreatePlantDeviceAssignment(grpc::ServerContext* context,
                                           const v1::CreatePlantDeviceAssignmentRequest* request,
                                           v1::PlantDeviceAssignment* response) override;
  grpc::Status GetPlantDeviceAssignment(grpc::ServerContext* context,
                                        const v1::GetPlantDeviceAssignmentRequest* request,
                                        v1::PlantDeviceAssignment* response) override;
  grpc::Status ListPlantDeviceAssignments(
      grpc::ServerContext* context, const v1::ListPlantDeviceAssignmentsRequest* request,
      v1::ListPlantDeviceAssignmentsResponse* response) override;
  grpc::Status UpdatePlantDeviceAssignment(grpc::ServerContext* context,
                                           const v1::UpdatePlantDeviceAssignmentRequest* request,
                                           v1::PlantDeviceAssignment* response) override;
  grpc::Status DeletePlantDeviceAssignment(grpc::ServerContext* context,
                                           const v1::DeletePlantDeviceAssignmentRequest* request,
                                           google::protobuf::Empty* response) override;
  grpc::Status GetPlantOverview(grpc::ServerContext* context,
                                const v1::GetPlantOverviewRequest* request,
                                v1::PlantOverview* response) override;
  grpc::Status ListTopAnomalousPlants(grpc::ServerContext* context,
                                      const v1::ListTopAnomalousPlantsRequest* request,
                                      v1::ListTopAnomalousPlantsResponse* response) override;

 private:
  storage::CatalogRepository& catalog_;
  storage::PlantRepository& plants_;
  storage::DeviceRepository& devices_;
  storage::TelemetryRepository& telemetry_;
  storage::AlertRepository& alerts_;
  auth::Authenticator& authenticator_;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_PLANT_SERVICE_H_
