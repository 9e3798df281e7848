#include "common/bounded_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

TEST(BoundedExecutorTest, KeysTakeTurnsAndEachHasABoundedShare) {
  Notification release;
  Notification started;
  BoundedExecutor executor(1, 10, /*max_queued_per_key=*/3);
  ASSERT_TRUE(executor.TrySubmit([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(30));
  }));
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  std::mutex mu;
  std::vector<std::string> order;
  auto run = [&](const std::string& name) {
    return [&, name] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(name);
    };
  };
  // A flooding client fills its share; one more of its tasks is refused.
  EXPECT_TRUE(executor.TrySubmit(run("flood-1"), absl::InfiniteFuture(), nullptr, "flood"));
  EXPECT_TRUE(executor.TrySubmit(run("flood-2"), absl::InfiniteFuture(), nullptr, "flood"));
  EXPECT_TRUE(executor.TrySubmit(run("flood-3"), absl::InfiniteFuture(), nullptr, "flood"));
  EXPECT_FALSE(executor.TrySubmit(run("flood-4"), absl::InfiniteFuture(), nullptr, "flood"));
  // Another client still fits, and does not wait behind the whole flood.
  EXPECT_TRUE(executor.TrySubmit(run("user-1"), absl::InfiniteFuture(), nullptr, "user"));
  EXPECT_TRUE(executor.TrySubmit(run("user-2"), absl::InfiniteFuture(), nullptr, "user"));
  release.Notify();
  executor.Shutdown();
  EXPECT_EQ(order, (std::vector<std::string>{"flood-1", "user-1", "flood-2", "user-2", "flood-3"}));
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

// The timer sleeps until the earliest start-by time it knows of: a task due
// sooner, queued after one due later, must wake it.
TEST(BoundedExecutorTest, ATaskDueSoonerThanTheQueuedOnesStillExpiresOnTime) {
  Notification release;
  Notification started;
  Notification soon_expired;
  Notification later_expired;
  BoundedExecutor executor(1, 4);
  ASSERT_TRUE(executor.TrySubmit([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(60));
  }));
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(
      executor.TrySubmit([] {}, absl::Now() + absl::Seconds(20), [&] { later_expired.Notify(); }));
  // Let the timer go to sleep until the later task's time.
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time submitted = absl::Now();
  ASSERT_TRUE(executor.TrySubmit([] {}, absl::Now() + absl::Milliseconds(100),
                                 [&] { soon_expired.Notify(); }));
  ASSERT_TRUE(soon_expired.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_LT(absl::Now() - submitted, absl::Seconds(5));
  EXPECT_FALSE(later_expired.HasBeenNotified());
  release.Notify();
}

}  // namespace
}  // namespace plantmon::common
