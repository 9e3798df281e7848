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

  static v1::User NewUser(const std::string& name) {
    v1::User user;
    user.set_email(name + "@example.com");
    user.set_username(name);
    user.set_first_name("First " + name);
    user.set_is_active(true);
    return user;
  }

  absl::StatusOr<v1::User> Create(const v1::User& user) {
    return users_->Create(user, "$2b$12$hash");
  }

  static google::protobuf::FieldMask Mask(std::initializer_list<const char*> paths) {
    google::protobuf::FieldMask mask;
    for (const char* path : paths) mask.add_paths(path);
    return mask;
  }

  static TestDatabase* database_;
  std::unique_ptr<postgres::ConnectionPool> pool_;
  std::unique_ptr<UserRepository> users_;
};

TestDatabase* UserRepositoryTest::database_ = nullptr;

TEST_F(UserRepositoryTest, CreateReturnsTheStoredRowWithDefaults) {
  absl::Time before = absl::Now() - absl::Seconds(5);
  ASSERT_OK_AND_ASSIGN(v1::User user, Create(NewUser("alice")));
  EXPECT_GT(user.id(), 0);
  EXPECT_EQ(user.email(), "alice@example.com");
  EXPECT_EQ(user.first_name(), "First alice");
  EXPECT_FALSE(user.has_last_name());
  EXPECT_TRUE(user.is_active());
  EXPECT_FALSE(user.is_verified());
  EXPECT_GT(user.created_at().seconds(), absl::ToUnixSeconds(before));
  EXPECT_FALSE(user.has_last_login());
  ASSERT_OK_AND_ASSIGN(v1::User fetched, users_->Get(user.id()));
  EXPECT_EQ(fetched.username(), "alice");
  EXPECT_EQ(fetched.created_at().seconds(), user.created_at().seconds());
  EXPECT_EQ(fetched.created_at().nanos(), user.created_at().nanos());
}

TEST_F(UserRepositoryTest, DuplicateEmailOrUsernameIsAlreadyExistsNamingTheField) {
  ASSERT_OK(Create(NewUser("bob")));
  v1::User same_email = NewUser("other");
  same_email.set_email("bob@example.com");
  absl::StatusOr<v1::User> result = Create(same_email);
  EXPECT_CODE(result, absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(result.status().message(), "a user with this email already exists");
  v1::User same_name = NewUser("bob");
  same_name.set_email("bob2@example.com");
  result = Create(same_name);
  EXPECT_CODE(result, absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(result.status().message(), "a user with this username already exists");
}

TEST_F(UserRepositoryTest, FindsByEmailOrUsername) {
  ASSERT_OK_AND_ASSIGN(v1::User carol, Create(NewUser("carol")));
  ASSERT_OK_AND_ASSIGN(UserRecord by_email, users_->FindByLogin("carol@example.com"));
  ASSERT_OK_AND_ASSIGN(UserRecord by_name, users_->FindByLogin("carol"));
  EXPECT_EQ(by_email.user.id(), carol.id());
  EXPECT_EQ(by_name.user.id(), carol.id());
  EXPECT_EQ(by_name.password_hash, "$2b$12$hash");
  EXPECT_CODE(users_->FindByLogin("nobody"), absl::StatusCode::kNotFound);
}

TEST_F(UserRepositoryTest, MissingIdsAreNotFound) {
  EXPECT_CODE(users_->Get(999999), absl::StatusCode::kNotFound);
  EXPECT_CODE(users_->Delete(999999), absl::StatusCode::kNotFound);
  EXPECT_CODE(users_->RecordLogin(999999), absl::StatusCode::kNotFound);
  EXPECT_CODE(users_->Update(999999, v1::User(), Mask({"first_name"})),
              absl::StatusCode::kNotFound);
}

TEST_F(UserRepositoryTest, UpdateChangesOnlyTheFieldsSetAndCanClearNullableOnes) {
  ASSERT_OK_AND_ASSIGN(v1::User dave, Create(NewUser("dave")));
  v1::User update;
  update.set_last_name("Doe");
  update.set_is_active(false);
  update.set_email("ignored@example.com");  // not in the mask
  // first_name is named but unset: cleared.
  ASSERT_OK_AND_ASSIGN(
      v1::User updated,
      users_->Update(dave.id(), update, Mask({"last_name", "first_name", "is_active"})));
  EXPECT_EQ(updated.last_name(), "Doe");
  EXPECT_FALSE(updated.has_first_name());
  EXPECT_FALSE(updated.is_active());
  EXPECT_EQ(updated.email(), dave.email());
  EXPECT_GE(updated.updated_at().seconds(), dave.updated_at().seconds());

  ASSERT_OK(Create(NewUser("erin")));
  v1::User steal;
  steal.set_email("erin@example.com");
  EXPECT_CODE(users_->Update(dave.id(), steal, Mask({"email"})), absl::StatusCode::kAlreadyExists);
}

TEST_F(UserRepositoryTest, ListPagesByIdAndFiltersActiveUsers) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(v1::User user, Create(NewUser("u" + std::to_string(i))));
    ids.push_back(user.id());
  }
  ASSERT_OK(users_->Update(ids[1], v1::User(), Mask({"is_active"})));  // false

  ASSERT_OK_AND_ASSIGN(std::vector<v1::User> first, users_->List({}, {0, 2}));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id(), ids[0]);
  EXPECT_EQ(first[1].id(), ids[1]);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::User> rest, users_->List({}, {first[1].id(), 10}));
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].id(), ids[2]);

  ASSERT_OK_AND_ASSIGN(std::vector<v1::User> active, users_->List({true}, {0, 10}));
  EXPECT_EQ(active.size(), 4u);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::User> inactive, users_->List({false}, {0, 10}));
  ASSERT_EQ(inactive.size(), 1u);
  EXPECT_EQ(inactive[0].id(), ids[1]);
}

TEST_F(UserRepositoryTest, RecordLoginSetsLastLoginAndPasswordCanChange) {
  ASSERT_OK_AND_ASSIGN(v1::User frank, Create(NewUser("frank")));
  ASSERT_OK(users_->RecordLogin(frank.id()));
  ASSERT_OK_AND_ASSIGN(v1::User after, users_->SetPasswordHash(frank.id(), "$2b$12$new"));
  EXPECT_TRUE(after.has_last_login());
  ASSERT_OK_AND_ASSIGN(UserRecord record, users_->FindByLogin("frank"));
  EXPECT_EQ(record.password_hash, "$2b$12$new");
}

TEST_F(UserRepositoryTest, DeleteRemovesTheUser) {
  ASSERT_OK_AND_ASSIGN(v1::User gina, Create(NewUser("gina")));
  ASSERT_OK(users_->Delete(gina.id()));
  EXPECT_CODE(users_->Get(gina.id()), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace plantmon::storage
