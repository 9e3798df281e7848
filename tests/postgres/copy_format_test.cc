#include "postgres/copy_format.h"

#include <random>

#include "gtest/gtest.h"

namespace plantmon::postgres {
namespace {

std::string Reference(absl::Time time) {
  return absl::FormatTime("%E4Y-%m-%d %H:%M:%E6S+00", time, absl::UTCTimeZone());
}

TEST(CopyFormatTest, MatchesAbslFormatTimeAcrossTheSupportedYears) {
  EXPECT_EQ(CopyTimestampText(absl::UnixEpoch()), "1970-01-01 00:00:00.000000+00");
  EXPECT_EQ(CopyTimestampText(absl::FromUnixMicros(-1)), "1969-12-31 23:59:59.999999+00");
  EXPECT_EQ(CopyTimestampText(absl::FromUnixSeconds(951782400)),  // leap day 2000
            "2000-02-29 00:00:00.000000+00");
  const int64_t min = -62135596800LL * 1000000;  // 0001-01-01
  const int64_t max = 253402300799LL * 1000000;  // 9999-12-31 23:59:59
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int64_t> micros(min, max);
  for (int i = 0; i < 100000; ++i) {
    absl::Time time = absl::FromUnixMicros(micros(random));
    ASSERT_EQ(CopyTimestampText(time), Reference(time)) << absl::ToUnixMicros(time);
  }
  EXPECT_EQ(CopyTimestampText(absl::FromUnixMicros(min)), "0001-01-01 00:00:00.000000+00");
  EXPECT_EQ(CopyTimestampText(absl::FromUnixMicros(max)), "9999-12-31 23:59:59.000000+00");
}

}  // namespace
}  // namespace plantmon::postgres
