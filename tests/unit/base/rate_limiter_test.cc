// RateLimiter: burst, sustained rate, debt larger than the bucket, refill
// capped at the burst, and one bucket shared by threads, all on a fake clock.
#include "core/base/rate_limiter.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>
#include <vector>

namespace coffre {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr uint64_t kMiB = 1024 * 1024;

// A clock that only moves when told to or when a caller sleeps (`advance`),
// and remembers every sleep.
struct FakeTime {
  explicit FakeTime(bool advance_on_sleep = true) : advance(advance_on_sleep) {}
  RateLimiter::Timing Timing() {
    return {[this] {
              std::lock_guard<std::mutex> lock(mu);
              return now;
            },
            [this](nanoseconds d) {
              std::lock_guard<std::mutex> lock(mu);
              sleeps.push_back(d);
              if (advance) now += d;
            }};
  }
  nanoseconds Elapsed() {
    std::lock_guard<std::mutex> lock(mu);
    return now - RateLimiter::Clock::time_point();
  }
  bool advance;
  std::mutex mu;
  RateLimiter::Clock::time_point now;
  std::vector<nanoseconds> sleeps;
};

// |a - b| <= 1 ms
bool Near(nanoseconds a, nanoseconds b) { return std::chrono::abs(a - b) <= milliseconds(1); }

TEST_CASE("a rate of zero never waits", "[unit][rate_limiter]") {
  FakeTime time;
  RateLimiter limiter(0, time.Timing());
  for (int i = 0; i < 100; ++i) limiter.Acquire(1ull << 40);
  CHECK(time.sleeps.empty());
}

TEST_CASE("the first second of the rate goes at once, the rest is paced", "[unit][rate_limiter]") {
  FakeTime time;
  RateLimiter limiter(kMiB, time.Timing());
  CHECK(limiter.burst() == kMiB);
  limiter.Acquire(kMiB);
  CHECK(time.sleeps.empty());
  limiter.Acquire(kMiB / 2);
  REQUIRE(time.sleeps.size() == 1);
  CHECK(Near(time.sleeps[0], milliseconds(500)));
  limiter.Acquire(kMiB);
  REQUIRE(time.sleeps.size() == 2);
  CHECK(Near(time.sleeps[1], seconds(1)));
}

TEST_CASE("a sustained upload averages the rate", "[unit][rate_limiter]") {
  FakeTime time;
  RateLimiter limiter(10 * kMiB, time.Timing());
  for (int i = 0; i < 1600; ++i) limiter.Acquire(64 * 1024);  // 100 MiB
  // 10 MiB of burst, then 90 MiB at 10 MiB/s.
  CHECK(Near(time.Elapsed(), seconds(9)));
}

TEST_CASE("one request larger than the bucket waits for its whole debt", "[unit][rate_limiter]") {
  FakeTime time;
  RateLimiter limiter(kMiB, time.Timing());
  limiter.Acquire(5 * kMiB);
  REQUIRE(time.sleeps.size() == 1);
  CHECK(Near(time.sleeps[0], seconds(4)));
}

TEST_CASE("idle time refills the bucket up to the burst only", "[unit][rate_limiter]") {
  FakeTime time;
  RateLimiter limiter(kMiB, time.Timing());
  limiter.Acquire(kMiB);
  time.now += seconds(100);
  limiter.Acquire(2 * kMiB);
  REQUIRE(time.sleeps.size() == 1);
  CHECK(Near(time.sleeps[0], seconds(1)));
}

TEST_CASE("a slow rate still allows a burst of 256 KiB", "[unit][rate_limiter]") {
  FakeTime time;
  RateLimiter limiter(1024, time.Timing());
  CHECK(limiter.burst() == RateLimiter::kMinBurst);
  limiter.Acquire(RateLimiter::kMinBurst);
  CHECK(time.sleeps.empty());
  limiter.Acquire(1024);
  REQUIRE(time.sleeps.size() == 1);
  CHECK(Near(time.sleeps[0], seconds(1)));
}

TEST_CASE("threads share one bucket and queue behind each other's debt",
          "[unit][rate_limiter][tsan]") {
  // The clock stands still: each thread's wait shows the queue it joined.
  FakeTime time(/*advance_on_sleep=*/false);
  RateLimiter limiter(kMiB, time.Timing());
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { limiter.Acquire(kMiB); });
  for (auto& thread : threads) thread.join();
  std::vector<nanoseconds> sleeps = time.sleeps;
  std::sort(sleeps.begin(), sleeps.end());
  REQUIRE(sleeps.size() == 3);  // the first one fit in the burst
  CHECK(Near(sleeps[0], seconds(1)));
  CHECK(Near(sleeps[1], seconds(2)));
  CHECK(Near(sleeps[2], seconds(3)));
}

}  // namespace
}  // namespace coffre
