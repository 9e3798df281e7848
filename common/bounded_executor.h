#ifndef PLANTMON_COMMON_BOUNDED_EXECUTOR_H_
#define PLANTMON_COMMON_BOUNDED_EXECUTOR_H_

// A fixed set of threads that run submitted tasks in order, with a bounded
// queue: a task that does not fit is refused at once, so the caller can answer
// "too busy" instead of piling up work nobody bounds. A queued task may carry
// a time by which it must have started; if no thread took it by then, its
// `expired` callback runs instead (on the executor's timer thread), so a
// waiting call can still answer within its deadline.
//
// Tasks may carry a fairness key (the password-hashing executor uses the
// client's connection): keys take turns, the one served least recently
// first, and at most `max_queued_per_key` tasks of one key wait, so one
// client's flood neither fills the queue nor delays another client's task by
// more than a turn per waiting key. Tasks of one key run in order.
//
// Why not a library: gRPC's executor is internal, and Abseil has none; this is
// a condition-variable queue, on std::mutex so ThreadSanitizer sees it
// (common/sync.h says why).

#include <climits>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace plantmon::common {

class BoundedExecutor {
 public:
  // `threads` >= 1 run tasks; at most `max_queued` wait for one, and at most
  // `max_queued_per_key` of those share a fairness key.
  BoundedExecutor(int threads, int max_queued, int max_queued_per_key = INT_MAX);
  // Shutdown().
  ~BoundedExecutor();

  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // False (and nothing run) when the queue, or the share of `key`, is full or
  // the executor is shutting down. Otherwise exactly one of `task` and
  // `expired` runs: `expired` when no thread started `task` by `start_by`.
  bool TrySubmit(std::function<void()> task, absl::Time start_by = absl::InfiniteFuture(),
                 std::function<void()> expired = nullptr, std::string key = {});

  // Refuses new tasks, runs what is queued, then joins the threads. Once
  // only, from one thread (not from a task).
  void Shutdown();

  int threads() const { return static_cast<int>(workers_.size()); }
  // Tasks waiting for a thread (not counting those running).
  int queued() const;

 private:
  struct Task {
    std::function<void()> run;
    absl::Time start_by;
    std::function<void()> expired;
    std::string key;
  };

  // The oldest task of the key served least recently; queue_ is not empty.
  std::list<Task>::iterator NextTaskLocked();
  // Takes `task` off the queue and its key's count.
  void DequeueLocked(std::list<Task>::iterator task);
  void Work();
  void ExpireLateTasks();

  const int max_queued_;
  const int max_queued_per_key_;
  mutable std::mutex mu_;
  std::condition_variable ready_;     // a task was queued, or stopping
  std::condition_variable deadline_;  // a task due before timer_wakes_at_ was queued, or stopping
  std::list<Task> queue_;             // guarded by mu_
  // Per key with queued tasks: how many, and the turn it was last served at
  // (0: not yet); guarded by mu_.
  struct KeyState {
    int queued = 0;
    uint64_t last_turn = 0;
  };
  absl::flat_hash_map<std::string, KeyState> keys_;
  uint64_t turns_ = 0;  // guarded by mu_
  // When the timer thread wakes next, at the latest; guarded by mu_.
  absl::Time timer_wakes_at_ = absl::InfiniteFuture();
  bool stopping_ = false;  // guarded by mu_
  std::vector<std::thread> workers_;
  std::thread timer_;
};

}  // namespace plantmon::common

#endif  // PLANTMON_COMMON_BOUNDED_EXECUTOR_H_
