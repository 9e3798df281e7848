#include "storage/user_repository.h"

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace plantmon::storage {
namespace {

using ::plantmon::testing::TestDatabase;

class UserRepositoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { database_ = TestDatabase::CreateOrDie().release(); }
  static void TearDownTestSuite() { delete database_; }
  void SetUp() override {
    pool_ = database_->NewPool();
    database_->Query("TRUNCATE users CASCADE");
    users_ = std::make_unique<UserRepository>(*pool_);
  }

  static User NewUser(const std::string& name) {
    User user;
    user.email = name + "@example.com";
    user.username = name;
    user.password_hash = "$2b$12$hash";
    user.first_name = "First " + name;
    return user;
  }

  static TestDatabase* database_;
  std::unique_ptr<postgres::ConnectionPool> pool_;
  std::unique_ptr<UserRepository> users_;
};

TestDatabase* UserRepositoryTest::database_ = nullptr;

TEST_F(UserRepositoryTest, CreateReturnsTheStoredRowWithDefaults) {
  absl::Time before = absl::Now() - absl::Seconds(5);
  ASSERT_OK_AND_ASSIGN(User user, users_->Create(NewUser("alice")));
  EXPECT_GT(user.id, 0);
  EXPECT_EQ(user.email, "alice@example.com");
  EXPECT_EQ(user.first_name, "First alice");
  EXPECT_EQ(user.last_name, std::nullopt);
  EXPECT_TRUE(user.is_active);
  EXPECT_FALSE(user.is_verified);
  EXPECT_GT(user.created_at, before);
  EXPECT_EQ(user.last_login, std::nullopt);
  ASSERT_OK_AND_ASSIGN(User fetched, users_->Get(user.id));
  EXPECT_EQ(fetched.username, "alice");
  EXPECT_EQ(fetched.created_at, user.created_at);
}

TEST_F(UserRepositoryTest, DuplicateEmailOrUsernameIsAlreadyExistsNamingTheField) {
  ASSERT_OK(users_->Create(NewUser("bob")));
  User same_email = NewUser("other");
  same_email.email = "bob@example.com";
  absl::StatusOr<User> result = users_->Create(same_email);
  EXPECT_CODE(result, absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(result.status().message(), "a user with this email already exists");
  User same_name = NewUser("bob");
  same_name.email = "bob2@example.com";
  result = users_->Create(same_name);
  EXPECT_CODE(result, absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(result.status().message(), "a user with this username already exists");
}

TEST_F(UserRepositoryTest, FindsByEmailOrUsername) {
  ASSERT_OK_AND_ASSIGN(User carol, users_->Create(NewUser("carol")));
  ASSERT_OK_AND_ASSIGN(User by_email, users_->FindByLogin("carol@example.com"));
  ASSERT_OK_AND_ASSIGN(User by_name, users_->FindByLogin("carol"));
  EXPECT_EQ(by_email.id, carol.id);
  EXPECT_EQ(by_name.id, carol.id);
  EXPECT_CODE(users_->FindByLogin("nobody"), absl::StatusCode::kNotFound);
}

TEST_F(UserRepositoryTest, MissingIdsAreNotFound) {
  EXPECT_CODE(users_->Get(999999), absl::StatusCode::kNotFound);
  EXPECT_CODE(users_->Delete(999999), absl::StatusCode::kNotFound);
  EXPECT_CODE(users_->RecordLogin(999999), absl::StatusCode::kNotFound);
  EXPECT_CODE(users_->Update(999999, UserUpdate{}), absl::StatusCode::kNotFound);
}

TEST_F(UserRepositoryTest, UpdateChangesOnlyTheFieldsSetAndCanClearNullableOnes) {
  ASSERT_OK_AND_ASSIGN(User dave, users_->Create(NewUser("dave")));
  UserUpdate update;
  update.last_name = std::optional<std::string>("Doe");
  update.first_name = std::optional<std::string>();  // clear it
  update.is_active = false;
  ASSERT_OK_AND_ASSIGN(User updated, users_->Update(dave.id, update));
  EXPECT_EQ(updated.last_name, "Doe");
  EXPECT_EQ(updated.first_name, std::nullopt);
  EXPECT_FALSE(updated.is_active);
  EXPECT_EQ(updated.email, dave.email);
  EXPECT_GE(updated.updated_at, dave.updated_at);

  ASSERT_OK(users_->Create(NewUser("erin")));
  UserUpdate steal;
  steal.email = "erin@example.com";
  EXPECT_CODE(users_->Update(dave.id, steal), absl::StatusCode::kAlreadyExists);
}

TEST_F(UserRepositoryTest, ListPagesByIdAndFiltersActiveUsers) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(User user, users_->Create(NewUser("u" + std::to_string(i))));
    ids.push_back(user.id);
  }
  UserUpdate deactivate;
  deactivate.is_active = false;
  ASSERT_OK(users_->Update(ids[1], deactivate));

  ASSERT_OK_AND_ASSIGN(std::vector<User> first, users_->List({}, {0, 2}));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, ids[0]);
  EXPECT_EQ(first[1].id, ids[1]);
  ASSERT_OK_AND_ASSIGN(std::vector<User> rest, users_->List({}, {first[1].id, 10}));
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].id, ids[2]);

  ASSERT_OK_AND_ASSIGN(std::vector<User> active, users_->List({true}, {0, 10}));
  EXPECT_EQ(active.size(), 4u);
  ASSERT_OK_AND_ASSIGN(std::vector<User> inactive, users_->List({false}, {0, 10}));
  ASSERT_EQ(inactive.size(), 1u);
  EXPECT_EQ(inactive[0].id, ids[1]);
}

TEST_F(UserRepositoryTest, RecordLoginSetsLastLoginAndPasswordCanChange) {
  ASSERT_OK_AND_ASSIGN(User frank, users_->Create(NewUser("frank")));
  ASSERT_OK(users_->RecordLogin(frank.id));
  ASSERT_OK_AND_ASSIGN(User after, users_->SetPasswordHash(frank.id, "$2b$12$new"));
  EXPECT_TRUE(after.last_login.has_value());
  EXPECT_EQ(after.password_hash, "$2b$12$new");
}

TEST_F(UserRepositoryTest, DeleteRemovesTheUser) {
  ASSERT_OK_AND_ASSIGN(User gina, users_->Create(NewUser("gina")));
  ASSERT_OK(users_->Delete(gina.id));
  EXPECT_CODE(users_->Get(gina.id), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace plantmon::storage
