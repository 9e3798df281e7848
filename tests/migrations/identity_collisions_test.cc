// Migration 0010 makes emails and usernames unique without regard to case or
// Unicode composition. Accounts that already collide are kept, marked and
// reported (users_identity_collisions), never merged or renamed.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/migration_runner.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

using ::plantmon::testing::TestDatabase;

class IdentityCollisionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = TestDatabase::CreateOrDie(/*migrate=*/false);
    pool_ = database_->NewPool();
    ASSERT_OK(storage::ApplyMigrations(*pool_, storage::BuiltInMigrationsBefore(10)));
    // 1 and 2 differ in case only, in both names; 3 spells user 1's username
    // decomposed ("e" + U+0301); 4 collides with no one.
    database_->Query(
        "INSERT INTO users (id, email, username, password_hash) VALUES "
        "(1, 'Rene@example.com', 'Ren\u00e9', 'h1'),"
        "(2, 'rene@EXAMPLE.com', 'REN\u00c9', 'h2'),"
        "(3, 'rene3@example.com', 'Rene\u0301', 'h3'),"
        "(4, 'other@example.com', 'other', 'h4');"
        "SELECT setval('users_id_seq', 4)");
    ASSERT_OK(storage::ApplyMigrations(*pool_, storage::BuiltInMigrations()));
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<postgres::ConnectionPool> pool_;
};

TEST_F(IdentityCollisionsTest, KeepsEveryAccountAndReportsTheNewerOfEachCollision) {
  EXPECT_EQ(database_->Query("SELECT count(*) FROM users")[0][0].as<int>(), 4) << "nothing merged";
  pqxx::result report = database_->Query(
      "SELECT user_id, field, collides_with_user_id FROM users_identity_collisions "
      "ORDER BY user_id, field");
  ASSERT_EQ(report.size(), 3u);
  EXPECT_EQ(report[0][0].as<int>(), 2);
  EXPECT_EQ(report[0][1].as<std::string>(), "email");
  EXPECT_EQ(report[0][2].as<int>(), 1);
  EXPECT_EQ(report[1][0].as<int>(), 2);
  EXPECT_EQ(report[1][1].as<std::string>(), "username");
  EXPECT_EQ(report[1][2].as<int>(), 1);
  EXPECT_EQ(report[2][0].as<int>(), 3);
  EXPECT_EQ(report[2][1].as<std::string>(), "username");
  EXPECT_EQ(report[2][2].as<int>(), 1);
  // Stored names are NFC now; the names people chose are otherwise kept.
  EXPECT_EQ(database_->Query("SELECT username FROM users WHERE id = 3")[0][0].as<std::string>(),
            "Ren\u00e9");
  EXPECT_EQ(database_->Query("SELECT email FROM users WHERE id = 2")[0][0].as<std::string>(),
            "rene@EXAMPLE.com");
}

TEST_F(IdentityCollisionsTest, NewNamesCollideWithoutRegardToCase) {
  EXPECT_THROW(database_->Query("INSERT INTO users (email, username, password_hash) VALUES "
                                "('OTHER@example.com', 'fresh', 'h')"),
               pqxx::unique_violation);
  EXPECT_THROW(database_->Query("INSERT INTO users (email, username, password_hash) VALUES "
                                "('fresh@example.com', 'rEnÉ', 'h')"),
               pqxx::unique_violation)
      << "the oldest account of a collided group still holds the name";
  EXPECT_THROW(database_->Query("INSERT INTO users (email, username, password_hash) VALUES "
                                "('fresh@example.com', 'fre\u0301sh', 'h')"),
               pqxx::check_violation)
      << "names are stored in NFC";
}

TEST_F(IdentityCollisionsTest, RenamingAMarkedAccountClearsItsMark) {
  database_->Query("UPDATE users SET username = 'rene-two' WHERE id = 2");
  pqxx::result report =
      database_->Query("SELECT user_id, field FROM users_identity_collisions ORDER BY user_id");
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(report[0][1].as<std::string>(), "email") << "user 2's email still collides";
  EXPECT_EQ(report[1][0].as<int>(), 3);
  EXPECT_THROW(database_->Query("UPDATE users SET username = 'OTHER' WHERE id = 3"),
               pqxx::unique_violation)
      << "a new name must be free";
}

}  // namespace
}  // namespace plantmon
