#ifndef PLANTMON_STORAGE_PLANT_REPOSITORY_H_
#define PLANTMON_STORAGE_PLANT_REPOSITORY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/field_mask.pb.h"
#include "plantmon/v1/plant.pb.h"
#include "postgres/connection_pool_fwd.h"
#include "postgres/message_table.h"
#include "storage/models.h"

namespace plantmon::storage {

struct PlantFilter {
  std::optional<bool> is_healthy;
  std::optional<int64_t> plant_type_id;
  // Species by exact name.
  std::optional<std::string> plant_type_name;
};

struct AssignmentFilter {
  std::optional<int64_t> plant_id;
  std::optional<int64_t> device_id;
  std::optional<bool> is_active;
};

// The `plants` and `plant_device_assignments` tables, scoped to an owner: an
// assignment belongs to whoever owns its plant, and both its plant and its
// device must be the owner's. Foreign ids behave as missing ones (NOT_FOUND).
class PlantRepository {
 public:
  explicit PlantRepository(postgres::ConnectionPool& pool) : pool_(pool) {}

  // Rows are API messages (column tables in plant_repository.cc). Creates
  // write the create-only and writable fields; updates set the fields `mask`
  // names (writable ones, checked by the caller), a named field unset in
  // `values` becoming NULL.
  absl::StatusOr<v1::Plant> CreatePlant(int64_t owner_id, const v1::Plant& plant);
  absl::StatusOr<v1::Plant> GetPlant(int64_t owner_id, int64_t id);
  // The same read, described for the pipelined reader.
  static postgres::MessageRead GetPlantRead(int64_t owner_id, int64_t id);
  // A page of the owner's plants, described for the pipelined reader.
  static postgres::MessageListRead ListPlantsRead(int64_t owner_id, const PlantFilter& filter,
                                                  const PageRequest& page);
  // Its statement ($1 the owner, $2 the id to list after,
  // $3-$5 the filters, $6 the limit), for measuring it on a plain connection.
  static std::string ListPlantsStatement();
  absl::StatusOr<v1::Plant> UpdatePlant(int64_t owner_id, int64_t id, const v1::Plant& values,
                                        const google::protobuf::FieldMask& mask);
  absl::Status DeletePlant(int64_t owner_id, int64_t id);

  // Records a watering of the owner's plant (NOT_FOUND otherwise) and moves
  // its last_watered forward to it, in one transaction.
  absl::StatusOr<v1::WateringEvent> RecordWatering(int64_t owner_id,
                                                   const v1::WateringEvent& event);
  // The plant's waterings, newest id first (NOT_FOUND for a plant that is
  // not the owner's).
  absl::StatusOr<std::vector<v1::WateringEvent>> ListWaterings(int64_t owner_id, int64_t plant_id,
                                                               const PageRequest& page);

  absl::StatusOr<v1::PlantDeviceAssignment> CreateAssignment(
      int64_t owner_id, const v1::PlantDeviceAssignment& assignment);
  // The assignment `id` of a plant of `owner_id`, described for the
  // pipelined reader.
  static postgres::MessageRead GetAssignmentRead(int64_t owner_id, int64_t id);
  absl::StatusOr<std::vector<v1::PlantDeviceAssignment>> ListAssignments(
      int64_t owner_id, const AssignmentFilter& filter, const PageRequest& page);
  absl::StatusOr<v1::PlantDeviceAssignment> UpdateAssignment(
      int64_t owner_id, int64_t id, const v1::PlantDeviceAssignment& values,
      const google::protobuf::FieldMask& mask);
  absl::Status DeleteAssignment(int64_t owner_id, int64_t id);

  // The owner's plants with the most anomalous readings (from devices
  // assigned to them) in [start, end), most first: the "top plants
  // with most sensor anomalies", scoped to one user.
  absl::StatusOr<std::vector<std::pair<v1::Plant, int64_t>>> TopAnomalous(int64_t owner_id,
                                                                          absl::Time start,
                                                                          absl::Time end,
                                                                          int limit);

  // The fields an update may name.
  static const std::vector<std::string>& UpdatablePlantFields();
  static const std::vector<std::string>& UpdatableAssignmentFields();

 private:
  postgres::ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_PLANT_REPOSITORY_H_
