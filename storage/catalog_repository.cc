#include "storage/catalog_repository.h"

#include "postgres/message_table.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/message_rows.h"
#include "storage/row_reader.h"

namespace plantmon::storage {

using postgres::ColumnAccess;
using postgres::ViolatedConstraint;
namespace {

// The catalogue tables (migrations/0001_initial_schema.sql), as API messages.
const postgres::MessageTable& Manufacturers() {
  static const auto* table =
      new postgres::MessageTable("manufacturers", v1::Manufacturer::descriptor(),
                                 {{"id", ColumnAccess::kReadOnly},
                                  {"name", ColumnAccess::kWritable},
                                  {"description", ColumnAccess::kWritable},
                                  {"contact_email", ColumnAccess::kWritable},
                                  {"website", ColumnAccess::kWritable},
                                  {"is_verified", ColumnAccess::kWritable},
                                  {"created_at", ColumnAccess::kReadOnly},
                                  {"updated_at", ColumnAccess::kReadOnly}});
  return *table;
}

const postgres::MessageTable& DeviceTypes() {
  static const auto* table =
      new postgres::MessageTable("device_types", v1::DeviceType::descriptor(),
                                 {{"id", ColumnAccess::kReadOnly},
                                  {"manufacturer_id", ColumnAccess::kWritable},
                                  {"name", ColumnAccess::kWritable},
                                  {"device_type", ColumnAccess::kWritable, "device_type_enum"},
                                  {"description", ColumnAccess::kWritable},
                                  {"communication_interface", ColumnAccess::kWritable},
                                  {"supported_functions", ColumnAccess::kWritable},
                                  {"data_unit", ColumnAccess::kWritable},
                                  {"min_value", ColumnAccess::kWritable},
                                  {"max_value", ColumnAccess::kWritable},
                                  {"is_active", ColumnAccess::kWritable},
                                  {"created_at", ColumnAccess::kReadOnly},
                                  {"updated_at", ColumnAccess::kReadOnly}});
  return *table;
}

const postgres::MessageTable& PlantTypes() {
  static const auto* table =
      new postgres::MessageTable("plant_types", v1::PlantType::descriptor(),
                                 {{"id", ColumnAccess::kReadOnly},
                                  {"name", ColumnAccess::kWritable},
                                  {"scientific_name", ColumnAccess::kWritable},
                                  {"description", ColumnAccess::kWritable},
                                  {"optimal_temperature", ColumnAccess::kWritable},
                                  {"optimal_humidity", ColumnAccess::kWritable},
                                  {"optimal_light", ColumnAccess::kWritable},
                                  {"water_frequency_days", ColumnAccess::kWritable},
                                  {"care_instructions", ColumnAccess::kWritable},
                                  {"created_at", ColumnAccess::kReadOnly},
                                  {"updated_at", ColumnAccess::kReadOnly}});
  return *table;
}

template <typename Message>
absl::StatusOr<Message> UpdateIn(postgres::ConnectionPool& pool,
                                 const postgres::MessageTable& table, absl::string_view what,
                                 int64_t id, const Message& values,
                                 const google::protobuf::FieldMask& mask) {
  return UpdateMessage(pool, table, what, id, "id = $1", {std::to_string(id)}, values, mask);
}

absl::Status ExplainCatalogError(absl::Status status) {
  std::optional<std::string> constraint = ViolatedConstraint(status);
  if (!constraint.has_value()) return status;
  if (*constraint == "manufacturers_name_key") {
    return absl::AlreadyExistsError("a manufacturer with this name already exists");
  }
  if (*constraint == "device_types_manufacturer_id_name_key") {
    return absl::AlreadyExistsError("this manufacturer already has a device type with this name");
  }
  if (*constraint == "device_types_manufacturer_id_fkey") {
    // A reference to a missing row reads like any other missing row.
    return absl::NotFoundError("the manufacturer does not exist");
  }
  if (*constraint == "device_types_value_range_check") {
    return absl::InvalidArgumentError("min_value must not exceed max_value");
  }
  if (*constraint == "plant_types_name_key") {
    return absl::AlreadyExistsError("a plant type with this name already exists");
  }
  return status;
}

absl::Status ExplainInUse(absl::Status status, absl::string_view message) {
  if (status.code() == absl::StatusCode::kFailedPrecondition) {
    return absl::FailedPreconditionError(message);
  }
  return status;
}

template <typename T>
absl::StatusOr<T> Explained(absl::StatusOr<T> result) {
  if (!result.ok()) return ExplainCatalogError(result.status());
  return result;
}

}  // namespace

const std::vector<std::string>& CatalogRepository::UpdatableManufacturerFields() {
  return Manufacturers().updatable();
}
const std::vector<std::string>& CatalogRepository::UpdatableDeviceTypeFields() {
  return DeviceTypes().updatable();
}
const std::vector<std::string>& CatalogRepository::UpdatablePlantTypeFields() {
  return PlantTypes().updatable();
}

// --- manufacturers ---------------------------------------------------------

absl::StatusOr<v1::Manufacturer> CatalogRepository::CreateManufacturer(
    const v1::Manufacturer& value) {
  return Explained(InsertMessage(pool_, Manufacturers(), value));
}

absl::StatusOr<v1::Manufacturer> CatalogRepository::GetManufacturer(int64_t id) {
  return GetMessage<v1::Manufacturer>(pool_, Manufacturers(), "manufacturer", id);
}

absl::StatusOr<std::vector<v1::Manufacturer>> CatalogRepository::ListManufacturers(
    const PageRequest& page) {
  return ReadMany<v1::Manufacturer>(
      pool_, [](const pqxx::row& row) { return Manufacturers().Read<v1::Manufacturer>(row); },
      "SELECT " + Manufacturers().select_list() +
          " FROM manufacturers WHERE id > $1 ORDER BY id LIMIT $2",
      page.after_id, page.limit);
}

absl::StatusOr<v1::Manufacturer> CatalogRepository::UpdateManufacturer(
    int64_t id, const v1::Manufacturer& values, const google::protobuf::FieldMask& mask) {
  return Explained(UpdateIn(pool_, Manufacturers(), "manufacturer", id, values, mask));
}

absl::Status CatalogRepository::DeleteManufacturer(int64_t id) {
  return ExplainInUse(
      UpdateById(pool_, "manufacturer", "DELETE FROM manufacturers WHERE id = $1", id),
      "the manufacturer has device types that devices still use");
}

// --- device types ----------------------------------------------------------

absl::StatusOr<v1::DeviceType> CatalogRepository::CreateDeviceType(const v1::DeviceType& value) {
  return Explained(InsertMessage(pool_, DeviceTypes(), value));
}

absl::StatusOr<v1::DeviceType> CatalogRepository::GetDeviceType(int64_t id) {
  return GetMessage<v1::DeviceType>(pool_, DeviceTypes(), "device type", id);
}

absl::StatusOr<std::vector<v1::DeviceType>> CatalogRepository::ListDeviceTypes(
    const DeviceTypeFilter& filter, const PageRequest& page) {
  std::optional<std::string> kind;
  if (filter.device_type.has_value()) {
    kind = postgres::DatabaseEnumName(
        v1::DeviceKind_descriptor()->FindValueByNumber(static_cast<int>(*filter.device_type)));
  }
  return ReadMany<v1::DeviceType>(
      pool_, [](const pqxx::row& row) { return DeviceTypes().Read<v1::DeviceType>(row); },
      "SELECT " + DeviceTypes().select_list() +
          " FROM device_types WHERE id > $1 "
          "AND ($2::integer IS NULL OR manufacturer_id = $2) "
          "AND ($3::device_type_enum IS NULL OR device_type = $3) "
          "AND ($4::boolean IS NULL OR is_active = $4) "
          "ORDER BY id LIMIT $5",
      page.after_id, filter.manufacturer_id, kind, filter.is_active, page.limit);
}

absl::StatusOr<v1::DeviceType> CatalogRepository::UpdateDeviceType(
    int64_t id, const v1::DeviceType& values, const google::protobuf::FieldMask& mask) {
  return Explained(UpdateIn(pool_, DeviceTypes(), "device type", id, values, mask));
}

absl::Status CatalogRepository::DeleteDeviceType(int64_t id) {
  return ExplainInUse(
      UpdateById(pool_, "device type", "DELETE FROM device_types WHERE id = $1", id),
      "devices still use this device type");
}

// --- plant types -----------------------------------------------------------

absl::StatusOr<v1::PlantType> CatalogRepository::CreatePlantType(const v1::PlantType& value) {
  return Explained(InsertMessage(pool_, PlantTypes(), value));
}

absl::StatusOr<v1::PlantType> CatalogRepository::GetPlantType(int64_t id) {
  return GetMessage<v1::PlantType>(pool_, PlantTypes(), "plant type", id);
}

absl::StatusOr<std::vector<v1::PlantType>> CatalogRepository::ListPlantTypes(
    const PlantTypeFilter& filter, const PageRequest& page) {
  return ReadMany<v1::PlantType>(
      pool_, [](const pqxx::row& row) { return PlantTypes().Read<v1::PlantType>(row); },
      "SELECT " + PlantTypes().select_list() +
          " FROM plant_types WHERE id > $1 AND ($2::text IS NULL OR name = $2) "
          "ORDER BY id LIMIT $3",
      page.after_id, filter.name, page.limit);
}

absl::StatusOr<v1::PlantType> CatalogRepository::UpdatePlantType(
    int64_t id, const v1::PlantType& values, const google::protobuf::FieldMask& mask) {
  return Explained(UpdateIn(pool_, PlantTypes(), "plant type", id, values, mask));
}

absl::Status CatalogRepository::DeletePlantType(int64_t id) {
  return ExplainInUse(UpdateById(pool_, "plant type", "DELETE FROM plant_types WHERE id = $1", id),
                      "plants still use this plant type");
}

}  // namespace plantmon::storage
