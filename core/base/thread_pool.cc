#include "core/base/thread_pool.h"

namespace coffre {

ThreadPool::ThreadPool(size_t threads, size_t max_queued)
    : max_queued_(max_queued == 0 ? 1 : max_queued) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Run(); });
}

ThreadPool::~ThreadPool() {
  {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [this] { return queue_.empty() && running_ == 0; });
    stopping_ = true;
  }
  has_work_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::Submit(std::function<void()> task) {
  {
    std::unique_lock lock(mu_);
    has_room_.wait(lock, [this] { return queue_.size() < max_queued_; });
    queue_.push_back(std::move(task));
  }
  has_work_.notify_one();
}

void ThreadPool::Wait() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return queue_.empty() && running_ == 0; });
}

void ThreadPool::Run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      has_work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    has_room_.notify_one();
    task();
    {
      std::lock_guard lock(mu_);
      --running_;
      if (queue_.empty() && running_ == 0) idle_.notify_all();
    }
  }
}

size_t DefaultConcurrency() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

}  // namespace coffre
