#include "alerting/notification_policy.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace plantmon::alerting {
namespace {

TEST(NotificationKindTest, EachStatusIsToldOnceAndOnlyAtTheMinimumSeverity) {
  using S = NotifiedStatus;
  EXPECT_EQ(NotificationKind(S::kActive, std::nullopt, "warning", "info"), "opened");
  EXPECT_EQ(NotificationKind(S::kActive, S::kActive, "warning", "info"), std::nullopt);
  EXPECT_EQ(NotificationKind(S::kAcknowledged, S::kActive, "warning", "info"), "acknowledged");
  EXPECT_EQ(NotificationKind(S::kResolved, S::kAcknowledged, "warning", "info"), "resolved");
  EXPECT_EQ(NotificationKind(S::kResolved, std::nullopt, "warning", "info"), "resolved");
  EXPECT_EQ(NotificationKind(S::kResolved, S::kResolved, "warning", "info"), std::nullopt);
  EXPECT_EQ(NotificationKind(S::kActive, std::nullopt, "warning", "critical"), std::nullopt);
  EXPECT_EQ(NotificationKind(S::kActive, std::nullopt, "critical", "critical"), "opened");
}

absl::TimeZone Berlin() {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/Berlin", &zone));
  return zone;
}

// Local wall time in `zone`.
absl::Time At(int year, int month, int day, int hour, int minute, absl::TimeZone zone) {
  return absl::FromCivil(absl::CivilMinute(year, month, day, hour, minute), zone);
}

TEST(NotQuietTest, QuietHoursThatSpanMidnightEndTheNextMorning) {
  const absl::TimeZone berlin = Berlin();
  const QuietHours night{22 * 60, 7 * 60, berlin};
  // 23:30 -> 07:00 the next day; 03:00 -> 07:00 that day; 12:00 is not quiet.
  EXPECT_EQ(NotQuiet(At(2026, 6, 1, 23, 30, berlin), night), At(2026, 6, 2, 7, 0, berlin));
  EXPECT_EQ(NotQuiet(At(2026, 6, 2, 3, 0, berlin), night), At(2026, 6, 2, 7, 0, berlin));
  EXPECT_EQ(NotQuiet(At(2026, 6, 2, 12, 0, berlin), night), At(2026, 6, 2, 12, 0, berlin));
  EXPECT_EQ(NotQuiet(At(2026, 6, 2, 7, 0, berlin), night), At(2026, 6, 2, 7, 0, berlin));
  // The night the clocks go forward (29 March 2026) is an hour shorter.
  const absl::Time before_dst = At(2026, 3, 28, 23, 0, berlin);
  EXPECT_EQ(NotQuiet(before_dst, night) - before_dst, absl::Hours(7));
  // Within one day, and none at all when start equals end.
  const QuietHours lunch{12 * 60, 13 * 60, berlin};
  EXPECT_EQ(NotQuiet(At(2026, 6, 2, 12, 10, berlin), lunch), At(2026, 6, 2, 13, 0, berlin));
  EXPECT_EQ(NotQuiet(At(2026, 6, 2, 11, 59, berlin), lunch), At(2026, 6, 2, 11, 59, berlin));
  const absl::Time now = absl::Now();
  EXPECT_EQ(NotQuiet(now, QuietHours{600, 600, berlin}), now);
  EXPECT_EQ(NotQuiet(now, std::nullopt), now);
}

TEST(QuietHoursInTest, BothEndsOrNone) {
  EXPECT_FALSE(QuietHoursIn(60, std::nullopt, "UTC").has_value());
  ASSERT_TRUE(QuietHoursIn(60, 120, "Nowhere/Atlantis").has_value());
  EXPECT_EQ(QuietHoursIn(60, 120, "Nowhere/Atlantis")->zone, absl::UTCTimeZone());
}

TEST(RetryDelayTest, DoublesUpToTheCapLessAtMostAFifth) {
  absl::BitGen random;
  for (int i = 0; i < 100; ++i) {
    const absl::Duration first = RetryDelay(1, absl::Seconds(5), absl::Hours(1), random);
    EXPECT_LE(first, absl::Seconds(5));
    EXPECT_GE(first, absl::Seconds(4));
    const absl::Duration fourth = RetryDelay(4, absl::Seconds(5), absl::Hours(1), random);
    EXPECT_LE(fourth, absl::Seconds(40));
    EXPECT_GE(fourth, absl::Seconds(32));
    const absl::Duration late = RetryDelay(40, absl::Seconds(5), absl::Hours(1), random);
    EXPECT_LE(late, absl::Hours(1));
    EXPECT_GE(late, absl::Minutes(48));
  }
}

}  // namespace
}  // namespace plantmon::alerting
