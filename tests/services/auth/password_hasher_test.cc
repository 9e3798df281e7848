#include "services/auth/password_hasher.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace plantmon::auth {
namespace {

TEST(PasswordHasherTest, HashesWithBcrypt2bAtTheRequestedCost) {
  ASSERT_OK_AND_ASSIGN(PasswordHasher hasher, PasswordHasher::Create(10));
  ASSERT_OK_AND_ASSIGN(std::string hash, hasher.Hash("correct horse"));
  EXPECT_TRUE(absl::StartsWith(hash, "$2b$10$")) << hash;
  EXPECT_EQ(hash.size(), 60u);
  EXPECT_TRUE(PasswordHasher::Verify("correct horse", hash));
  EXPECT_FALSE(PasswordHasher::Verify("correct horsE", hash));
  EXPECT_FALSE(PasswordHasher::Verify("", hash));
}

TEST(PasswordHasherTest, DefaultCostIsTwelve) {
  ASSERT_OK_AND_ASSIGN(PasswordHasher hasher, PasswordHasher::Create());
  EXPECT_EQ(hasher.cost(), 12);
}

TEST(PasswordHasherTest, SaltsDiffer) {
  ASSERT_OK_AND_ASSIGN(PasswordHasher hasher, PasswordHasher::Create(10));
  ASSERT_OK_AND_ASSIGN(std::string first, hasher.Hash("same password"));
  ASSERT_OK_AND_ASSIGN(std::string second, hasher.Hash("same password"));
  EXPECT_NE(first, second);
}

TEST(PasswordHasherTest, RejectsCostsBelowTen) {
  EXPECT_CODE(PasswordHasher::Create(9), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(PasswordHasher::Create(0), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(PasswordHasher::Create(32), absl::StatusCode::kInvalidArgument);
}

TEST(PasswordHasherTest, EnforcesEightToSeventyTwoBytes) {
  ASSERT_OK_AND_ASSIGN(PasswordHasher hasher, PasswordHasher::Create(10));
  EXPECT_CODE(hasher.Hash("short"), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(hasher.Hash(std::string(73, 'a')), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(hasher.Hash(std::string("with\0nul", 8)), absl::StatusCode::kInvalidArgument);
  EXPECT_OK(hasher.Hash(std::string(8, 'a')));
  EXPECT_OK(hasher.Hash(std::string(72, 'a')));
}

TEST(PasswordHasherTest, AHashOfAnotherCostNeedsRehashing) {
  ASSERT_OK_AND_ASSIGN(PasswordHasher at_10, PasswordHasher::Create(10));
  ASSERT_OK_AND_ASSIGN(PasswordHasher at_11, PasswordHasher::Create(11));
  ASSERT_OK_AND_ASSIGN(std::string hash, at_11.Hash("correct horse"));
  EXPECT_FALSE(at_11.NeedsRehash(hash));
  EXPECT_TRUE(at_10.NeedsRehash(hash));
  EXPECT_TRUE(at_10.NeedsRehash("not a hash"));
  EXPECT_TRUE(at_10.NeedsRehash("$2y$10$abc"));
}

TEST(PasswordHasherTest, GarbageHashNeverVerifies) {
  EXPECT_FALSE(PasswordHasher::Verify("password1", "not a hash"));
  EXPECT_FALSE(PasswordHasher::Verify("password1", ""));
}

}  // namespace
}  // namespace plantmon::auth
