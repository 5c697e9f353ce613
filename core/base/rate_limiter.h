// RateLimiter: a token bucket that paces bytes to a rate, for --limit-upload.
// One limiter may be shared by every thread (and every backend) that uploads,
// so the rate holds for their sum.
//
// The bucket holds up to burst() bytes (1 s of the rate, at least 256 KiB)
// and starts full. Acquire(n) takes n bytes from it at once, even more than
// it holds: the balance goes negative and the caller sleeps until the refill
// has paid the debt. Callers are thus served in the order they asked, and a
// 64 MiB pack at 10 MiB/s waits about 6.4 s before it is sent: the rate is
// an average over seconds, not a cap on each packet.
// Thread-safety: Acquire may be called from many threads at once; the lock
// is not held while sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace coffre {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // Where time comes from; tests pass a fake clock whose sleep advances it.
  struct Timing {
    std::function<Clock::time_point()> now;               // default: steady_clock
    std::function<void(std::chrono::nanoseconds)> sleep;  // default: sleep_for
  };

  static constexpr uint64_t kMinBurst = 256 * 1024;

  // `bytes_per_second` 0 means no limit: Acquire returns at once.
  explicit RateLimiter(uint64_t bytes_per_second, Timing timing = {});
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Blocks until `bytes` may be sent at the rate.
  void Acquire(uint64_t bytes);

  uint64_t rate() const { return rate_; }
  uint64_t burst() const { return burst_; }

 private:
  const uint64_t rate_;
  const uint64_t burst_;
  const Timing timing_;

  std::mutex mu_;
  double tokens_;  // bytes; negative while callers wait for a debt to clear
  Clock::time_point last_refill_;
};

}  // namespace coffre
