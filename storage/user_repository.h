#ifndef PLANTMON_STORAGE_USER_REPOSITORY_H_
#define PLANTMON_STORAGE_USER_REPOSITORY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/connection_pool.h"
#include "storage/models.h"

namespace plantmon::storage {

struct UserFilter {
  std::optional<bool> is_active;
};

// The `users` table. Errors: NOT_FOUND for a missing id, ALREADY_EXISTS for a
// taken email or username (message says which), UNAVAILABLE and friends from
// the pool.
class UserRepository {
 public:
  explicit UserRepository(ConnectionPool& pool) : pool_(pool) {}

  // Inserts `user` (id and timestamps are ignored) and returns the stored row.
  absl::StatusOr<User> Create(const User& user);
  absl::StatusOr<User> Get(int64_t id);
  // Finds a user by email or username (the seed's two login credentials).
  absl::StatusOr<User> FindByLogin(const std::string& email_or_username);
  absl::StatusOr<std::vector<User>> List(const UserFilter& filter,
                                         const PageRequest& page);
  absl::StatusOr<User> Update(int64_t id, const UserUpdate& update);
  absl::StatusOr<User> SetPasswordHash(int64_t id,
                                       const std::string& password_hash);
  // Sets last_login to now.
  absl::Status RecordLogin(int64_t id);
  // Deletes the user and, by cascade, everything the user owns.
  absl::Status Delete(int64_t id);

 private:
  ConnectionPool& pool_;
};

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_USER_REPOSITORY_H_
