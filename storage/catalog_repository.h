#ifndef PLANTMON_STORAGE_CATALOG_REPOSITORY_H_
#define PLANTMON_STORAGE_CATALOG_REPOSITORY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "plantmon/v1/device.pb.h"
#include "plantmon/v1/plant.pb.h"
#include "postgres/connection_pool_fwd.h"
#include "postgres/message_table.h"
#include "storage/models.h"

namespace plantmon::storage {

struct DeviceTypeFilter {
  std::optional<int64_t> manufacturer_id;
  std::optional<v1::DeviceKind> device_type;
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

  // Creates write the create-only and writable fields of `value`; updates set
  // the fields `mask` names (writable ones, checked by the caller), and a named
  // field unset in `values` becomes NULL.
  absl::StatusOr<v1::Manufacturer> CreateManufacturer(const v1::Manufacturer& value);
  absl::StatusOr<v1::Manufacturer> GetManufacturer(int64_t id);
  // The same read, described for the pipelined reader.
  static postgres::MessageRead GetManufacturerRead(int64_t id);
  absl::StatusOr<std::vector<v1::Manufacturer>> ListManufacturers(const PageRequest& page);
  absl::StatusOr<v1::Manufacturer> UpdateManufacturer(int64_t id, const v1::Manufacturer& values,
                                                      const google::protobuf::FieldMask& mask);
  absl::Status DeleteManufacturer(int64_t id);

  absl::StatusOr<v1::DeviceType> CreateDeviceType(const v1::DeviceType& value);
  absl::StatusOr<v1::DeviceType> GetDeviceType(int64_t id);
  absl::StatusOr<std::vector<v1::DeviceType>> ListDeviceTypes(const DeviceTypeFilter& filter,
                                                              const PageRequest& page);
  absl::StatusOr<v1::DeviceType> UpdateDeviceType(int64_t id, const v1::DeviceType& values,
                                                  const google::protobuf::FieldMask& mask);
  absl::Status DeleteDeviceType(int64_t id);

  // The measurement parameter catalogue (migration 0011), by name; at most
  // kMaxMeasurementParameters (creating more is RESOURCE_EXHAUSTED).
  static constexpr int64_t kMaxMeasurementParameters = 1000;
  absl::StatusOr<std::vector<v1::MeasurementParameter>> ListMeasurementParameters();
  absl::StatusOr<v1::MeasurementParameter> CreateMeasurementParameter(
      const v1::MeasurementParameter& value);

  absl::StatusOr<v1::PlantType> CreatePlantType(const v1::PlantType& value);
  absl::StatusOr<v1::PlantType> GetPlantType(int64_t id);
  // The same read, described for the pipelined reader.
  static postgres::MessageRead GetPlantTypeRead(int64_t id);
  absl::StatusOr<std::vector<v1::PlantType>> ListPlantTypes(const PlantTypeFilter& filter,
                                                            const PageRequest& page);
  absl::StatusOr<v1::PlantType> UpdatePlantType(int64_t id, const v1::PlantType& values,
                                                const google::protobuf::FieldMask& mask);
  absl::Status DeletePlantType(int64_t id);

  // The fields an update may name.
  static const std::vector<std::string>& UpdatableManufacturerFields();
  // Includes `measurements`, which lives in its own table.
  static const std::vector<std::string>& UpdatableDeviceTypeFields();
  static const std::vector<std::string>& UpdatablePlantTypeFields();

 private:
  postgres::ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_CATALOG_REPOSITORY_H_
