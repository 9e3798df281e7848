#ifndef PLANTMON_SERVICES_DEVICE_SERVICE_H_
#define PLANTMON_SERVICES_DEVICE_SERVICE_H_

#include "plantmon/v1/device.grpc.pb.h"
#include "services/auth/authenticator.h"
#include "storage/catalog_repository.h"
#include "storage/device_repository.h"

namespace plantmon::services {

// plantmon.v1.DeviceService: the manufacturer and device-type catalogues
// (everyone reads, administrators write) and the caller's own devices.
class DeviceServiceImpl final : public v1::DeviceService::Service {
 public:
  DeviceServiceImpl(storage::CatalogRepository& catalog, storage::DeviceRepository& devices,
                    auth::Authenticator& authenticator)
      : catalog_(catalog), devices_(devices), authenticator_(authenticator) {}

  grpc::Status CreateManufacturer(grpc::ServerContext* context,
                                  const v1::CreateManufacturerRequest* request,
                                  v1::Manufacturer* response) override;
  grpc::Status GetManufacturer(grpc::ServerContext* context,
                               const v1::GetManufacturerRequest* request,
                               v1::Manufacturer* response) override;
  grpc::Status ListManufacturers(grpc::ServerContext* context,
                                 const v1::ListManufacturersRequest* request,
                                 v1::ListManufacturersResponse* response) override;
  grpc::Status UpdateManufacturer(grpc::ServerContext* context,
                                  const v1::UpdateManufacturerRequest* request,
                                  v1::Manufacturer* response) override;
  grpc::Status DeleteManufacturer(grpc::ServerContext* context,
                                  const v1::DeleteManufacturerRequest* request,
                                  google::protobuf::Empty* response) override;

  grpc::Status CreateDeviceType(grpc::ServerContext* context,
                                const v1::CreateDeviceTypeRequest* request,
                                v1::DeviceType* response) override;
  grpc::Status GetDeviceType(grpc::ServerContext* context, const v1::GetDeviceTypeRequest* request,
                             v1::DeviceType* response) override;
  grpc::Status ListDeviceTypes(grpc::ServerContext* context,
                               const v1::ListDeviceTypesRequest* request,
                               v1::ListDeviceTypesResponse* response) override;
  grpc::Status UpdateDeviceType(grpc::ServerContext* context,
                                const v1::UpdateDeviceTypeRequest* request,
                                v1::DeviceType* response) override;
  grpc::Status DeleteDeviceType(grpc::ServerContext* context,
                                const v1::DeleteDeviceTypeRequest* request,
                                google::protobuf::Empty* response) override;

  grpc::Status CreateDevice(grpc::ServerContext* context, const v1::CreateDeviceRequest* request,
                            v1::Device* response) override;
  grpc::Status GetDevice(grpc::ServerContext* context, const v1::GetDeviceRequest* request,
                         v1::Device* response) override;
  grpc::Status ListDevices(grpc::ServerContext* context, const v1::ListDevicesRequest* request,
                           v1::ListDevicesResponse* response) override;
  grpc::Status UpdateDevice(grpc::ServerContext* context, const v1::UpdateDeviceRequest* request,
                            v1::Device* response) override;
  grpc::Status DeleteDevice(grpc::ServerContext* context, const v1::DeleteDeviceRequest* request,
                            google::protobuf::Empty* response) override;
  grpc::Status RecordHeartbeat(grpc::ServerContext* context,
                               const v1::RecordHeartbeatRequest* request,
                               v1::Device* response) override;

 private:
  storage::CatalogRepository& catalog_;
  storage::DeviceRepository& devices_;
  auth::Authenticator& authenticator_;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_DEVICE_SERVICE_H_
