#include "storage/catalog_repository.h"

#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/row_reader.h"

namespace plantmon::storage {

using postgres::ViolatedConstraint;
namespace {

constexpr char kManufacturerColumns[] =
    "id, name, description, contact_email, website, is_verified, " PLANTMON_EPOCH_US(
        "created_at") ", " PLANTMON_EPOCH_US("updated_at");

constexpr char kDeviceTypeColumns[] =
    "id, manufacturer_id, name, device_type::text, description, "
    "communication_interface, supported_functions, data_unit, min_value, "
    "max_value, is_active, " PLANTMON_EPOCH_US("created_at") ", " PLANTMON_EPOCH_US("updated_at");

constexpr char kPlantTypeColumns[] =
    "id, name, scientific_name, description, optimal_temperature, "
    "optimal_humidity, optimal_light, water_frequency_days, care_instructions, " PLANTMON_EPOCH_US(
        "created_at") ", " PLANTMON_EPOCH_US("updated_at");

Manufacturer ReadManufacturer(const pqxx::row& row) {
  RowReader reader(row);
  Manufacturer value;
  value.id = reader.Next<int64_t>();
  value.name = reader.Next<std::string>();
  value.description = reader.NextOptional<std::string>();
  value.contact_email = reader.NextOptional<std::string>();
  value.website = reader.NextOptional<std::string>();
  value.is_verified = reader.Next<bool>();
  value.created_at = reader.NextTime();
  value.updated_at = reader.NextTime();
  return value;
}

DeviceType ReadDeviceType(const pqxx::row& row) {
  RowReader reader(row);
  DeviceType value;
  value.id = reader.Next<int64_t>();
  value.manufacturer_id = reader.Next<int64_t>();
  value.name = reader.Next<std::string>();
  value.device_type = DeviceKindFromName(reader.Next<std::string>()).value_or(DeviceKind::kSensor);
  value.description = reader.NextOptional<std::string>();
  value.communication_interface = reader.NextOptional<std::string>();
  value.supported_functions = reader.NextOptional<std::string>();
  value.data_unit = reader.NextOptional<std::string>();
  value.min_value = reader.NextOptional<double>();
  value.max_value = reader.NextOptional<double>();
  value.is_active = reader.Next<bool>();
  value.created_at = reader.NextTime();
  value.updated_at = reader.NextTime();
  return value;
}

PlantType ReadPlantType(const pqxx::row& row) {
  RowReader reader(row);
  PlantType value;
  value.id = reader.Next<int64_t>();
  value.name = reader.Next<std::string>();
  value.scientific_name = reader.NextOptional<std::string>();
  value.description = reader.NextOptional<std::string>();
  value.optimal_temperature = reader.NextOptional<double>();
  value.optimal_humidity = reader.NextOptional<double>();
  value.optimal_light = reader.NextOptional<double>();
  value.water_frequency_days = reader.NextOptional<int32_t>();
  value.care_instructions = reader.NextOptional<std::string>();
  value.created_at = reader.NextTime();
  value.updated_at = reader.NextTime();
  return value;
}

// Turns constraint violations into messages about the fields involved.
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

// --- manufacturers ---------------------------------------------------------

absl::StatusOr<Manufacturer> CatalogRepository::CreateManufacturer(const Manufacturer& value) {
  return Explained(QueryOne<Manufacturer>(
      pool_, "manufacturer", 0, ReadManufacturer,
      std::string("INSERT INTO manufacturers (name, description, contact_email, "
                  "website, is_verified) VALUES ($1, $2, $3, $4, $5) RETURNING ") +
          kManufacturerColumns,
      value.name, value.description, value.contact_email, value.website, value.is_verified));
}

absl::StatusOr<Manufacturer> CatalogRepository::GetManufacturer(int64_t id) {
  return QueryOne<Manufacturer>(
      pool_, "manufacturer", id, ReadManufacturer,
      std::string("SELECT ") + kManufacturerColumns + " FROM manufacturers WHERE id = $1", id);
}

absl::StatusOr<std::vector<Manufacturer>> CatalogRepository::ListManufacturers(
    const PageRequest& page) {
  return QueryMany<Manufacturer>(pool_, ReadManufacturer,
                                 std::string("SELECT ") + kManufacturerColumns +
                                     " FROM manufacturers WHERE id > $1 ORDER BY id LIMIT $2",
                                 page.after_id, page.limit);
}

absl::StatusOr<Manufacturer> CatalogRepository::UpdateManufacturer(
    int64_t id, const ManufacturerUpdate& update) {
  return Explained(QueryOne<Manufacturer>(
      pool_, "manufacturer", id, ReadManufacturer,
      std::string("UPDATE manufacturers SET "
                  "name = CASE WHEN $2 THEN $3 ELSE name END, "
                  "description = CASE WHEN $4 THEN $5 ELSE description END, "
                  "contact_email = CASE WHEN $6 THEN $7 ELSE contact_email END, "
                  "website = CASE WHEN $8 THEN $9 ELSE website END, "
                  "is_verified = CASE WHEN $10 THEN $11::boolean ELSE is_verified END "
                  "WHERE id = $1 RETURNING ") +
          kManufacturerColumns,
      id, IsSet(update.name), ValueOf(update.name), IsSet(update.description),
      ValueOf(update.description), IsSet(update.contact_email), ValueOf(update.contact_email),
      IsSet(update.website), ValueOf(update.website), IsSet(update.is_verified),
      ValueOf(update.is_verified)));
}

absl::Status CatalogRepository::DeleteManufacturer(int64_t id) {
  return ExplainInUse(
      UpdateById(pool_, "manufacturer", "DELETE FROM manufacturers WHERE id = $1", id),
      "the manufacturer has device types that devices still use");
}

// --- device types ----------------------------------------------------------

absl::StatusOr<DeviceType> CatalogRepository::CreateDeviceType(const DeviceType& value) {
  return Explained(QueryOne<DeviceType>(
      pool_, "device type", 0, ReadDeviceType,
      std::string("INSERT INTO device_types (manufacturer_id, name, device_type, "
                  "description, communication_interface, supported_functions, "
                  "data_unit, min_value, max_value, is_active) VALUES "
                  "($1, $2, $3::device_type_enum, $4, $5, $6, $7, $8, $9, $10) "
                  "RETURNING ") +
          kDeviceTypeColumns,
      value.manufacturer_id, value.name, DeviceKindName(value.device_type), value.description,
      value.communication_interface, value.supported_functions, value.data_unit, value.min_value,
      value.max_value, value.is_active));
}

absl::StatusOr<DeviceType> CatalogRepository::GetDeviceType(int64_t id) {
  return QueryOne<DeviceType>(
      pool_, "device type", id, ReadDeviceType,
      std::string("SELECT ") + kDeviceTypeColumns + " FROM device_types WHERE id = $1", id);
}

absl::StatusOr<std::vector<DeviceType>> CatalogRepository::ListDeviceTypes(
    const DeviceTypeFilter& filter, const PageRequest& page) {
  std::optional<std::string> kind;
  if (filter.device_type.has_value()) kind = DeviceKindName(*filter.device_type);
  return QueryMany<DeviceType>(pool_, ReadDeviceType,
                               std::string("SELECT ") + kDeviceTypeColumns +
                                   " FROM device_types WHERE id > $1 "
                                   "AND ($2::integer IS NULL OR manufacturer_id = $2) "
                                   "AND ($3::device_type_enum IS NULL OR device_type = $3) "
                                   "AND ($4::boolean IS NULL OR is_active = $4) "
                                   "ORDER BY id LIMIT $5",
                               page.after_id, filter.manufacturer_id, kind, filter.is_active,
                               page.limit);
}

absl::StatusOr<DeviceType> CatalogRepository::UpdateDeviceType(int64_t id,
                                                               const DeviceTypeUpdate& update) {
  std::optional<std::string> kind;
  if (update.device_type.has_value()) kind = DeviceKindName(*update.device_type);
  return Explained(QueryOne<DeviceType>(
      pool_, "device type", id, ReadDeviceType,
      std::string(
          "UPDATE device_types SET "
          "manufacturer_id = CASE WHEN $2 THEN $3::integer ELSE manufacturer_id END, "
          "name = CASE WHEN $4 THEN $5 ELSE name END, "
          "device_type = CASE WHEN $6 THEN $7::device_type_enum ELSE device_type END, "
          "description = CASE WHEN $8 THEN $9 ELSE description END, "
          "communication_interface = CASE WHEN $10 THEN $11 ELSE communication_interface END, "
          "supported_functions = CASE WHEN $12 THEN $13 ELSE supported_functions END, "
          "data_unit = CASE WHEN $14 THEN $15 ELSE data_unit END, "
          "min_value = CASE WHEN $16 THEN $17::double precision ELSE min_value END, "
          "max_value = CASE WHEN $18 THEN $19::double precision ELSE max_value END, "
          "is_active = CASE WHEN $20 THEN $21::boolean ELSE is_active END "
          "WHERE id = $1 RETURNING ") +
          kDeviceTypeColumns,
      id, IsSet(update.manufacturer_id), ValueOf(update.manufacturer_id), IsSet(update.name),
      ValueOf(update.name), IsSet(update.device_type), kind, IsSet(update.description),
      ValueOf(update.description), IsSet(update.communication_interface),
      ValueOf(update.communication_interface), IsSet(update.supported_functions),
      ValueOf(update.supported_functions), IsSet(update.data_unit), ValueOf(update.data_unit),
      IsSet(update.min_value), ValueOf(update.min_value), IsSet(update.max_value),
      ValueOf(update.max_value), IsSet(update.is_active), ValueOf(update.is_active)));
}

absl::Status CatalogRepository::DeleteDeviceType(int64_t id) {
  return ExplainInUse(
      UpdateById(pool_, "device type", "DELETE FROM device_types WHERE id = $1", id),
      "devices still use this device type");
}

// --- plant types -----------------------------------------------------------

absl::StatusOr<PlantType> CatalogRepository::CreatePlantType(const PlantType& value) {
  return Explained(QueryOne<PlantType>(
      pool_, "plant type", 0, ReadPlantType,
      std::string("INSERT INTO plant_types (name, scientific_name, description, "
                  "optimal_temperature, optimal_humidity, optimal_light, "
                  "water_frequency_days, care_instructions) VALUES "
                  "($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ") +
          kPlantTypeColumns,
      value.name, value.scientific_name, value.description, value.optimal_temperature,
      value.optimal_humidity, value.optimal_light, value.water_frequency_days,
      value.care_instructions));
}

absl::StatusOr<PlantType> CatalogRepository::GetPlantType(int64_t id) {
  return QueryOne<PlantType>(
      pool_, "plant type", id, ReadPlantType,
      std::string("SELECT ") + kPlantTypeColumns + " FROM plant_types WHERE id = $1", id);
}

absl::StatusOr<std::vector<PlantType>> CatalogRepository::ListPlantTypes(
    const PlantTypeFilter& filter, const PageRequest& page) {
  return QueryMany<PlantType>(
      pool_, ReadPlantType,
      std::string("SELECT ") + kPlantTypeColumns +
          " FROM plant_types WHERE id > $1 AND ($2::text IS NULL OR name = $2) "
          "ORDER BY id LIMIT $3",
      page.after_id, filter.name, page.limit);
}

absl::StatusOr<PlantType> CatalogRepository::UpdatePlantType(int64_t id,
                                                             const PlantTypeUpdate& update) {
  return Explained(QueryOne<PlantType>(
      pool_, "plant type", id, ReadPlantType,
      std::string(
          "UPDATE plant_types SET "
          "name = CASE WHEN $2 THEN $3 ELSE name END, "
          "scientific_name = CASE WHEN $4 THEN $5 ELSE scientific_name END, "
          "description = CASE WHEN $6 THEN $7 ELSE description END, "
          "optimal_temperature = CASE WHEN $8 THEN $9::double precision ELSE optimal_temperature "
          "END, "
          "optimal_humidity = CASE WHEN $10 THEN $11::double precision ELSE optimal_humidity END, "
          "optimal_light = CASE WHEN $12 THEN $13::double precision ELSE optimal_light END, "
          "water_frequency_days = CASE WHEN $14 THEN $15::integer ELSE water_frequency_days END, "
          "care_instructions = CASE WHEN $16 THEN $17 ELSE care_instructions END "
          "WHERE id = $1 RETURNING ") +
          kPlantTypeColumns,
      id, IsSet(update.name), ValueOf(update.name), IsSet(update.scientific_name),
      ValueOf(update.scientific_name), IsSet(update.description), ValueOf(update.description),
      IsSet(update.optimal_temperature), ValueOf(update.optimal_temperature),
      IsSet(update.optimal_humidity), ValueOf(update.optimal_humidity), IsSet(update.optimal_light),
      ValueOf(update.optimal_light), IsSet(update.water_frequency_days),
      ValueOf(update.water_frequency_days), IsSet(update.care_instructions),
      ValueOf(update.care_instructions)));
}

absl::Status CatalogRepository::DeletePlantType(int64_t id) {
  return ExplainInUse(UpdateById(pool_, "plant type", "DELETE FROM plant_types WHERE id = $1", id),
                      "plants still use this plant type");
}

}  // namespace plantmon::storage
