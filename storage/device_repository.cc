#include "storage/device_repository.h"

#include "absl/algorithm/container.h"
#include "postgres/message_table.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/message_rows.h"
#include "storage/row_reader.h"

namespace plantmon::storage {

namespace {

// The columns of `devices` (migrations/0001_initial_schema.sql and later), as
// fields of v1::Device.
const postgres::MessageTable& Devices() {
  static const auto* table =
      new postgres::MessageTable("devices", v1::Device::descriptor(),
                                 postgres::FieldColumns()
                                     .ReadOnly({"id", "user_id", "last_data_received",
                                                "last_heartbeat", "created_at", "updated_at"})
                                     .CreateOnly({"unique_identifier"}));
  return *table;
}

v1::Device ReadDevice(const pqxx::row& row) { return Devices().Read<v1::Device>(row); }

absl::Status ExplainDeviceConflict(absl::Status status) {
  return postgres::ExplainConstraint(
      std::move(status), {{"devices_unique_identifier_key", absl::StatusCode::kAlreadyExists,
                           "a device with this unique_identifier is already registered"}});
}

}  // namespace

const std::vector<std::string>& DeviceRepository::UpdatableFields() {
  return Devices().updatable();
}

absl::StatusOr<v1::Device> DeviceRepository::Create(int64_t owner_id, const v1::Device& device) {
  absl::StatusOr<v1::Device> created = InsertMessage(
      pool_, Devices(), device, {{"user_id", std::to_string(owner_id)}},
      [&](pqxx::work& transaction) {
        return CheckRowExists(transaction, "device_types", "device type", device.device_type_id());
      });
  if (!created.ok()) return ExplainDeviceConflict(created.status());
  return created;
}

absl::StatusOr<v1::Device> DeviceRepository::Get(int64_t owner_id, int64_t id) {
  return ReadMessage<v1::Device>(pool_, GetRead(owner_id, id));
}

postgres::MessageRead DeviceRepository::GetRead(int64_t owner_id, int64_t id) {
  return OwnedMessageRead(Devices(), "device", owner_id, id);
}

absl::StatusOr<std::vector<v1::Device>> DeviceRepository::List(int64_t owner_id,
                                                               const DeviceFilter& filter,
                                                               const PageRequest& page) {
  return ReadMessages<v1::Device>(pool_,
                                  OwnedListRead(Devices(), owner_id, page,
                                                "AND ($3::boolean IS NULL OR is_active = $3) "
                                                "AND ($4::integer IS NULL OR device_type_id = $4)",
                                                filter.is_active, filter.device_type_id));
}

absl::StatusOr<v1::Device> DeviceRepository::Update(int64_t owner_id, int64_t id,
                                                    const v1::Device& values,
                                                    const google::protobuf::FieldMask& mask) {
  absl::StatusOr<v1::Device> updated = UpdateMessage(
      pool_, Devices(), "device", id, "id = $1 AND user_id = $2",
      {std::to_string(id), std::to_string(owner_id)}, values, mask, [&](pqxx::work& transaction) {
        if (!absl::c_linear_search(mask.paths(), "device_type_id")) return absl::OkStatus();
        return CheckRowExists(transaction, "device_types", "device type", values.device_type_id());
      });
  if (!updated.ok()) return ExplainDeviceConflict(updated.status());
  return updated;
}

absl::Status DeviceRepository::Delete(int64_t owner_id, int64_t id) {
  return UpdateOne(pool_, "device", id, "DELETE FROM devices WHERE id = $1 AND user_id = $2", id,
                   owner_id);
}

absl::StatusOr<int64_t> DeviceRepository::DeleteMatching(int64_t owner_id,
                                                         const DeviceFilter& filter) {
  return postgres::ExecuteUpdate(pool_,
                                 "DELETE FROM devices WHERE user_id = $1 "
                                 "AND ($2::boolean IS NULL OR is_active = $2) "
                                 "AND ($3::integer IS NULL OR device_type_id = $3)",
                                 owner_id, filter.is_active, filter.device_type_id);
}

absl::StatusOr<v1::Device> DeviceRepository::RecordHeartbeat(
    int64_t owner_id, const v1::RecordHeartbeatRequest& reported) {
  auto optional = [](bool present, auto value) {
    return present ? std::optional<decltype(value)>(value) : std::nullopt;
  };
  return QueryOne<v1::Device>(
      pool_, "device", reported.device_id(), ReadDevice,
      "UPDATE devices SET last_heartbeat = now(), "
      "battery_level = COALESCE($3, battery_level), "
      "rssi = COALESCE($4, rssi), "
      "firmware_version = COALESCE($5, firmware_version) "
      "WHERE id = $1 AND user_id = $2 RETURNING " +
          Devices().select_list(),
      reported.device_id(), owner_id,
      optional(reported.has_battery_level(), reported.battery_level()),
      optional(reported.has_rssi(), reported.rssi()),
      optional(reported.has_firmware_version(), reported.firmware_version()));
}

}  // namespace plantmon::storage
