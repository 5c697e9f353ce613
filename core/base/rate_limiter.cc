#include "core/base/rate_limiter.h"

#include <algorithm>
#include <thread>
#include <utility>

namespace coffre {

namespace {

RateLimiter::Timing WithDefaults(RateLimiter::Timing timing) {
  if (!timing.now) timing.now = [] { return RateLimiter::Clock::now(); };
  if (!timing.sleep) {
    timing.sleep = [](std::chrono::nanoseconds d) { std::this_thread::sleep_for(d); };
  }
  return timing;
}

}  // namespace

RateLimiter::RateLimiter(uint64_t bytes_per_second, Timing timing)
    : rate_(bytes_per_second),
      burst_(std::max(bytes_per_second, kMinBurst)),
      timing_(WithDefaults(std::move(timing))),
      tokens_(static_cast<double>(burst_)),
      last_refill_(timing_.now()) {}

void RateLimiter::Acquire(uint64_t bytes) {
  if (rate_ == 0 || bytes == 0) return;
  std::chrono::nanoseconds wait(0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Clock::time_point now = timing_.now();
    if (now > last_refill_) {
      const double elapsed = std::chrono::duration<double>(now - last_refill_).count();
      tokens_ =
          std::min(static_cast<double>(burst_), tokens_ + elapsed * static_cast<double>(rate_));
      last_refill_ = now;
    }
    tokens_ -= static_cast<double>(bytes);
    // The debt, including that of earlier callers still sleeping, is paid
    // off by the refill at rate_ bytes per second.
    if (tokens_ < 0) {
      wait = std::chrono::nanoseconds(
          static_cast<int64_t>(-tokens_ / static_cast<double>(rate_) * 1e9));
    }
  }
  if (wait.count() > 0) timing_.sleep(wait);
}

}  // namespace coffre
