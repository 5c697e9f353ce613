// One coffre-agent job run, in process on a local repository: a failing
// before hook aborts the job and the after hook hears why; a good run backs
// up, streams its dump, forgets and prunes; a failing dump command fails the
// job and saves no snapshot.
#include "agent/daemon/job_runner.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/repo/open_backend.h"
#include "agent/util/priority.h"
#include "tests/support/local_job.h"

namespace coffre::daemon {
namespace {

struct Fixture {
  testing::TempDir dir;
  JobConfig job;  // after dir: made in it
  AgentSettings settings;
  AgentLog log{LogLevel::kError, false};

  Fixture() : job(testing::MakeLocalJob(dir, "test")) {}

  size_t Snapshots() {
    auto backend = repo::OpenBackend(job.repo);
    REQUIRE(backend);
    auto repo = repo::Repository::Open(std::move(*backend), AsBytes("pw"));
    REQUIRE(repo);
    auto list = (*repo)->ListSnapshots();
    REQUIRE(list);
    return list->size();
  }

  std::string AfterHookEnv() {
    job.hooks.after = "env | grep ^COFFRE_ | sort >'" + dir.Sub("after.env") + "'";
    return dir.Sub("after.env");
  }
};

TEST_CASE("a failing before hook aborts the job and the after hook hears why",
          "[unit][job_runner]") {
  Fixture f;
  f.job.hooks.before = "echo not now; exit 3";
  std::string env = f.AfterHookEnv();
  LastRun run = RunJob(f.job, f.settings, f.log, nullptr);
  CHECK(run.outcome == "failure");
  CHECK(run.exit_code == 1);
  CHECK(run.error.find("before hook exited with 3") != std::string::npos);
  CHECK(run.snapshot.empty());
  std::string seen = testing::ReadFile(env);
  CHECK(seen.find("COFFRE_OUTCOME=failure") != std::string::npos);
  CHECK(seen.find("COFFRE_JOB=test") != std::string::npos);
  CHECK(seen.find("COFFRE_PHASE=after") != std::string::npos);
  CHECK(seen.find("COFFRE_ERROR=before hook exited with 3") != std::string::npos);
  CHECK(f.Snapshots() == 0);
}

TEST_CASE("a job backs up with its dump, then forgets and prunes by its retention",
          "[unit][job_runner]") {
  Fixture f;
  f.job.dumps = {{"/dumps/generated.txt", "yes coffre | head -n 200000"}};
  RetentionConfig retention;
  retention.policy.keep_last = 1;
  retention.prune = true;
  f.job.retention = retention;
  std::string env = f.AfterHookEnv();
  LastRun first = RunJob(f.job, f.settings, f.log, nullptr);
  REQUIRE(first.outcome == "success");
  CHECK(first.exit_code == 0);
  CHECK(first.bytes == 13 + 200000 * 7);  // the file and the dump's bytes
  testing::WriteFile(f.dir.Sub("src/file.txt"), "newer business data");
  LastRun second = RunJob(f.job, f.settings, f.log, nullptr);
  REQUIRE(second.outcome == "success");
  CHECK(second.snapshot != first.snapshot);
  CHECK(f.Snapshots() == 1);  // keep_last 1
  std::string seen = testing::ReadFile(env);
  CHECK(seen.find("COFFRE_OUTCOME=success") != std::string::npos);
  CHECK(seen.find("COFFRE_SNAPSHOT=" + second.snapshot) != std::string::npos);
  CHECK(seen.find("COFFRE_EXIT_CODE=0") != std::string::npos);
}

TEST_CASE("a dump command that fails fails the job and saves no snapshot", "[unit][job_runner]") {
  Fixture f;
  f.job.dumps = {{"/dumps/broken.sql", "echo partial; exit 4"}};
  LastRun run = RunJob(f.job, f.settings, f.log, nullptr);
  CHECK(run.outcome == "failure");
  CHECK(run.exit_code != 0);
  CHECK(run.error.find("4") != std::string::npos);
  CHECK(f.Snapshots() == 0);
}

TEST_CASE("a job runs at the agent's nice value, its hooks too, and the caller's stays",
          "[unit][job_runner]") {
  Fixture f;
  f.settings.nice = 7;
  const std::string seen = f.dir.Sub("nice");
  f.job.hooks.before = "awk '{print $19}' /proc/self/stat >'" + seen + "'";
  const int before = GetCpuNice();
  LastRun run;
  std::thread job([&] { run = RunJob(f.job, f.settings, f.log, nullptr); });
  job.join();
  CHECK(run.outcome == "success");
  CHECK(testing::ReadFile(seen) == "7\n");
  CHECK(GetCpuNice() == before);  // only the job's thread was reniced
}

TEST_CASE("a wrong passphrase file fails the job with the auth exit code", "[unit][job_runner]") {
  Fixture f;
  testing::WriteFile(f.dir.Sub("passphrase"), "wrong\n");
  LastRun run = RunJob(f.job, f.settings, f.log, nullptr);
  CHECK(run.outcome == "failure");
  CHECK(run.exit_code == 5);
}

}  // namespace
}  // namespace coffre::daemon
