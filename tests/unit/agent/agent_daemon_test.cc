// The coffre-agent loop on a fake clock (nothing sleeps): a job starts when
// the clock reaches its schedule, once; a run missed while the agent was
// down is caught up at start, once; a failure that may pass is retried
// within the schedule; a stop request ends the loop.
#include "agent/daemon/agent_daemon.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "tests/support/local_job.h"

namespace coffre::daemon {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kT0 = 1795917600;  // 2026-11-29 02:00:00 UTC

struct Fixture {
  testing::TempDir dir;
  AgentConfig config;
  AgentLog log{LogLevel::kError, false};

  Fixture() {
    JobConfig job = testing::MakeLocalJob(dir, "nightly");
    auto spec = ParseCalendar("*-*-* 02:30:00 UTC");
    REQUIRE(spec);
    job.schedule = *spec;
    config.agent.state_dir = dir.Sub("state");
    config.jobs.push_back(job);
  }

  // The next time the daemon waits for, once no job is running (the status
  // file, written before every wait, says so).
  int64_t NextIdleWait(FakeClock& clock) {
    for (;;) {
      int64_t until = clock.AwaitWaiter();
      if (until != kNever && NoneRunning()) return until;
      // A job runs; its end wakes the daemon. A pause, not a timing: the
      // loop only spares the CPU the job needs.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  bool NoneRunning() {
    auto status = ReadStatusFile(dir.Sub("state"));
    if (!status) return false;
    for (const JobStatus& js : status->jobs)
      if (js.running) return false;
    return true;
  }

  LastRun LastRunOf(const std::string& job) {
    auto status = ReadStatusFile(dir.Sub("state"));
    REQUIRE(status);
    for (const JobStatus& js : status->jobs)
      if (js.name == job && js.last_run) return *js.last_run;
    FAIL("no last run for " + job);
    return {};
  }
};

TEST_CASE("the daemon runs a job when the clock reaches its schedule, once",
          "[unit][agent_daemon]") {
  Fixture f;
  FakeClock clock(kT0);
  AgentDaemon daemon("", "", f.config, clock, f.log);
  int rc = -1;
  std::thread loop([&] { rc = daemon.Run(); });
  CHECK(clock.AwaitWaiter() == kT0 + 1800);  // waits for 02:30, runs nothing yet
  clock.Set(kT0 + 1800);
  CHECK(f.NextIdleWait(clock) == kT0 + 1800 + kDay);  // ran, waits for tomorrow
  LastRun run = f.LastRunOf("nightly");
  CHECK(run.outcome == "success");
  CHECK(run.started == kT0 + 1800);
  daemon.RequestStop();
  loop.join();
  CHECK(rc == 0);
}

TEST_CASE("a run missed while the agent was down is caught up once at start",
          "[unit][agent_daemon]") {
  Fixture f;
  // An earlier agent last ran the job two days ago; yesterday's was missed.
  AgentStatus before;
  before.since = kT0 - 10 * kDay;
  JobStatus js;
  js.name = "nightly";
  LastRun old;
  old.started = kT0 + 1800 - 2 * kDay;
  old.finished = old.started + 5;
  old.outcome = "success";
  js.last_run = old;
  before.jobs.push_back(js);
  REQUIRE(WriteStatusFile(f.dir.Sub("state"), before).ok());

  FakeClock clock(kT0);
  AgentDaemon daemon("", "", f.config, clock, f.log);
  std::thread loop([&] { (void)daemon.Run(); });
  // Caught up at once (not at 02:30), then it waits for today's 02:30.
  CHECK(f.NextIdleWait(clock) == kT0 + 1800);
  CHECK(f.LastRunOf("nightly").started == kT0);
  daemon.RequestStop();
  loop.join();
  auto after = ReadStatusFile(f.dir.Sub("state"));
  REQUIRE(after);
  CHECK(after->since == kT0 - 10 * kDay);  // `since` survives restarts
}

TEST_CASE("a job that failed for a reason that may pass is tried again before its next run",
          "[unit][agent_daemon]") {
  Fixture f;
  // The hook fails (exit 1, as for a vault that is down) until `ready` exists.
  const std::string ready = f.dir.Sub("ready");
  f.config.jobs[0].hooks.before = "test -e '" + ready + "'";
  FakeClock clock(kT0);
  AgentDaemon daemon("", "", f.config, clock, f.log);
  std::thread loop([&] { (void)daemon.Run(); });
  CHECK(clock.AwaitWaiter() == kT0 + 1800);
  clock.Set(kT0 + 1800);
  // Failed at 02:30: tried again 5 minutes later, then 10 minutes after that.
  CHECK(f.NextIdleWait(clock) == kT0 + 1800 + 300);
  LastRun failed = f.LastRunOf("nightly");
  CHECK(failed.outcome == "failure");
  CHECK(failed.exit_code == 1);
  CHECK(failed.failures_in_row == 1);
  clock.Set(kT0 + 1800 + 300);
  CHECK(f.NextIdleWait(clock) == kT0 + 1800 + 300 + 600);
  CHECK(f.LastRunOf("nightly").failures_in_row == 2);
  // The cause went away: the next retry succeeds, and the schedule resumes.
  testing::WriteFile(ready, "");
  clock.Set(kT0 + 1800 + 900);
  CHECK(f.NextIdleWait(clock) == kT0 + 1800 + kDay);
  LastRun ok = f.LastRunOf("nightly");
  CHECK(ok.outcome == "success");
  CHECK(ok.failures_in_row == 0);
  daemon.RequestStop();
  loop.join();
}

TEST_CASE("two jobs on one repository never run at the same time", "[unit][agent_daemon][tsan]") {
  Fixture f;
  // Each job's before hook holds a marker folder for a moment: if the two
  // ran at once, the second mkdir would fail and so would that job.
  const std::string marker = f.dir.Sub("busy");
  JobConfig first = f.config.jobs[0];
  first.hooks.before = "mkdir '" + marker + "' || exit 9; sleep 0.3; rmdir '" + marker + "'";
  JobConfig second = first;
  second.name = "second";
  f.config.jobs = {first, second};
  f.config.agent.max_parallel_jobs = 2;
  FakeClock clock(kT0);
  AgentDaemon daemon("", "", f.config, clock, f.log);
  std::thread loop([&] { (void)daemon.Run(); });
  CHECK(clock.AwaitWaiter() == kT0 + 1800);
  clock.Set(kT0 + 1800);
  CHECK(f.NextIdleWait(clock) == kT0 + 1800 + kDay);
  CHECK(f.LastRunOf("nightly").outcome == "success");
  CHECK(f.LastRunOf("second").outcome == "success");
  daemon.RequestStop();
  loop.join();
}

TEST_CASE("a run started by hand while the daemon runs is kept in its status",
          "[unit][agent_daemon][tsan]") {
  Fixture f;
  FakeClock clock(kT0);
  AgentDaemon daemon("", "", f.config, clock, f.log);
  std::thread loop([&] { (void)daemon.Run(); });
  CHECK(clock.AwaitWaiter() == kT0 + 1800);
  // What coffre-agent --run records, between two of the daemon's writes.
  JobStatus manual;
  manual.name = "nightly";
  LastRun run;
  run.started = kT0 + 60;
  run.finished = kT0 + 65;
  run.outcome = "failure";
  run.exit_code = 5;
  run.error = "wrong passphrase";
  run.trigger = "manual";
  manual.last_run = run;
  REQUIRE(RecordJobStatus(f.dir.Sub("state"), manual).ok());
  // The daemon's next write (a reload wakes it) keeps that run.
  daemon.RequestReload();
  (void)clock.AwaitWaiter();
  daemon.RequestStop();
  loop.join();
  LastRun kept = f.LastRunOf("nightly");
  CHECK(kept.trigger == "manual");
  CHECK(kept.exit_code == 5);
  CHECK(kept.started == kT0 + 60);
}

}  // namespace
}  // namespace coffre::daemon
