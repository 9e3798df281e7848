#include "services/auth/login_throttle.h"

#include "gtest/gtest.h"

namespace plantmon::auth {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

TEST(LoginThrottleTest, LocksANameAfterTooManyFailuresForTheLockoutOnly) {
  LoginThrottle throttle;
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(throttle.Check("ann", kStart).ok());
    throttle.RecordFailure("ann", kStart + absl::Seconds(i));
  }
  EXPECT_TRUE(throttle.Check("ann", kStart + absl::Seconds(4)).ok());
  throttle.RecordFailure("ann", kStart + absl::Seconds(4));
  absl::Status locked = throttle.Check("ann", kStart + absl::Seconds(5));
  EXPECT_EQ(locked.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(locked.message().find("try again in 59 s"), std::string::npos) << locked;
  EXPECT_TRUE(throttle.Check("bob", kStart + absl::Seconds(5)).ok()) << "other names are free";
  EXPECT_TRUE(throttle.Check("ann", kStart + absl::Seconds(65)).ok());
}

TEST(LoginThrottleTest, FailuresOutsideTheWindowDoNotAddUp) {
  LoginThrottle throttle;
  for (int i = 0; i < 10; ++i) {
    throttle.RecordFailure("cy", kStart + absl::Minutes(16) * i);
    EXPECT_TRUE(throttle.Check("cy", kStart + absl::Minutes(16) * i).ok());
  }
}

TEST(LoginThrottleTest, SuccessClearsTheCount) {
  LoginThrottle throttle;
  for (int i = 0; i < 4; ++i) throttle.RecordFailure("di", kStart);
  throttle.RecordSuccess("di");
  throttle.RecordFailure("di", kStart);
  EXPECT_TRUE(throttle.Check("di", kStart).ok());
}

TEST(LoginThrottleTest, MemoryIsBounded) {
  LoginThrottle::Options options;
  options.max_tracked = 100;
  LoginThrottle throttle(options);
  for (int i = 0; i < 1000; ++i) {
    throttle.RecordFailure("guess" + std::to_string(i), kStart + absl::Hours(i));
  }
  // No way to read the size; what matters is that it neither grows without
  // bound nor forgets a current lockout right away.
  for (int i = 0; i < 5; ++i) throttle.RecordFailure("target", kStart + absl::Hours(2000));
  EXPECT_FALSE(throttle.Check("target", kStart + absl::Hours(2000)).ok());
}

}  // namespace
}  // namespace plantmon::auth
