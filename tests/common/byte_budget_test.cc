#include "common/byte_budget.h"

#include <gtest/gtest.h>

namespace plantmon::common {
namespace {

TEST(ByteBudgetTest, AKeyIsBoundedByItsOwnLimit) {
  ByteBudget budget(/*total_limit=*/100, /*per_key_limit=*/40);
  EXPECT_TRUE(budget.TryReserve("a", 30));
  EXPECT_FALSE(budget.TryReserve("a", 11));
  EXPECT_TRUE(budget.TryReserve("a", 10));
  EXPECT_EQ(budget.held_by("a"), 40);
  // Another key is not held back by the first one's limit.
  EXPECT_TRUE(budget.TryReserve("b", 40));
  EXPECT_EQ(budget.total(), 80);
}

TEST(ByteBudgetTest, TheTotalBoundsAllKeysTogether) {
  ByteBudget budget(/*total_limit=*/100, /*per_key_limit=*/40);
  EXPECT_TRUE(budget.TryReserve("a", 40));
  EXPECT_TRUE(budget.TryReserve("b", 40));
  EXPECT_FALSE(budget.TryReserve("c", 21));
  EXPECT_EQ(budget.held_by("c"), 0);
  EXPECT_TRUE(budget.TryReserve("c", 20));
  EXPECT_EQ(budget.total(), 100);
}

TEST(ByteBudgetTest, ReleasedBytesCanBeReservedAgain) {
  ByteBudget budget(/*total_limit=*/50, /*per_key_limit=*/50);
  ASSERT_TRUE(budget.TryReserve("a", 50));
  EXPECT_FALSE(budget.TryReserve("b", 1));
  budget.Release("a", 50);
  EXPECT_EQ(budget.total(), 0);
  EXPECT_EQ(budget.held_by("a"), 0);
  EXPECT_TRUE(budget.TryReserve("b", 50));
}

TEST(ByteBudgetTest, AReservationLargerThanALimitIsRefusedWhole) {
  ByteBudget budget(/*total_limit=*/100, /*per_key_limit=*/40);
  EXPECT_FALSE(budget.TryReserve("a", 41));
  EXPECT_EQ(budget.total(), 0);
  EXPECT_TRUE(budget.TryReserve("a", 0));
}

}  // namespace
}  // namespace plantmon::common
