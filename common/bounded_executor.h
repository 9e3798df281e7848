#ifndef PLANTMON_COMMON_BOUNDED_EXECUTOR_H_
#define PLANTMON_COMMON_BOUNDED_EXECUTOR_H_

// A fixed set of threads that run submitted tasks in order, with a bounded
// queue: a task that does not fit is refused at once, so the caller can answer
// "too busy" instead of piling up work nobody bounds. A queued task may carry
// a time by which it must have started; if no thread took it by then, its
// `expired` callback runs instead (on the executor's timer thread), so a
// waiting call can still answer within its deadline.
//
// Why not a library: gRPC's executor is internal, and Abseil has none; this is
// a condition-variable queue, on std::mutex so ThreadSanitizer sees it
// (common/sync.h says why).

#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace plantmon::common {

class BoundedExecutor {
 public:
  // `threads` >= 1 run tasks; at most `max_queued` wait for one.
  BoundedExecutor(int threads, int max_queued);
  // Runs what is queued, then joins the threads.
  ~BoundedExecutor();

  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // False (and nothing run) when the queue is full or the executor is
  // shutting down. Otherwise exactly one of `task` and `expired` runs:
  // `expired` when no thread started `task` by `start_by`.
  bool TrySubmit(std::function<void()> task, absl::Time start_by = absl::InfiniteFuture(),
                 std::function<void()> expired = nullptr);

  int threads() const { return static_cast<int>(workers_.size()); }
  // Tasks waiting for a thread (not counting those running).
  int queued() const;

 private:
  struct Task {
    std::function<void()> run;
    absl::Time start_by;
    std::function<void()> expired;
  };

  void Work();
  void ExpireLateTasks();

  const int max_queued_;
  mutable std::mutex mu_;
  std::condition_variable ready_;     // a task was queued, or stopping
  std::condition_variable deadline_;  // a task with a start-by time was queued, or stopping
  std::list<Task> queue_;             // guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  std::vector<std::thread> workers_;
  std::thread timer_;
};

}  // namespace plantmon::common

#endif  // PLANTMON_COMMON_BOUNDED_EXECUTOR_H_
