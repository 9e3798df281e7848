#include "storage/plant_repository.h"

#include "postgres/pqxx_status.h"
#include "postgres/transaction.h"
#include "storage/row_reader.h"

namespace plantmon::storage {

using postgres::RunInTransaction;
using postgres::ViolatedConstraint;
namespace {

constexpr char kPlantColumns[] =
    "id, user_id, plant_type_id, plant_name, location, "
    PLANTMON_EPOCH_US("planting_date") ", " PLANTMON_EPOCH_US("last_watered")
    ", is_healthy, health_status, notes, " PLANTMON_EPOCH_US("created_at") ", "
    PLANTMON_EPOCH_US("updated_at");

// Qualified with `a.` so that it can be used in joins with plants.
constexpr char kAssignmentColumns[] =
    "a.id, a.plant_id, a.device_id, a.assignment_type, a.is_active, " PLANTMON_EPOCH_US(
        "a.created_at") ", " PLANTMON_EPOCH_US("a.updated_at");

constexpr char kPlantTypeExists[] = "SELECT 1 FROM plant_types WHERE id = $1";
Plant ReadPlant(const pqxx::row& row) {
  RowReader reader(row);
  Plant plant;
  plant.id = reader.Next<int64_t>();
  plant.user_id = reader.Next<int64_t>();
  plant.plant_type_id = reader.Next<int64_t>();
  plant.plant_name = reader.Next<std::string>();
  plant.location = reader.NextOptional<std::string>();
  plant.planting_date = reader.NextOptionalTime();
  plant.last_watered = reader.NextOptionalTime();
  plant.is_healthy = reader.Next<bool>();
  plant.health_status = reader.NextOptional<std::string>();
  plant.notes = reader.NextOptional<std::string>();
  plant.created_at = reader.NextTime();
  plant.updated_at = reader.NextTime();
  return plant;
}

PlantDeviceAssignment ReadAssignment(const pqxx::row& row) {
  RowReader reader(row);
  PlantDeviceAssignment assignment;
  assignment.id = reader.Next<int64_t>();
  assignment.plant_id = reader.Next<int64_t>();
  assignment.device_id = reader.Next<int64_t>();
  assignment.assignment_type = reader.Next<std::string>();
  assignment.is_active = reader.Next<bool>();
  assignment.created_at = reader.NextTime();
  assignment.updated_at = reader.NextTime();
  return assignment;
}

absl::Status ExplainAssignmentConflict(absl::Status status) {
  if (ViolatedConstraint(status) == "plant_device_assignments_plant_id_device_id_key") {
    return absl::AlreadyExistsError("this device is already assigned to this plant");
  }
  return status;
}

}  // namespace

absl::StatusOr<Plant> PlantRepository::CreatePlant(int64_t owner_id, const Plant& plant) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<Plant> {
    if (!Exists(transaction, kPlantTypeExists, plant.plant_type_id)) {
      return NotFound("plant type", plant.plant_type_id);
    }
    return ReadPlant(transaction.exec_params1(
        std::string("INSERT INTO plants (user_id, plant_type_id, plant_name, "
                    "location, planting_date, last_watered, is_healthy, "
                    "health_status, notes) VALUES ($1, $2, $3, $4, "
                    "epoch_us_to_timestamptz($5), epoch_us_to_timestamptz($6), "
                    "$7, $8, $9) RETURNING ") +
            kPlantColumns,
        owner_id, plant.plant_type_id, plant.plant_name, plant.location,
        OptionalMicros(plant.planting_date), OptionalMicros(plant.last_watered), plant.is_healthy,
        plant.health_status, plant.notes));
  });
}

absl::StatusOr<Plant> PlantRepository::GetPlant(int64_t owner_id, int64_t id) {
  return QueryOne<Plant>(
      pool_, "plant", id, ReadPlant,
      std::string("SELECT ") + kPlantColumns + " FROM plants WHERE id = $1 AND user_id = $2", id,
      owner_id);
}

absl::StatusOr<std::vector<Plant>> PlantRepository::ListPlants(int64_t owner_id,
                                                               const PlantFilter& filter,
                                                               const PageRequest& page) {
  return QueryMany<Plant>(pool_, ReadPlant,
                          std::string("SELECT ") + kPlantColumns +
                              " FROM plants WHERE user_id = $1 AND id > $2 "
                              "AND ($3::boolean IS NULL OR is_healthy = $3) "
                              "AND ($4::integer IS NULL OR plant_type_id = $4) "
                              "AND ($5::text IS NULL OR plant_type_id IN "
                              "(SELECT id FROM plant_types WHERE name = $5)) "
                              "ORDER BY id LIMIT $6",
                          owner_id, page.after_id, filter.is_healthy, filter.plant_type_id,
                          filter.plant_type_name, page.limit);
}

absl::StatusOr<Plant> PlantRepository::UpdatePlant(int64_t owner_id, int64_t id,
                                                   const PlantUpdate& update) {
  return RunInTransaction(pool_, [&](pqxx::work& transaction) -> absl::StatusOr<Plant> {
    if (update.plant_type_id.has_value() &&
        !Exists(transaction, kPlantTypeExists, *update.plant_type_id)) {
      return NotFound("plant type", *update.plant_type_id);
    }
    pqxx::result rows = transaction.exec_params(
        std::string("UPDATE plants SET "
                    "plant_type_id = CASE WHEN $3 THEN $4::integer ELSE plant_type_id END, "
                    "plant_name = CASE WHEN $5 THEN $6 ELSE plant_name END, "
                    "location = CASE WHEN $7 THEN $8 ELSE location END, "
                    "planting_date = CASE WHEN $9 THEN epoch_us_to_timestamptz($10) "
                    "ELSE planting_date END, "
                    "last_watered = CASE WHEN $11 THEN epoch_us_to_timestamptz($12) "
                    "ELSE last_watered END, "
                    "is_healthy = CASE WHEN $13 THEN $14::boolean ELSE is_healthy END, "
                    "health_status = CASE WHEN $15 THEN $16 ELSE health_status END, "
                    "notes = CASE WHEN $17 THEN $18 ELSE notes END "
                    "WHERE id = $1 AND user_id = $2 RETURNING ") +
            kPlantColumns,
        id, owner_id, IsSet(update.plant_type_id), ValueOf(update.plant_type_id),
        IsSet(update.plant_name), ValueOf(update.plant_name), IsSet(update.location),
        ValueOf(update.location), IsSet(update.planting_date), MicrosOf(update.planting_date),
        IsSet(update.last_watered), MicrosOf(update.last_watered), IsSet(update.is_healthy),
        ValueOf(update.is_healthy), IsSet(update.health_status), ValueOf(update.health_status),
        IsSet(update.notes), ValueOf(update.notes));
    if (rows.empty()) return NotFound("plant", id);
    return ReadPlant(rows[0]);
  });
}

absl::Status PlantRepository::DeletePlant(int64_t owner_id, int64_t id) {
  return UpdateOne(pool_, "plant", id, "DELETE FROM plants WHERE id = $1 AND user_id = $2", id,
                   owner_id);
}

absl::StatusOr<PlantDeviceAssignment> PlantRepository::CreateAssignment(
    int64_t owner_id, const PlantDeviceAssignment& assignment) {
  absl::StatusOr<PlantDeviceAssignment> created = RunInTransaction(
      pool_, [&](pqxx::work& transaction) -> absl::StatusOr<PlantDeviceAssignment> {
        if (!ExistsWith(transaction, kOwnedPlant, assignment.plant_id, owner_id)) {
          return NotFound("plant", assignment.plant_id);
        }
        if (!ExistsWith(transaction, kOwnedDevice, assignment.device_id, owner_id)) {
          return NotFound("device", assignment.device_id);
        }
        return ReadAssignment(transaction.exec_params1(
            std::string("INSERT INTO plant_device_assignments AS a (plant_id, "
                        "device_id, assignment_type, is_active) VALUES "
                        "($1, $2, $3, $4) RETURNING ") +
                kAssignmentColumns,
            assignment.plant_id, assignment.device_id, assignment.assignment_type,
            assignment.is_active));
      });
  if (!created.ok()) return ExplainAssignmentConflict(created.status());
  return created;
}

absl::StatusOr<PlantDeviceAssignment> PlantRepository::GetAssignment(int64_t owner_id, int64_t id) {
  return QueryOne<PlantDeviceAssignment>(
      pool_, "plant device assignment", id, ReadAssignment,
      std::string("SELECT ") + kAssignmentColumns +
          " FROM plant_device_assignments a JOIN plants p ON p.id = a.plant_id "
          "WHERE a.id = $1 AND p.user_id = $2",
      id, owner_id);
}

absl::StatusOr<std::vector<PlantDeviceAssignment>> PlantRepository::ListAssignments(
    int64_t owner_id, const AssignmentFilter& filter, const PageRequest& page) {
  return QueryMany<PlantDeviceAssignment>(
      pool_, ReadAssignment,
      std::string("SELECT ") + kAssignmentColumns +
          " FROM plant_device_assignments a JOIN plants p ON p.id = a.plant_id "
          "WHERE p.user_id = $1 AND a.id > $2 "
          "AND ($3::integer IS NULL OR a.plant_id = $3) "
          "AND ($4::integer IS NULL OR a.device_id = $4) "
          "AND ($5::boolean IS NULL OR a.is_active = $5) "
          "ORDER BY a.id LIMIT $6",
      owner_id, page.after_id, filter.plant_id, filter.device_id, filter.is_active, page.limit);
}

absl::StatusOr<PlantDeviceAssignment> PlantRepository::UpdateAssignment(
    int64_t owner_id, int64_t id, const PlantDeviceAssignmentUpdate& update) {
  return QueryOne<PlantDeviceAssignment>(
      pool_, "plant device assignment", id, ReadAssignment,
      std::string("UPDATE plant_device_assignments AS a SET "
                  "assignment_type = CASE WHEN $3 THEN $4 ELSE assignment_type END, "
                  "is_active = CASE WHEN $5 THEN $6::boolean ELSE is_active END "
                  "WHERE a.id = $1 AND a.plant_id IN "
                  "(SELECT id FROM plants WHERE user_id = $2) RETURNING ") +
          kAssignmentColumns,
      id, owner_id, IsSet(update.assignment_type), ValueOf(update.assignment_type),
      IsSet(update.is_active), ValueOf(update.is_active));
}

absl::Status PlantRepository::DeleteAssignment(int64_t owner_id, int64_t id) {
  return UpdateOne(pool_, "plant device assignment", id,
                   "DELETE FROM plant_device_assignments WHERE id = $1 AND plant_id IN "
                   "(SELECT id FROM plants WHERE user_id = $2)",
                   id, owner_id);
}

absl::StatusOr<std::vector<std::pair<Plant, int64_t>>> PlantRepository::TopAnomalous(
    int64_t owner_id, absl::Time start, absl::Time end, int limit) {
  return RunInTransaction(
      pool_,
      [&](pqxx::work& transaction) -> absl::StatusOr<std::vector<std::pair<Plant, int64_t>>> {
        std::vector<std::pair<Plant, int64_t>> plants;
        for (const pqxx::row& row : transaction.exec_params(
                 std::string("SELECT ") + kPlantColumns +
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
          plants.emplace_back(ReadPlant(row), row[12].as<int64_t>());
        }
        return plants;
      });
}

}  // namespace plantmon::storage
