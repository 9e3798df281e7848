#ifndef PLANTMON_STORAGE_CATALOG_REPOSITORY_H_
#define PLANTMON_STORAGE_CATALOG_REPOSITORY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/models.h"

namespace plantmon::postgres {
class ConnectionPool;  // postgres/connection_pool.h; callers need not see libpqxx
}  // namespace plantmon::postgres

namespace plantmon::storage {

struct DeviceTypeFilter {
  std::optional<int64_t> manufacturer_id;
  std::optional<DeviceKind> device_type;
  std::optional<bool> is_active;
};

struct PlantTypeFilter {
  // Exact species name (the "plants of a specific species" join).
  std::optional<std::string> name;
};

// The shared catalogs: manufacturers, device types and plant types.
// Deleting a device type or plant type that devices or plants use is
// FAILED_PRECONDITION (the RESTRICT rules of docs/data-model.md); deleting a manufacturer
// deletes its unused device types (CASCADE).
class CatalogRepository {
 public:
  explicit CatalogRepository(postgres::ConnectionPool& pool) : pool_(pool) {}

  absl::StatusOr<Manufacturer> CreateManufacturer(const Manufacturer& value);
  absl::StatusOr<Manufacturer> GetManufacturer(int64_t id);
  absl::StatusOr<std::vector<Manufacturer>> ListManufacturers(const PageRequest& page);
  absl::StatusOr<Manufacturer> UpdateManufacturer(int64_t id, const ManufacturerUpdate& update);
  absl::Status DeleteManufacturer(int64_t id);

  absl::StatusOr<DeviceType> CreateDeviceType(const DeviceType& value);
  absl::StatusOr<DeviceType> GetDeviceType(int64_t id);
  absl::StatusOr<std::vector<DeviceType>> ListDeviceTypes(const DeviceTypeFilter& filter,
                                                          const PageRequest& page);
  absl::StatusOr<DeviceType> UpdateDeviceType(int64_t id, const DeviceTypeUpdate& update);
  absl::Status DeleteDeviceType(int64_t id);

  absl::StatusOr<PlantType> CreatePlantType(const PlantType& value);
  absl::StatusOr<PlantType> GetPlantType(int64_t id);
  absl::StatusOr<std::vector<PlantType>> ListPlantTypes(const PlantTypeFilter& filter,
                                                        const PageRequest& page);
  absl::StatusOr<PlantType> UpdatePlantType(int64_t id, const PlantTypeUpdate& update);
  absl::Status DeletePlantType(int64_t id);

 private:
  postgres::ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_CATALOG_REPOSITORY_H_
