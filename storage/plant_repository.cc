#include "storage/plant_repository.h"

#include <google/protobuf/util/time_util.h>

#include <optional>
#include <string>

#include "absl/algorithm/container.h"
#include "postgres/message_table.h"
#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/message_rows.h"
#include "storage/row_reader.h"
#include "storage/tables.h"

namespace plantmon::storage {

using postgres::RunInTransaction;
namespace {

// `watering_events` (migration 0016) and `plant_device_assignments`
// (migrations/0001_initial_schema.sql), as API messages.
const postgres::MessageTable& Waterings() {
  static const auto* table =
      new postgres::MessageTable("watering_events", v1::WateringEvent::descriptor(),
                                 postgres::FieldColumns()
                                     .ReadOnly({"id", "created_at", "updated_at", "detected"})
                                     .CreateOnly({"plant_id", "watered_at", "amount_ml", "note"}));
  return *table;
}

const postgres::MessageTable& Assignments() {
  static const auto* table = new postgres::MessageTable(
      "plant_device_assignments", v1::PlantDeviceAssignment::descriptor(),
      postgres::FieldColumns()
          .ReadOnly({"id", "created_at", "updated_at"})
          .CreateOnly({"plant_id", "device_id"}));
  return *table;
}

v1::Plant ReadPlant(const pqxx::row& row) { return Plants().Read<v1::Plant>(row); }

v1::PlantDeviceAssignment ReadAssignment(const pqxx::row& row) {
  return Assignments().Read<v1::PlantDeviceAssignment>(row);
}

absl::Status ExplainAssignmentConflict(absl::Status status) {
  return postgres::ExplainConstraint(
      std::move(status),
      {{"plant_device_assignments_plant_id_device_id_key", absl::StatusCode::kAlreadyExists,
        "this device is already assigned to this plant"}});
}

}  // namespace

const std::vector<std::string>& PlantRepository::UpdatablePlantFields() {
  return Plants().updatable();
}
const std::vector<std::string>& PlantRepository::UpdatableAssignmentFields() {
  return Assignments().updatable();
}

absl::StatusOr<v1::Plant> PlantRepository::CreatePlant(int64_t owner_id, const v1::Plant& plant) {
  return InsertMessage(pool_, Plants(), plant, {{"user_id", std::to_string(owner_id)}},
                       [&](pqxx::work& transaction) {
                         return CheckRowExists(transaction, "plant_types", "plant type",
                                               plant.plant_type_id());
                       });
}

absl::StatusOr<v1::Plant> PlantRepository::GetPlant(int64_t owner_id, int64_t id) {
  return ReadMessage<v1::Plant>(pool_, GetPlantRead(owner_id, id));
}

postgres::MessageRead PlantRepository::GetPlantRead(int64_t owner_id, int64_t id) {
  return OwnedMessageRead(Plants(), "plant", owner_id, id);
}

namespace {
// ListPlants' filters, $3 to $5.
constexpr char kPlantFilters[] =
    "AND ($3::boolean IS NULL OR is_healthy = $3) "
    "AND ($4::integer IS NULL OR plant_type_id = $4) "
    "AND ($5::text IS NULL OR plant_type_id IN (SELECT id FROM plant_types WHERE name = $5))";
}  // namespace

postgres::MessageListRead PlantRepository::ListPlantsRead(int64_t owner_id,
                                                          const PlantFilter& filter,
                                                          const PageRequest& page) {
  return OwnedListRead(Plants(), owner_id, page, kPlantFilters, filter.is_healthy,
                       filter.plant_type_id, filter.plant_type_name);
}

std::string PlantRepository::ListPlantsStatement() {
  return ListPlantsRead(0, {}, {}).statement.sql;
}

absl::StatusOr<v1::Plant> PlantRepository::UpdatePlant(int64_t owner_id, int64_t id,
                                                       const v1::Plant& values,
                                                       const google::protobuf::FieldMask& mask) {
  return UpdateMessage(
      pool_, Plants(), "plant", id, "id = $1 AND user_id = $2",
      {std::to_string(id), std::to_string(owner_id)}, values, mask, [&](pqxx::work& transaction) {
        if (!absl::c_linear_search(mask.paths(), "plant_type_id")) {
          return absl::OkStatus();
        }
        return CheckRowExists(transaction, "plant_types", "plant type", values.plant_type_id());
      });
}

absl::Status PlantRepository::DeletePlant(int64_t owner_id, int64_t id) {
  return UpdateOne(pool_, "plant", id, "DELETE FROM plants WHERE id = $1 AND user_id = $2", id,
                   owner_id);
}

absl::StatusOr<v1::PlantDeviceAssignment> PlantRepository::CreateAssignment(
    int64_t owner_id, const v1::PlantDeviceAssignment& assignment) {
  absl::StatusOr<v1::PlantDeviceAssignment> created =
      InsertMessage(pool_, Assignments(), assignment, {}, [&](pqxx::work& transaction) {
        if (!ExistsWith(transaction, kOwnedPlant, assignment.plant_id(), owner_id)) {
          return NotFound("plant", assignment.plant_id());
        }
        if (!ExistsWith(transaction, kOwnedDevice, assignment.device_id(), owner_id)) {
          return NotFound("device", assignment.device_id());
        }
        return absl::OkStatus();
      });
  if (!created.ok()) return ExplainAssignmentConflict(created.status());
  return created;
}

postgres::MessageRead PlantRepository::GetAssignmentRead(int64_t owner_id, int64_t id) {
  // Assignments are owned through their plant.
  return {{"SELECT " + Assignments().SelectList("a") +
               " FROM plant_device_assignments a JOIN plants p ON p.id = a.plant_id "
               "WHERE a.id = $1 AND p.user_id = $2",
           {absl::StrCat(id), absl::StrCat(owner_id)}},
          &Assignments(),
          NotFound("plant device assignment", id)};
}

absl::StatusOr<std::vector<v1::PlantDeviceAssignment>> PlantRepository::ListAssignments(
    int64_t owner_id, const AssignmentFilter& filter, const PageRequest& page) {
  return ReadMany<v1::PlantDeviceAssignment>(
      pool_, ReadAssignment,
      "SELECT " + Assignments().SelectList("a") +
          " FROM plant_device_assignments a JOIN plants p ON p.id = a.plant_id "
          "WHERE p.user_id = $1 AND a.id > $2 "
          "AND ($3::integer IS NULL OR a.plant_id = $3) "
          "AND ($4::integer IS NULL OR a.device_id = $4) "
          "AND ($5::boolean IS NULL OR a.is_active = $5) "
          "ORDER BY a.id LIMIT $6",
      owner_id, page.after_id, filter.plant_id, filter.device_id, filter.is_active, page.limit);
}

absl::StatusOr<v1::PlantDeviceAssignment> PlantRepository::UpdateAssignment(
    int64_t owner_id, int64_t id, const v1::PlantDeviceAssignment& values,
    const google::protobuf::FieldMask& mask) {
  return UpdateMessage(pool_, Assignments(), "plant device assignment", id,
                       "id = $1 AND plant_id IN (SELECT id FROM plants WHERE user_id = $2)",
                       {std::to_string(id), std::to_string(owner_id)}, values, mask);
}

absl::Status PlantRepository::DeleteAssignment(int64_t owner_id, int64_t id) {
  return UpdateOne(pool_, "plant device assignment", id,
                   "DELETE FROM plant_device_assignments WHERE id = $1 AND plant_id IN "
                   "(SELECT id FROM plants WHERE user_id = $2)",
                   id, owner_id);
}

absl::StatusOr<std::vector<std::pair<v1::Plant, int64_t>>> PlantRepository::TopAnomalous(
    int64_t owner_id, absl::Time start, absl::Time end, int limit) {
  return RunInTransaction(
      pool_,
      [&](pqxx::work& transaction) -> absl::StatusOr<std::vector<std::pair<v1::Plant, int64_t>>> {
        std::vector<std::pair<v1::Plant, int64_t>> plants;
        for (const pqxx::row& row : transaction.exec_params(
                 "SELECT " + Plants().SelectList("plants") +
                     ", c.anomaly_count FROM plants JOIN ("
                     "SELECT a.plant_id, count(*) AS anomaly_count "
                     "FROM plant_device_assignments a "
                     "JOIN sensor_data s ON s.device_id = a.device_id AND s.is_anomaly "
                     "AND s.\"timestamp\" >= epoch_us_to_timestamptz($2) "
                     "AND s.\"timestamp\" < epoch_us_to_timestamptz($3) "
                     "JOIN plants p ON p.id = a.plant_id AND p.user_id = $1 "
                     "GROUP BY a.plant_id) c ON c.plant_id = plants.id "
                     "ORDER BY c.anomaly_count DESC, plants.id LIMIT $4",
                 owner_id, absl::ToUnixMicros(start), absl::ToUnixMicros(end), limit)) {
          plants.emplace_back(ReadPlant(row),
                              row[static_cast<int>(Plants().column_count())].as<int64_t>());
        }
        return plants;
      });
}

absl::StatusOr<v1::WateringEvent> PlantRepository::RecordWatering(int64_t owner_id,
                                                                  const v1::WateringEvent& event) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<v1::WateringEvent> {
    // The plant row is locked: concurrent waterings move last_watered in turn.
    if (transaction
            .exec_params("SELECT 1 FROM plants WHERE id = $1 AND user_id = $2 FOR UPDATE",
                         event.plant_id(), owner_id)
            .empty()) {
      return NotFound("plant", event.plant_id());
    }
    WateringRow watering;
    watering.owner_id = owner_id;
    watering.plant_id = event.plant_id();
    watering.watered_at = absl::FromUnixMicros(
        google::protobuf::util::TimeUtil::TimestampToMicroseconds(event.watered_at()));
    if (event.has_amount_ml()) watering.amount_ml = event.amount_ml();
    if (event.has_note()) watering.note = event.note();
    return Waterings().Read<v1::WateringEvent>(
        InsertWatering(transaction, watering, Waterings().select_list()));
  });
}

absl::StatusOr<std::vector<v1::WateringEvent>> PlantRepository::ListWaterings(
    int64_t owner_id, int64_t plant_id, const PageRequest& page) {
  return RunInTransaction(
      pool_, [&](pqxx::work& transaction) -> absl::StatusOr<std::vector<v1::WateringEvent>> {
        if (!ExistsWith(transaction, kOwnedPlant, plant_id, owner_id)) {
          return NotFound("plant", plant_id);
        }
        std::vector<v1::WateringEvent> events;
        // Newest first: the keyset walks ids downwards; after_id 0 means "start".
        for (const pqxx::row& row : transaction.exec_params(
                 "SELECT " + Waterings().select_list() +
                     " FROM watering_events WHERE plant_id = $1 AND ($2 = 0 OR id < $2) "
                     "ORDER BY id DESC LIMIT $3",
                 plant_id, page.after_id, page.limit)) {
          events.push_back(Waterings().Read<v1::WateringEvent>(row));
        }
        return events;
      });
}

}  // namespace plantmon::storage
