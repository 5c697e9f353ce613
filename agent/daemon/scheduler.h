// Scheduling decisions of coffre-agent, kept apart from threads and sleeps
// so tests can check them with a fake clock:
// - NextRunTime: when a job runs next, with catch-up after downtime like
//   systemd's Persistent=true;
// - Clock: what "now" is and how the daemon waits for a time or a wake-up
//   (SystemClock in the daemon, FakeClock in tests).
// Times are Unix seconds.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "agent/daemon/calendar_spec.h"
#include "agent/util/fd.h"
#include "core/base/status.h"

namespace coffre::daemon {

// "Never": a schedule with no elapse within 10 years. Waiting until it is
// waiting for a wake-up.
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// When the job should start next:
// - base = last_run_start if the job ever ran, else `since` (when the daemon
//   first ran with this state dir, so a new job waits for its first elapse);
//   a base later than `now` (the clock was set back) counts as `now`;
// - the first elapse of `spec` strictly after base;
// - if that is <= now the run was missed (daemon down, machine off) and is
//   due now: returns `now`, however many elapses were missed (one run);
// - kNever if the spec has no elapse within 10 years of base.
// Pure; depends on the process TZ like NextElapse.
int64_t NextRunTime(const CalendarSpec& spec, std::optional<int64_t> last_run_start, int64_t since,
                    int64_t now);

// When a failed run is tried again, within its schedule. A failure that may
// pass (exit 1: the vault or the line was down; 8: a lock; 9: no space,
// which a prune may free) is retried 5 minutes after the run ended, then
// 10, 20, 40 minutes... (doubling with each failure in a row, at most 2
// hours), as long as that comes before `next_scheduled`. Any other outcome
// (success, a partial run, damage, a wrong passphrase or configuration)
// waits for the schedule: nullopt. Pure.
std::optional<int64_t> RetryTime(const std::string& outcome, int exit_code, int64_t finished,
                                 int failures_in_row, int64_t next_scheduled);

// Thread-safety: every method may be called from any thread at any time.
class Clock {
 public:
  virtual ~Clock() = default;

  // Seconds since the epoch, wall clock (schedules follow the wall clock).
  virtual int64_t Now() = 0;

  // Blocks until Now() >= t (true) or Wake() is called (false); a pending
  // wake-up wins over a time already reached. A Wake() while nobody waits is kept: the next
  // WaitUntil returns false at once; several Wake()s in a row count as one. kNever waits for Wake()
  // only.
  virtual bool WaitUntil(int64_t t) = 0;

  // Interrupts the current or next WaitUntil (for a signal, a job's end, a
  // reload). SystemClock's is async-signal-safe, so a signal handler may
  // call it.
  virtual void Wake() = 0;
};

// The real clock. WaitUntil sleeps in slices of at most 30 s, so a jump of
// the wall clock (NTP, resume from suspend) is noticed within 30 s.
class SystemClock : public Clock {
 public:
  // kIo if the kernel refuses an eventfd (out of descriptors).
  static Result<std::unique_ptr<SystemClock>> Create();

  int64_t Now() override;
  bool WaitUntil(int64_t t) override;
  void Wake() override;

 private:
  explicit SystemClock(UniqueFd event) : event_(std::move(event)) {}
  UniqueFd event_;  // eventfd: Wake() writes, WaitUntil polls and drains
};

// A clock that moves only when told; WaitUntil never sleeps on real time.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}

  int64_t Now() override;
  bool WaitUntil(int64_t t) override;
  void Wake() override;

  // Move the time to `t` / by `seconds` (never backwards) and release the
  // waiters whose time has come.
  void Set(int64_t t);
  void Advance(int64_t seconds) { Set(Now() + seconds); }
  // Blocks until a thread is blocked in WaitUntil (its time not reached, no
  // wake pending) and returns the time it waits for, so a test advances the
  // clock only once the daemon waits. Meant for one waiting thread.
  int64_t AwaitWaiter();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t now_;
  bool woken_ = false;
  int waiters_ = 0;
  int64_t waiting_until_ = kNever;
};

}  // namespace coffre::daemon
