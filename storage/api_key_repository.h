#ifndef PLANTMON_STORAGE_API_KEY_REPOSITORY_H_
#define PLANTMON_STORAGE_API_KEY_REPOSITORY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "postgres/connection_pool_fwd.h"
#include "storage/models.h"

namespace plantmon::storage {

struct ApiKey {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string name;
  std::string key_prefix;
  absl::Time created_at;
  std::optional<absl::Time> last_used_at;
  std::optional<absl::Time> revoked_at;
};

// Gateway credentials (`api_keys`), scoped to their owner. Only the SHA-256 of
// a secret is stored.
class ApiKeyRepository {
 public:
  explicit ApiKeyRepository(postgres::ConnectionPool& pool) : pool_(pool) {}

  absl::StatusOr<ApiKey> Create(int64_t owner_id, const std::string& name,
                                const std::string& key_prefix, const std::string& secret_sha256);
  absl::StatusOr<std::vector<ApiKey>> List(int64_t owner_id, const PageRequest& page);
  absl::StatusOr<ApiKey> Revoke(int64_t owner_id, int64_t id);
  // Revokes the owner's unrevoked keys named `name`; how many.
  absl::StatusOr<int64_t> RevokeNamed(int64_t owner_id, const std::string& name);
  // The unrevoked key with this secret's hash (NOT_FOUND otherwise), and
  // records that it was used.
  absl::StatusOr<ApiKey> FindActive(const std::string& secret_sha256);

 private:
  postgres::ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_API_KEY_REPOSITORY_H_
