#ifndef PLANTMON_TESTS_TESTING_STATUS_MATCHERS_H_
#define PLANTMON_TESTS_TESTING_STATUS_MATCHERS_H_

// Debian's Abseil 20220623 ships no status_matchers.h; these cover our needs.

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace plantmon::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace plantmon::testing

#define PLANTMON_CONCAT_INNER(a, b) a##b
#define PLANTMON_CONCAT(a, b) PLANTMON_CONCAT_INNER(a, b)

#define EXPECT_OK(expr) \
  EXPECT_TRUE(::plantmon::testing::GetStatus(expr).ok()) << ::plantmon::testing::GetStatus(expr)
#define ASSERT_OK(expr)                                                \
  do {                                                                 \
    const auto& plantmon_status_ = (expr);                             \
    ASSERT_TRUE(::plantmon::testing::GetStatus(plantmon_status_).ok()) \
        << ::plantmon::testing::GetStatus(plantmon_status_);           \
  } while (0)
#define EXPECT_CODE(expr, expected_code)                                  \
  EXPECT_EQ(::plantmon::testing::GetStatus(expr).code(), (expected_code)) \
      << ::plantmon::testing::GetStatus(expr)

// ASSERT_OK_AND_ASSIGN(auto x, StatusOrExpr);
// `lhs` is a declaration (auto value), so it cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL(PLANTMON_CONCAT(plantmon_or_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                              \
  ASSERT_TRUE(tmp.ok()) << tmp.status();           \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // PLANTMON_TESTS_TESTING_STATUS_MATCHERS_H_
