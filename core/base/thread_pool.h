// ThreadPool: a fixed set of worker threads running submitted tasks, with a
// bounded queue so a fast producer (the file walker) cannot run ahead of the
// workers and fill memory with chunks. Submit blocks while the queue is full.
// Thread-safety: Submit and Wait may be called from any thread; the
// destructor waits for every queued task.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace coffre {

class ThreadPool {
 public:
  // `threads` workers (at least 1); Submit blocks once `max_queued` tasks wait.
  ThreadPool(size_t threads, size_t max_queued);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task);
  // Blocks until the queue is empty and no task is running.
  void Wait();

  size_t size() const { return workers_.size(); }

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable has_work_;
  std::condition_variable has_room_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  size_t max_queued_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// The number of workers to use for CPU work: the machine's cores, at least 1.
size_t DefaultConcurrency();

}  // namespace coffre
