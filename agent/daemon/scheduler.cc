#include "agent/daemon/scheduler.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace coffre::daemon {

namespace {
constexpr int64_t kMaxSliceMs = 30'000;
}  // namespace

int64_t NextRunTime(const CalendarSpec& spec, std::optional<int64_t> last_run_start, int64_t since,
                    int64_t now) {
  const int64_t base = std::min(last_run_start.value_or(since), now);
  const std::optional<int64_t> next = NextElapse(spec, base);
  if (!next) return kNever;
  return std::max(*next, now);
}

std::optional<int64_t> RetryTime(const std::string& outcome, int exit_code, int64_t finished,
                                 int failures_in_row, int64_t next_scheduled) {
  if (outcome != "failure") return std::nullopt;
  if (exit_code != 1 && exit_code != 8 && exit_code != 9) return std::nullopt;
  constexpr int64_t kFirst = 5 * 60;
  constexpr int64_t kLongest = 2 * 60 * 60;
  int64_t delay = kFirst;
  for (int i = 1; i < failures_in_row && delay < kLongest; ++i) delay *= 2;
  const int64_t at = finished + std::min(delay, kLongest);
  if (at >= next_scheduled) return std::nullopt;
  return at;
}

Result<std::unique_ptr<SystemClock>> SystemClock::Create() {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return Err(ErrnoStatus(errno, "eventfd for the agent's clock"));
  return std::unique_ptr<SystemClock>(new SystemClock(UniqueFd(fd)));
}

int64_t SystemClock::Now() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec;
}

bool SystemClock::WaitUntil(int64_t t) {
  for (;;) {
    uint64_t count = 0;
    if (::read(event_.get(), &count, sizeof(count)) == sizeof(count)) return false;
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec >= t) return true;
    // Until the start of second t, rounded up to a millisecond.
    int64_t ms = kMaxSliceMs;
    if (t != kNever && t - ts.tv_sec <= kMaxSliceMs / 1000) {
      ms = (t - ts.tv_sec) * 1000 - ts.tv_nsec / 1'000'000;
    }
    struct pollfd pfd = {event_.get(), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(ms, 1)));
  }
}

void SystemClock::Wake() {
  const uint64_t one = 1;
  // Only fails when the counter is about to overflow: then a wake-up is
  // already pending, which is all this needs.
  ssize_t n = ::write(event_.get(), &one, sizeof(one));
  (void)n;
}

int64_t FakeClock::Now() {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

bool FakeClock::WaitUntil(int64_t t) {
  std::unique_lock<std::mutex> lock(mu_);
  ++waiters_;
  waiting_until_ = t;
  cv_.notify_all();  // for AwaitWaiter
  cv_.wait(lock, [&] { return woken_ || now_ >= t; });
  --waiters_;
  const bool reached = now_ >= t && !woken_;
  if (!reached) woken_ = false;
  return reached;
}

void FakeClock::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

void FakeClock::Set(int64_t t) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = std::max(now_, t);
  cv_.notify_all();
}

int64_t FakeClock::AwaitWaiter() {
  std::unique_lock<std::mutex> lock(mu_);
  // A waiter whose time has come or that was woken is about to return; a
  // test wants the next wait, the one really blocked.
  cv_.wait(lock, [&] { return waiters_ > 0 && !woken_ && now_ < waiting_until_; });
  return waiting_until_;
}

}  // namespace coffre::daemon
