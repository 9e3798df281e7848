#ifndef PLANTMON_STORAGE_DEVICE_REPOSITORY_H_
#define PLANTMON_STORAGE_DEVICE_REPOSITORY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "plantmon/v1/device.pb.h"
#include "postgres/connection_pool_fwd.h"
#include "postgres/message_table.h"
#include "storage/models.h"

namespace plantmon::storage {

struct DeviceFilter {
  std::optional<bool> is_active;
  std::optional<int64_t> device_type_id;
};

// The `devices` table, always scoped to an owner: another user's device
// behaves exactly like one that does not exist (NOT_FOUND). Rows are
// v1::Device messages; the column table in device_repository.cc says which
// fields are columns and which of them a create or an update writes.
class DeviceRepository {
 public:
  explicit DeviceRepository(postgres::ConnectionPool& pool) : pool_(pool) {}

  // Writes the create-only and writable fields of `device` for `owner_id`.
  // NOT_FOUND when the device type does not exist; ALREADY_EXISTS when the
  // unique_identifier is taken.
  absl::StatusOr<v1::Device> Create(int64_t owner_id, const v1::Device& device);
  absl::StatusOr<v1::Device> Get(int64_t owner_id, int64_t id);
  // The same read, described for the pipelined reader.
  static postgres::MessageRead GetRead(int64_t owner_id, int64_t id);
  absl::StatusOr<std::vector<v1::Device>> List(int64_t owner_id, const DeviceFilter& filter,
                                               const PageRequest& page);
  // Sets the fields `mask` names (writable ones, checked by the caller) from
  // `values`; a named field unset in `values` becomes NULL.
  absl::StatusOr<v1::Device> Update(int64_t owner_id, int64_t id, const v1::Device& values,
                                    const google::protobuf::FieldMask& mask);
  absl::Status Delete(int64_t owner_id, int64_t id);
  // Deletes the owner's devices `filter` matches (cascading to their
  // readings and assignments); how many.
  absl::StatusOr<int64_t> DeleteMatching(int64_t owner_id, const DeviceFilter& filter);
  // last_heartbeat = now, and what the device reported (fields the request
  // leaves unset keep their values). Validated by the caller.
  absl::StatusOr<v1::Device> RecordHeartbeat(int64_t owner_id,
                                             const v1::RecordHeartbeatRequest& reported);

  // The fields an update may name.
  static const std::vector<std::string>& UpdatableFields();

 private:
  postgres::ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_DEVICE_REPOSITORY_H_
