#ifndef PLANTMON_STORAGE_DEVICE_REPOSITORY_H_
#define PLANTMON_STORAGE_DEVICE_REPOSITORY_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/models.h"

namespace plantmon::postgres {
class ConnectionPool;  // postgres/connection_pool.h; callers need not see libpqxx
}  // namespace plantmon::postgres

namespace plantmon::storage {

struct DeviceFilter {
  std::optional<bool> is_active;
  std::optional<int64_t> device_type_id;
};

// The `devices` table, always scoped to an owner: another user's device
// behaves exactly like one that does not exist (NOT_FOUND).
class DeviceRepository {
 public:
  explicit DeviceRepository(postgres::ConnectionPool& pool) : pool_(pool) {}

  // NOT_FOUND when the device type does not exist; ALREADY_EXISTS when the
  // unique_identifier is taken.
  absl::StatusOr<Device> Create(int64_t owner_id, const Device& device);
  absl::StatusOr<Device> Get(int64_t owner_id, int64_t id);
  absl::StatusOr<std::vector<Device>> List(int64_t owner_id, const DeviceFilter& filter,
                                           const PageRequest& page);
  absl::StatusOr<Device> Update(int64_t owner_id, int64_t id, const DeviceUpdate& update);
  absl::Status Delete(int64_t owner_id, int64_t id);
  // last_heartbeat = now; battery_level and rssi when given.
  absl::StatusOr<Device> RecordHeartbeat(int64_t owner_id, int64_t id,
                                         std::optional<double> battery_level,
                                         std::optional<int32_t> rssi);

 private:
  postgres::ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_DEVICE_REPOSITORY_H_
