#include "common/bounded_executor.h"

#include <algorithm>
#include <utility>

#include "common/sync.h"

namespace plantmon::common {

BoundedExecutor::BoundedExecutor(int threads, int max_queued, int max_queued_per_key)
    : max_queued_(max_queued), max_queued_per_key_(max_queued_per_key) {
  const int count = std::max(threads, 1);
  workers_.reserve(count);
  for (int i = 0; i < count; ++i) workers_.emplace_back([this] { Work(); });
  timer_ = std::thread([this] { ExpireLateTasks(); });
}

BoundedExecutor::~BoundedExecutor() { Shutdown(); }

void BoundedExecutor::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  deadline_.notify_all();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  if (timer_.joinable()) timer_.join();
}

bool BoundedExecutor::TrySubmit(std::function<void()> task, absl::Time start_by,
                                std::function<void()> expired, std::string key) {
  bool wake_timer = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || static_cast<int>(queue_.size()) >= max_queued_) return false;
    KeyState& state = keys_[key];
    if (state.queued >= max_queued_per_key_) return false;
    ++state.queued;
    if (expired == nullptr) start_by = absl::InfiniteFuture();
    queue_.push_back(Task{std::move(task), start_by, std::move(expired), std::move(key)});
    // The timer needs waking only for a task due before it wakes anyway. A
    // database call's start-by time is seconds away and its task starts long
    // before, so at a steady load the timer sleeps instead of waking (a
    // context switch) for every call.
    wake_timer = start_by < timer_wakes_at_;
    if (wake_timer) timer_wakes_at_ = start_by;
  }
  ready_.notify_one();
  if (wake_timer) deadline_.notify_one();
  return true;
}

int BoundedExecutor::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size());
}

std::list<BoundedExecutor::Task>::iterator BoundedExecutor::NextTaskLocked() {
  auto next = queue_.begin();
  uint64_t next_turn = UINT64_MAX;
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    const uint64_t turn = keys_[it->key].last_turn;
    // Strictly less: of one key's tasks the oldest (first queued) wins.
    if (turn < next_turn) {
      next = it;
      next_turn = turn;
    }
  }
  return next;
}

void BoundedExecutor::DequeueLocked(std::list<Task>::iterator task) {
  auto state = keys_.find(task->key);
  if (state != keys_.end() && --state->second.queued == 0) {
    // A key that comes back later starts afresh, ahead of the busy ones.
    keys_.erase(state);
  }
  queue_.erase(task);
}

void BoundedExecutor::Work() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Queued work still runs at shutdown: each task owes a caller an answer.
      if (queue_.empty()) return;
      auto next = NextTaskLocked();
      keys_[next->key].last_turn = ++turns_;
      task = std::move(next->run);
      DequeueLocked(next);
    }
    task();
  }
}

void BoundedExecutor::ExpireLateTasks() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    absl::Time next = absl::InfiniteFuture();
    for (const Task& task : queue_) next = std::min(next, task.start_by);
    timer_wakes_at_ = next;
    // Wakes at the earliest start-by time, or when stopping or a task due
    // sooner arrives (TrySubmit then moves timer_wakes_at_ earlier).
    WaitUntil(deadline_, lock, next, [&] { return stopping_ || timer_wakes_at_ < next; });
    const absl::Time now = absl::Now();
    std::vector<std::function<void()>> late;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->start_by <= now) {
        late.push_back(std::move(it->expired));
        auto expired = it++;
        DequeueLocked(expired);
      } else {
        ++it;
      }
    }
    if (late.empty()) continue;
    lock.unlock();
    for (std::function<void()>& expired : late) expired();
    lock.lock();
  }
}

}  // namespace plantmon::common
