#ifndef PLANTMON_STORAGE_PLANT_REPOSITORY_H_
#define PLANTMON_STORAGE_PLANT_REPOSITORY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/models.h"

namespace plantmon::postgres {
class ConnectionPool;  // postgres/connection_pool.h; callers need not see libpqxx
}  // namespace plantmon::postgres

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

  absl::StatusOr<Plant> CreatePlant(int64_t owner_id, const Plant& plant);
  absl::StatusOr<Plant> GetPlant(int64_t owner_id, int64_t id);
  absl::StatusOr<std::vector<Plant>> ListPlants(int64_t owner_id, const PlantFilter& filter,
                                                const PageRequest& page);
  absl::StatusOr<Plant> UpdatePlant(int64_t owner_id, int64_t id, const PlantUpdate& update);
  absl::Status DeletePlant(int64_t owner_id, int64_t id);

  absl::StatusOr<PlantDeviceAssignment> CreateAssignment(int64_t owner_id,
                                                         const PlantDeviceAssignment& assignment);
  absl::StatusOr<PlantDeviceAssignment> GetAssignment(int64_t owner_id, int64_t id);
  absl::StatusOr<std::vector<PlantDeviceAssignment>> ListAssignments(int64_t owner_id,
                                                                     const AssignmentFilter& filter,
                                                                     const PageRequest& page);
  absl::StatusOr<PlantDeviceAssignment> UpdateAssignment(int64_t owner_id, int64_t id,
                                                         const PlantDeviceAssignmentUpdate& update);
  absl::Status DeleteAssignment(int64_t owner_id, int64_t id);

  // The owner's plants with the most anomalous readings (from devices
  // assigned to them) in [start, end), most first: the "top plants
  // with most sensor anomalies", scoped to one user.
  absl::StatusOr<std::vector<std::pair<Plant, int64_t>>> TopAnomalous(int64_t owner_id,
                                                                      absl::Time start,
                                                                      absl::Time end, int limit);

 private:
  postgres::ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_PLANT_REPOSITORY_H_
