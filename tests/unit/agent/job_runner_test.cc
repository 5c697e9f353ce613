// One coffre-agent job run, in process on a local repository: a failing
// before hook aborts the job and the after hook hears why; a good run backs
// up, streams its dump, forgets and prunes; a failing dump command fails the
// job and saves no snapshot; later runs reuse the keys the first unlocked.
#include "agent/daemon/job_runner.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "agent/backup/archiver.h"
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

TEST_CASE("a job's retention never forgets snapshots made by hand or by another job",
          "[unit][job_runner]") {
  Fixture f;
  auto open = [&] {
    auto backend = repo::OpenBackend(f.job.repo);
    REQUIRE(backend);
    auto repo = repo::Repository::Open(std::move(*backend), AsBytes("pw"));
    REQUIRE(repo);
    return std::move(*repo);
  };
  std::filesystem::create_directories(f.dir.Sub("other"));
  testing::WriteFile(f.dir.Sub("other/x.txt"), "other data");
  // By hand: the job's very paths without the marker, other paths with a
  // tag, and a snapshot of the job's paths plus another.
  std::vector<std::string> outsiders;
  auto by_hand = [&](std::vector<std::string> paths, std::vector<std::string> tags) {
    auto repo = open();
    backup::BackupOptions o;
    o.paths = std::move(paths);
    o.tags = std::move(tags);
    auto result = backup::RunBackup(*repo, o);
    REQUIRE(result);
    outsiders.push_back(result->snapshot_id.Hex());
  };
  by_hand(f.job.paths, {});
  by_hand({f.dir.Sub("other")}, {"manual"});
  by_hand({f.dir.Sub("other")}, {"manual"});
  by_hand({f.job.paths[0], f.dir.Sub("other")}, {JobTag("test")});
  // Another job on the same repository with the same paths.
  JobConfig other = f.job;
  other.name = "other";
  for (int i = 0; i < 2; ++i) {
    LastRun run = RunJob(other, f.settings, f.log, nullptr);
    REQUIRE(run.outcome == "success");
    outsiders.push_back(run.snapshot);
  }

  // Own snapshots of this job: its marker, exactly its paths.
  auto own_and_left = [&](std::set<std::string>* left) {
    auto repo = open();
    auto list = repo->ListSnapshots();
    REQUIRE(list);
    size_t own = 0;
    for (const auto& l : *list) {
      left->insert(l.id.Hex());
      const auto& tags = l.snapshot.tags;
      if (std::find(tags.begin(), tags.end(), JobTag("test")) != tags.end() &&
          l.snapshot.paths == f.job.paths)
        ++own;
    }
    return own;
  };
  // The last policy keeps none of the job's snapshots (no snapshot has the
  // tag): even then, nothing else goes.
  std::vector<maintain::RetentionPolicy> policies(3);
  policies[0].keep_last = 1;
  policies[1].keep_daily = 2;
  policies[2].keep_tags = {"nothing-has-this"};
  const std::vector<size_t> own_after = {1, 1, 0};
  for (size_t p = 0; p < policies.size(); ++p) {
    RetentionConfig retention;
    retention.policy = policies[p];
    retention.prune = true;
    f.job.retention = retention;
    for (int run_no = 0; run_no < 3; ++run_no) {
      testing::WriteFile(f.dir.Sub("src/file.txt"), "edit " + std::to_string(p * 3 + run_no));
      LastRun run = RunJob(f.job, f.settings, f.log, nullptr);
      REQUIRE(run.outcome == "success");
    }
    std::set<std::string> left;
    CHECK(own_and_left(&left) == own_after[p]);
    for (const std::string& id : outsiders) CHECK(left.count(id) == 1);
  }
  // The data of the snapshots that stayed is all still there.
  auto repo = open();
  REQUIRE(repo->LoadIndex().ok());
  auto list = repo->ListSnapshots();
  REQUIRE(list);
  for (const auto& l : *list) CHECK(repo->LoadTree(l.snapshot.root));
}

TEST_CASE("a job's later runs reuse the keys its first run unlocked", "[unit][job_runner]") {
  Fixture f;
  UnlockedKeys unlocked;
  LastRun first = RunJob(f.job, f.settings, f.log, nullptr, nullptr, {}, &unlocked);
  REQUIRE(first.outcome == "success");
  CHECK(unlocked.reused() == 0);
  LastRun second = RunJob(f.job, f.settings, f.log, nullptr, nullptr, {}, &unlocked);
  REQUIRE(second.outcome == "success");
  CHECK(unlocked.reused() == 1);
  CHECK(f.Snapshots() == 2);
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
