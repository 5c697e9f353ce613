// RunTogether: a race as tight as a test can make one: `n` threads wait for
// each other, then each calls fn(thread number) at once. Returns when all
// are done. Catch2's assertions are not thread-safe: fn records, the test
// checks afterwards.
#pragma once

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace coffre::testing {

inline void RunTogether(int n, const std::function<void(int)>& fn) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < n) std::this_thread::yield();
      fn(t);
    });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace coffre::testing
