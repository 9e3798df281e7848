#include "storage/device_repository.h"

#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/row_reader.h"

namespace plantmon::storage {

using postgres::RunInTransaction;
using postgres::ViolatedConstraint;
namespace {

constexpr char kColumns[] =
    "id, user_id, device_type_id, unique_identifier, device_name, is_active, "
    PLANTMON_EPOCH_US("last_data_received") ", "
    PLANTMON_EPOCH_US("last_heartbeat") ", location_description, "
    "battery_level, rssi, " PLANTMON_EPOCH_US("created_at") ", "
    PLANTMON_EPOCH_US("updated_at");

constexpr char kDeviceTypeExists[] = "SELECT 1 FROM device_types WHERE id = $1";

Device ReadDevice(const pqxx::row& row) {
  RowReader reader(row);
  Device device;
  device.id = reader.Next<int64_t>();
  device.user_id = reader.Next<int64_t>();
  device.device_type_id = reader.Next<int64_t>();
  device.unique_identifier = reader.Next<std::string>();
  device.device_name = reader.Next<std::string>();
  device.is_active = reader.Next<bool>();
  device.last_data_received = reader.NextOptionalTime();
  device.last_heartbeat = reader.NextOptionalTime();
  device.location_description = reader.NextOptional<std::string>();
  device.battery_level = reader.NextOptional<double>();
  device.rssi = reader.NextOptional<int32_t>();
  device.created_at = reader.NextTime();
  device.updated_at = reader.NextTime();
  return device;
}

absl::Status ExplainDeviceConflict(absl::Status status) {
  if (ViolatedConstraint(status) == "devices_unique_identifier_key") {
    return absl::AlreadyExistsError("a device with this unique_identifier is already registered");
  }
  return status;
}

}  // namespace

absl::StatusOr<Device> DeviceRepository::Create(int64_t owner_id, const Device& device) {
  absl::StatusOr<Device> created =
      RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<Device> {
        if (!Exists(transaction, kDeviceTypeExists, device.device_type_id)) {
          return NotFound("device type", device.device_type_id);
        }
        return ReadDevice(transaction.exec_params1(
            std::string("INSERT INTO devices (user_id, device_type_id, "
                        "unique_identifier, device_name, is_active, "
                        "location_description, battery_level, rssi) VALUES "
                        "($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ") +
                kColumns,
            owner_id, device.device_type_id, device.unique_identifier, device.device_name,
            device.is_active, device.location_description, device.battery_level, device.rssi));
      });
  if (!created.ok()) return ExplainDeviceConflict(created.status());
  return created;
}

absl::StatusOr<Device> DeviceRepository::Get(int64_t owner_id, int64_t id) {
  return QueryOne<Device>(
      pool_, "device", id, ReadDevice,
      std::string("SELECT ") + kColumns + " FROM devices WHERE id = $1 AND user_id = $2", id,
      owner_id);
}

absl::StatusOr<std::vector<Device>> DeviceRepository::List(int64_t owner_id,
                                                           const DeviceFilter& filter,
                                                           const PageRequest& page) {
  return QueryMany<Device>(pool_, ReadDevice,
                           std::string("SELECT ") + kColumns +
                               " FROM devices WHERE user_id = $1 AND id > $2 "
                               "AND ($3::boolean IS NULL OR is_active = $3) "
                               "AND ($4::integer IS NULL OR device_type_id = $4) "
                               "ORDER BY id LIMIT $5",
                           owner_id, page.after_id, filter.is_active, filter.device_type_id,
                           page.limit);
}

absl::StatusOr<Device> DeviceRepository::Update(int64_t owner_id, int64_t id,
                                                const DeviceUpdate& update) {
  absl::StatusOr<Device> updated =
      RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<Device> {
        if (update.device_type_id.has_value() &&
            !Exists(transaction, kDeviceTypeExists, *update.device_type_id)) {
          return NotFound("device type", *update.device_type_id);
        }
        pqxx::result rows = transaction.exec_params(
            std::string(
                "UPDATE devices SET "
                "device_type_id = CASE WHEN $3 THEN $4::integer ELSE device_type_id END, "
                "device_name = CASE WHEN $5 THEN $6 ELSE device_name END, "
                "is_active = CASE WHEN $7 THEN $8::boolean ELSE is_active END, "
                "location_description = CASE WHEN $9 THEN $10 ELSE location_description END, "
                "battery_level = CASE WHEN $11 THEN $12::double precision ELSE battery_level END, "
                "rssi = CASE WHEN $13 THEN $14::integer ELSE rssi END "
                "WHERE id = $1 AND user_id = $2 RETURNING ") +
                kColumns,
            id, owner_id, IsSet(update.device_type_id), ValueOf(update.device_type_id),
            IsSet(update.device_name), ValueOf(update.device_name), IsSet(update.is_active),
            ValueOf(update.is_active), IsSet(update.location_description),
            ValueOf(update.location_description), IsSet(update.battery_level),
            ValueOf(update.battery_level), IsSet(update.rssi), ValueOf(update.rssi));
        if (rows.empty()) return NotFound("device", id);
        return ReadDevice(rows[0]);
      });
  if (!updated.ok()) return ExplainDeviceConflict(updated.status());
  return updated;
}

absl::Status DeviceRepository::Delete(int64_t owner_id, int64_t id) {
  return UpdateOne(pool_, "device", id, "DELETE FROM devices WHERE id = $1 AND user_id = $2", id,
                   owner_id);
}

absl::StatusOr<Device> DeviceRepository::RecordHeartbeat(int64_t owner_id, int64_t id,
                                                         std::optional<double> battery_level,
                                                         std::optional<int32_t> rssi) {
  return QueryOne<Device>(pool_, "device", id, ReadDevice,
                          std::string("UPDATE devices SET last_heartbeat = now(), "
                                      "battery_level = COALESCE($3, battery_level), "
                                      "rssi = COALESCE($4, rssi) "
                                      "WHERE id = $1 AND user_id = $2 RETURNING ") +
                              kColumns,
                          id, owner_id, battery_level, rssi);
}

}  // namespace plantmon::storage
