#include "storage/catalog_repository.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "postgres/message_table.h"
#include "postgres/pg_array.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/message_rows.h"
#include "storage/row_reader.h"

namespace plantmon::storage {

namespace {

// The catalogue tables (migrations/0001_initial_schema.sql), as API messages.
const postgres::MessageTable& Manufacturers() {
  static const auto* table = new postgres::MessageTable(
      "manufacturers", v1::Manufacturer::descriptor(),
      postgres::FieldColumns().ReadOnly({"id", "created_at", "updated_at"}));
  return *table;
}

const postgres::MessageTable& DeviceTypes() {
  static const auto* table =
      new postgres::MessageTable("device_types", v1::DeviceType::descriptor(),
                                 postgres::FieldColumns()
                                     .ReadOnly({"id", "created_at", "updated_at"})
                                     .Enum("device_type", "device_type_enum")
                                     .Skip({"measurements"}));
  return *table;
}

// What a device type update may name: its columns and its measurements.
const std::vector<std::string>& DeviceTypeFields() {
  static const auto* fields = [] {
    auto* all = new std::vector<std::string>(DeviceTypes().updatable());
    all->push_back("measurements");
    return all;
  }();
  return *fields;
}

// measurement_parameters (migration 0011), keyed by name.
const postgres::MessageTable& MeasurementParameters() {
  static const auto* table = new postgres::MessageTable(
      "measurement_parameters", v1::MeasurementParameter::descriptor(),
      postgres::FieldColumns().ReadOnly({"created_at"}).CreateOnly({"name"}));
  return *table;
}

// device_type_measurements rows of `types`, attached to each in the order
// the type lists them.
void AttachMeasurements(pqxx::transaction_base& transaction,
                        const std::vector<v1::DeviceType*>& types) {
  if (types.empty()) return;
  std::vector<int64_t> ids;
  absl::flat_hash_map<int64_t, v1::DeviceType*> by_id;
  for (v1::DeviceType* type : types) {
    ids.push_back(type->id());
    by_id[type->id()] = type;
    type->clear_measurements();
  }
  for (const pqxx::row& row :
       postgres::ExecPrepared(transaction,
                              "SELECT device_type_id, parameter_name, unit, min_value, max_value "
                              "FROM device_type_measurements WHERE device_type_id = ANY($1::int[]) "
                              "ORDER BY device_type_id, position",
                              postgres::PgIntArray(ids))) {
    RowReader reader(row);
    v1::DeviceMeasurement* measurement = by_id.at(reader.Next<int64_t>())->add_measurements();
    measurement->set_parameter_name(reader.Next<std::string>());
    if (auto unit = reader.NextOptional<std::string>()) measurement->set_unit(*unit);
    if (auto min = reader.NextOptional<double>()) measurement->set_min_value(*min);
    if (auto max = reader.NextOptional<double>()) measurement->set_max_value(*max);
  }
}

// Replaces what type `id` measures with `type.measurements`.
void WriteMeasurements(pqxx::transaction_base& transaction, int64_t id,
                       const v1::DeviceType& type) {
  transaction.exec_params("DELETE FROM device_type_measurements WHERE device_type_id = $1", id);
  for (int i = 0; i < type.measurements_size(); ++i) {
    const v1::DeviceMeasurement& m = type.measurements(i);
    transaction.exec_params(
        "INSERT INTO device_type_measurements (device_type_id, parameter_name, unit, min_value, "
        "max_value, position) VALUES ($1, $2, $3, $4, $5, $6)",
        id, m.parameter_name(), m.has_unit() ? std::optional<std::string>(m.unit()) : std::nullopt,
        m.has_min_value() ? std::optional<double>(m.min_value()) : std::nullopt,
        m.has_max_value() ? std::optional<double>(m.max_value()) : std::nullopt, i);
  }
}

const postgres::MessageTable& PlantTypes() {
  static const auto* table = new postgres::MessageTable(
      "plant_types", v1::PlantType::descriptor(),
      postgres::FieldColumns().ReadOnly({"id", "created_at", "updated_at"}));
  return *table;
}

template <typename Message>
absl::StatusOr<Message> UpdateIn(postgres::ConnectionPool& pool,
                                 const postgres::MessageTable& table, absl::string_view what,
                                 int64_t id, const Message& values,
                                 const google::protobuf::FieldMask& mask) {
  return UpdateMessage(pool, table, what, id, "id = $1", {std::to_string(id)}, values, mask);
}

constexpr absl::string_view kUncataloguedParameter =
    "device_type.measurements name a parameter that is not catalogued "
    "(DeviceService.ListMeasurementParameters)";

absl::Status ExplainCatalogError(absl::Status status) {
  using absl::StatusCode;
  return postgres::ExplainConstraint(
      std::move(status),
      {
          {"manufacturers_name_key", StatusCode::kAlreadyExists,
           "a manufacturer with this name already exists"},
          {"device_types_manufacturer_id_name_key", StatusCode::kAlreadyExists,
           "this manufacturer already has a device type with this name"},
          // A reference to a missing row reads like any other missing row.
          {"device_types_manufacturer_id_fkey", StatusCode::kNotFound,
           "the manufacturer does not exist"},
          {"device_types_value_range_check", StatusCode::kInvalidArgument,
           "min_value must not exceed max_value"},
          {"device_type_measurements_range_check", StatusCode::kInvalidArgument,
           "min_value must not exceed max_value"},
          {"device_type_measurements_parameter_name_fkey", StatusCode::kInvalidArgument,
           kUncataloguedParameter},
          {"device_types_primary_parameter_fkey", StatusCode::kInvalidArgument,
           kUncataloguedParameter},
          {"device_types_primary_parameter_measured", StatusCode::kInvalidArgument,
           "device_type.primary_parameter must be one of the type's measurements"},
          {"measurement_parameters_pkey", StatusCode::kAlreadyExists,
           "a measurement parameter with this name already exists"},
          {"measurement_parameters_range_check", StatusCode::kInvalidArgument,
           "min_plausible must not exceed max_plausible"},
          {"plant_types_name_key", StatusCode::kAlreadyExists,
           "a plant type with this name already exists"},
      });
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
  return DeviceTypeFields();
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
  return ReadMessage<v1::Manufacturer>(pool_, GetManufacturerRead(id));
}

postgres::MessageRead CatalogRepository::GetManufacturerRead(int64_t id) {
  return MessageByIdRead(Manufacturers(), "manufacturer", id);
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
  return Explained(postgres::RunInTransaction(
      pool_, [&](pqxx::work& transaction) -> absl::StatusOr<v1::DeviceType> {
        v1::DeviceType row;
        postgres::InsertRow(transaction, DeviceTypes(), value, {}, &row);
        WriteMeasurements(transaction, row.id(), value);
        AttachMeasurements(transaction, {&row});
        return row;
      }));
}

absl::StatusOr<v1::DeviceType> CatalogRepository::GetDeviceType(int64_t id) {
  return postgres::RunReadOnly(
      pool_, [&](pqxx::transaction_base& transaction) -> absl::StatusOr<v1::DeviceType> {
        pqxx::result rows = postgres::ExecPrepared(
            transaction,
            "SELECT " + DeviceTypes().select_list() + " FROM device_types WHERE id = $1", id);
        if (rows.empty()) return NotFound("device type", id);
        auto type = DeviceTypes().Read<v1::DeviceType>(rows[0]);
        AttachMeasurements(transaction, {&type});
        return type;
      });
}

absl::StatusOr<std::vector<v1::DeviceType>> CatalogRepository::ListDeviceTypes(
    const DeviceTypeFilter& filter, const PageRequest& page) {
  std::optional<std::string> kind;
  if (filter.device_type.has_value()) {
    kind = postgres::DatabaseEnumName(
        v1::DeviceKind_descriptor()->FindValueByNumber(static_cast<int>(*filter.device_type)));
  }
  return postgres::RunReadOnly(
      pool_,
      [&](pqxx::transaction_base& transaction) -> absl::StatusOr<std::vector<v1::DeviceType>> {
        std::vector<v1::DeviceType> types;
        for (const pqxx::row& row : postgres::ExecPrepared(
                 transaction,
                 "SELECT " + DeviceTypes().select_list() +
                     " FROM device_types WHERE id > $1 "
                     "AND ($2::integer IS NULL OR manufacturer_id = $2) "
                     "AND ($3::device_type_enum IS NULL OR device_type = $3) "
                     "AND ($4::boolean IS NULL OR is_active = $4) "
                     "ORDER BY id LIMIT $5",
                 page.after_id, filter.manufacturer_id, kind, filter.is_active, page.limit)) {
          types.push_back(DeviceTypes().Read<v1::DeviceType>(row));
        }
        std::vector<v1::DeviceType*> pointers;
        for (v1::DeviceType& type : types) pointers.push_back(&type);
        AttachMeasurements(transaction, pointers);
        return types;
      });
}

absl::StatusOr<v1::DeviceType> CatalogRepository::UpdateDeviceType(
    int64_t id, const v1::DeviceType& values, const google::protobuf::FieldMask& mask) {
  // An empty mask writes every updatable field, measurements included.
  const bool writes_measurements =
      mask.paths().empty() ||
      std::find(mask.paths().begin(), mask.paths().end(), "measurements") != mask.paths().end();
  absl::StatusOr<v1::DeviceType> updated = UpdateMessage<v1::DeviceType>(
      pool_, DeviceTypes(), "device type", id, "id = $1", {std::to_string(id)}, values, mask,
      nullptr, [&](pqxx::work& transaction, const v1::DeviceType& /*row*/) {
        if (writes_measurements) WriteMeasurements(transaction, id, values);
        return absl::OkStatus();
      });
  if (!updated.ok()) return ExplainCatalogError(updated.status());
  // The row as committed, measurements included.
  return GetDeviceType(id);
}

// --- measurement parameters ------------------------------------------------

absl::StatusOr<std::vector<v1::MeasurementParameter>>
CatalogRepository::ListMeasurementParameters() {
  return ReadMany<v1::MeasurementParameter>(
      pool_,
      [](const pqxx::row& row) {
        return MeasurementParameters().Read<v1::MeasurementParameter>(row);
      },
      "SELECT " + MeasurementParameters().select_list() +
          " FROM measurement_parameters ORDER BY name LIMIT $1",
      kMaxMeasurementParameters);
}

absl::StatusOr<v1::MeasurementParameter> CatalogRepository::CreateMeasurementParameter(
    const v1::MeasurementParameter& value) {
  return Explained(InsertMessage(
      pool_, MeasurementParameters(), value, {}, [](pqxx::work& transaction) -> absl::Status {
        // Serialises creations, so that the cap holds under concurrency.
        transaction.exec("LOCK TABLE measurement_parameters IN SHARE ROW EXCLUSIVE MODE");
        if (transaction.exec1("SELECT count(*) FROM measurement_parameters")[0].as<int64_t>() >=
            kMaxMeasurementParameters) {
          return absl::ResourceExhaustedError(
              absl::StrCat("the catalogue holds ", kMaxMeasurementParameters,
                           " measurement parameters, its cap; reuse one of them"));
        }
        return absl::OkStatus();
      }));
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
  return ReadMessage<v1::PlantType>(pool_, GetPlantTypeRead(id));
}

postgres::MessageRead CatalogRepository::GetPlantTypeRead(int64_t id) {
  return MessageByIdRead(PlantTypes(), "plant type", id);
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
