#include "alerting/watering.h"

#include <vector>

#include "gtest/gtest.h"

namespace plantmon::alerting {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

MoistureReading At(int minute, double value) { return {kStart + absl::Minutes(minute), value}; }

TEST(WateringTest, ARiseOfTheJumpWithinTheWindowIsAWatering) {
  const WateringDetection detection{15, absl::Minutes(30)};
  std::vector<DetectedWatering> found =
      DetectWaterings({At(0, 22), At(10, 20), At(20, 24), At(25, 36)}, detection, kStart, {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].at, kStart + absl::Minutes(25));
  EXPECT_EQ(found[0].from, 20);
  EXPECT_EQ(found[0].to, 36);
}

TEST(WateringTest, ASlowRiseOrAFallIsNot) {
  const WateringDetection detection{15, absl::Minutes(30)};
  // 20 -> 36 over 40 minutes: the low point left the window.
  EXPECT_TRUE(DetectWaterings({At(0, 20), At(20, 28), At(40, 36)}, detection, kStart, {}).empty());
  EXPECT_TRUE(DetectWaterings({At(0, 40), At(10, 20)}, detection, kStart, {}).empty());
}

TEST(WateringTest, OneRiseIsOneWateringAndTheLastOneSpacesThem) {
  const WateringDetection detection{10, absl::Hours(1)};
  // The rise goes on over three readings: one watering, at the first that
  // made the jump.
  std::vector<DetectedWatering> found =
      DetectWaterings({At(0, 20), At(5, 31), At(10, 40), At(15, 45)}, detection, kStart, {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].at, kStart + absl::Minutes(5));
  // A watering recorded 20 minutes before: the rise is that one.
  EXPECT_TRUE(DetectWaterings({At(0, 20), At(5, 31)}, detection, kStart, kStart - absl::Minutes(20))
                  .empty());
  // Two rises two hours apart are two waterings.
  found = DetectWaterings({At(0, 20), At(5, 35), At(100, 18), At(130, 20), At(140, 34)}, detection,
                          kStart, {});
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[1].at, kStart + absl::Minutes(140));
}

TEST(WateringTest, HistoryBeforeFromIsTheWindowOnly) {
  const WateringDetection detection{15, absl::Minutes(30)};
  // The low point came in an earlier batch; the jump in this one.
  std::vector<DetectedWatering> found = DetectWaterings({At(25, 38), At(0, 20), At(10, 21)},
                                                        detection, kStart + absl::Minutes(20), {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].at, kStart + absl::Minutes(25));
  // A rise before `from` was the earlier batch's to find, and it recorded it.
  EXPECT_TRUE(DetectWaterings({At(0, 20), At(5, 38), At(25, 39)}, detection,
                              kStart + absl::Minutes(20), kStart + absl::Minutes(5))
                  .empty());
}

TEST(WateringTest, AZeroWindowIsAnHour) {
  const WateringDetection detection{15, absl::ZeroDuration()};
  EXPECT_EQ(DetectWaterings({At(0, 20), At(50, 36)}, detection, kStart, {}).size(), 1u);
  EXPECT_TRUE(DetectWaterings({At(0, 20), At(70, 36)}, detection, kStart, {}).empty());
}

}  // namespace
}  // namespace plantmon::alerting
