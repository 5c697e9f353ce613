// Scheduling: catch-up after downtime gives one run, a job that never ran
// waits for its first elapse, and the fake clock wakes a waiting thread on
// time or on Wake() without real sleeps.
#include "agent/daemon/scheduler.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <future>
#include <string>
#include <thread>

namespace coffre::daemon {
namespace {

int64_t Utc(const char* when) {
  std::tm t{};
  REQUIRE(strptime(when, "%Y-%m-%d %H:%M:%S", &t) != nullptr);
  return static_cast<int64_t>(timegm(&t));
}

CalendarSpec Spec(const char* text) {
  auto spec = ParseCalendar(text);
  REQUIRE(spec);
  return *spec;
}

TEST_CASE("a job that last ran before missed elapses runs once, now", "[unit][scheduler]") {
  const CalendarSpec daily = Spec("daily 02:30 UTC");
  const int64_t since = Utc("2026-11-01 00:00:00");
  const int64_t last = Utc("2026-11-20 02:30:00");
  // The machine was off from the 21st to the 29th: seven elapses missed.
  const int64_t now = Utc("2026-11-29 10:00:00");
  CHECK(NextRunTime(daily, last, since, now) == now);
  // Once that catch-up run has started, the next is the regular elapse.
  CHECK(NextRunTime(daily, now, since, now) == Utc("2026-11-30 02:30:00"));
  CHECK(NextRunTime(daily, now, since, now + 5) == Utc("2026-11-30 02:30:00"));
}

TEST_CASE("a job that ran after its latest elapse waits for the next one", "[unit][scheduler]") {
  const CalendarSpec daily = Spec("daily 02:30 UTC");
  const int64_t last = Utc("2026-11-29 02:30:00");
  CHECK(NextRunTime(daily, last, 0, Utc("2026-11-29 09:00:00")) == Utc("2026-11-30 02:30:00"));
  // Due exactly at the elapse: "now" is the elapse itself.
  CHECK(NextRunTime(daily, last, 0, Utc("2026-11-30 02:30:00")) == Utc("2026-11-30 02:30:00"));
}

TEST_CASE("a job that never ran waits for the first elapse after the agent's first start",
          "[unit][scheduler]") {
  const CalendarSpec daily = Spec("daily 02:30 UTC");
  const int64_t since = Utc("2026-11-29 09:00:00");
  CHECK(NextRunTime(daily, std::nullopt, since, Utc("2026-11-29 09:00:05")) ==
        Utc("2026-11-30 02:30:00"));
  // The agent was down over that elapse: it catches up on the next start.
  const int64_t later = Utc("2026-12-02 08:00:00");
  CHECK(NextRunTime(daily, std::nullopt, since, later) == later);
}

TEST_CASE("a last run in the future (clock set back) does not block the schedule",
          "[unit][scheduler]") {
  const CalendarSpec daily = Spec("daily 02:30 UTC");
  const int64_t now = Utc("2026-11-29 09:00:00");
  CHECK(NextRunTime(daily, Utc("2027-05-01 00:00:00"), 0, now) == Utc("2026-11-30 02:30:00"));
}

TEST_CASE("a schedule that never elapses gives kNever", "[unit][scheduler]") {
  CHECK(NextRunTime(Spec("2020-01-01 UTC"), std::nullopt, Utc("2026-01-01 00:00:00"),
                    Utc("2026-01-01 00:00:00")) == kNever);
}

TEST_CASE("a failure that may pass is retried with a doubling delay, within the schedule",
          "[unit][scheduler]") {
  const int64_t end = 1'000'000;
  const int64_t next = end + 86400;
  CHECK(RetryTime("failure", 1, end, 1, next) == end + 300);
  CHECK(RetryTime("failure", 1, end, 2, next) == end + 600);
  CHECK(RetryTime("failure", 8, end, 3, next) == end + 1200);
  CHECK(RetryTime("failure", 9, end, 30, next) == end + 7200);  // at most 2 hours
  // Never past the next scheduled run, which comes first.
  CHECK_FALSE(RetryTime("failure", 1, end, 1, end + 300));
  // What retrying cannot mend waits for the schedule.
  for (int code : {2, 4, 5, 6, 7}) CHECK_FALSE(RetryTime("failure", code, end, 1, next));
  CHECK_FALSE(RetryTime("success", 0, end, 0, next));
  CHECK_FALSE(RetryTime("partial", 3, end, 0, next));
  CHECK_FALSE(RetryTime("cancelled", 130, end, 1, next));
}

TEST_CASE("the fake clock's WaitUntil returns at once when the time has come or a wake is pending",
          "[unit][scheduler]") {
  FakeClock clock(1000);
  CHECK(clock.Now() == 1000);
  CHECK(clock.WaitUntil(1000));
  CHECK(clock.WaitUntil(999));
  clock.Wake();
  clock.Wake();  // two wakes count as one
  CHECK_FALSE(clock.WaitUntil(5000));
  clock.Advance(10);
  CHECK(clock.Now() == 1010);
  clock.Set(900);  // never backwards
  CHECK(clock.Now() == 1010);
}

TEST_CASE("a thread waiting on the fake clock wakes when the time is advanced past its deadline",
          "[unit][scheduler][tsan]") {
  FakeClock clock(1000);
  auto waiter = std::async(std::launch::async, [&] { return clock.WaitUntil(1060); });
  CHECK(clock.AwaitWaiter() == 1060);
  clock.Advance(30);  // not yet
  CHECK(clock.AwaitWaiter() == 1060);
  clock.Advance(30);
  CHECK(waiter.get() == true);
  CHECK(clock.Now() == 1060);
}

TEST_CASE("a thread waiting on the fake clock returns false when woken", "[unit][scheduler]") {
  FakeClock clock(1000);
  auto waiter = std::async(std::launch::async, [&] { return clock.WaitUntil(kNever); });
  clock.AwaitWaiter();
  clock.Wake();
  CHECK(waiter.get() == false);
  // The wake was consumed: the next wait is on time again.
  CHECK(clock.WaitUntil(1000));
}

TEST_CASE("the system clock returns from WaitUntil on a pending wake and on a past time",
          "[unit][scheduler]") {
  auto clock = SystemClock::Create();
  REQUIRE(clock);
  const int64_t now = (*clock)->Now();
  CHECK(now > Utc("2024-01-01 00:00:00"));
  CHECK((*clock)->WaitUntil(now - 1));
  (*clock)->Wake();
  CHECK_FALSE((*clock)->WaitUntil(kNever));
  // Woken from another thread while blocked.
  auto waiter = std::async(std::launch::async, [&] { return (*clock)->WaitUntil(kNever); });
  (*clock)->Wake();
  CHECK(waiter.get() == false);
}

}  // namespace
}  // namespace coffre::daemon
