#include "common/bounded_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/sync.h"

namespace plantmon::common {
namespace {

TEST(BoundedExecutorTest, RunsEveryAcceptedTask) {
  std::atomic<int> ran{0};
  {
    BoundedExecutor executor(2, 100);
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(executor.TrySubmit([&ran] { ran.fetch_add(1); }));
    }
  }  // the destructor drains the queue
  EXPECT_EQ(ran.load(), 100);
}

TEST(BoundedExecutorTest, RefusesWhatDoesNotFitInTheQueue) {
  Notification release;
  Notification started;
  BoundedExecutor executor(1, 2);
  ASSERT_TRUE(executor.TrySubmit([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(30));
  }));
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // The one thread is busy: two fit in the queue, the third does not.
  EXPECT_TRUE(executor.TrySubmit([] {}));
  EXPECT_TRUE(executor.TrySubmit([] {}));
  EXPECT_FALSE(executor.TrySubmit([] {}));
  EXPECT_EQ(executor.queued(), 2);
  release.Notify();
}

TEST(BoundedExecutorTest, RunsTasksOnItsOwnThreadsOnly) {
  std::atomic<int> on_caller{0};
  const std::thread::id caller = std::this_thread::get_id();
  {
    BoundedExecutor executor(3, 10);
    EXPECT_EQ(executor.threads(), 3);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(executor.TrySubmit([&] {
        if (std::this_thread::get_id() == caller) on_caller.fetch_add(1);
      }));
    }
  }
  EXPECT_EQ(on_caller.load(), 0);
}

TEST(BoundedExecutorTest, ATaskNotStartedInTimeRunsItsExpiredCallbackInstead) {
  Notification release;
  Notification started;
  Notification expired;
  std::atomic<bool> late_task_ran{false};
  BoundedExecutor executor(1, 4);
  ASSERT_TRUE(executor.TrySubmit([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(30));
  }));
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  const absl::Time submitted = absl::Now();
  ASSERT_TRUE(executor.TrySubmit([&] { late_task_ran = true; },
                                 absl::Now() + absl::Milliseconds(100), [&] { expired.Notify(); }));
  // The only thread stays busy: the callback answers instead, on time.
  ASSERT_TRUE(expired.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_LT(absl::Now() - submitted, absl::Seconds(2));
  EXPECT_EQ(executor.queued(), 0);
  release.Notify();
  // A task that starts in time never sees its callback.
  Notification ran;
  ASSERT_TRUE(executor.TrySubmit([&] { ran.Notify(); }, absl::Now() + absl::Seconds(30),
                                 [] { ADD_FAILURE() << "expired although a thread was free"; }));
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(late_task_ran.load());
}

}  // namespace
}  // namespace plantmon::common
