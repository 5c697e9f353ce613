// Seeded fault loops: backup, forget, prune, restore and check run through a
// FaultInjectingBackend whose FaultPlan (core/storage/fault_plan.h) fails,
// shortens, tears and slows random calls. Whatever the faults, once they
// are cleared every snapshot that exists restores bit for bit the tree it
// was taken of, `check --read-data` finds nothing wrong but the objects a
// torn write left, and a new backup works; while they last, an operation
// either fails with an error that says what failed, or its result is right
// (a restore that reports no damage wrote exactly the snapshot's tree).
//
// Each iteration is one seed: seeds are COFFRE_FAULT_SEED, +1, +2, ... (a
// random base from std::random_device when unset), and there are
// COFFRE_FAULT_ITERATIONS of them (default 12, a few seconds in Debug).
// Every failure prints its seed; to replay one:
//   COFFRE_FAULT_SEED=<seed> COFFRE_FAULT_ITERATIONS=1
//     build-dev/tests/coffre_unit_tests "[fault_loop]"   (one command line)
// COFFRE_FAULT_LOG=1 also prints every fault each seed injected. The
// faults fall on the same call numbers again; the calls that threads
// make at once (blob saver, restore workers) may come in another order, so
// a rare failure may need a few runs of its seed.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/backup/archiver.h"
#include "agent/maintain/checker.h"
#include "agent/maintain/forget.h"
#include "agent/maintain/prune.h"
#include "agent/restore/restorer.h"
#include "core/storage/fault_backend.h"
#include "core/storage/memory_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre {
namespace {

namespace fs = std::filesystem;
using storage::FaultInjectingBackend;
using storage::FaultPlan;

// Relative path -> content; folders map to "<dir>".
using TreeContents = std::map<std::string, std::string>;

constexpr const char* kDirMark = "<dir>";

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  if (!value || !*value) return fallback;
  return std::strtoull(value, nullptr, 10);
}

TreeContents ReadTree(const std::string& root) {
  TreeContents out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string rel = fs::relative(e.path(), root).string();
    if (e.is_directory()) {
      out[rel] = kDirMark;
    } else {
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      out[rel] = ss.str();
    }
  }
  return out;
}

void WriteBytes(const std::string& path, const Bytes& data) {
  // Through a new file and a rename, so each version is a new inode and the
  // backup's change cache cannot take it for the old one.
  const std::string tmp = path + ".new";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    REQUIRE(out.good());
  }
  fs::rename(tmp, path);
}

// Tells the repository the backend wants read-ahead, so restores and checks
// also take Repository::ReadSealed's read-ahead path, as over a vault.
class ReadAheadBackend : public storage::BackendWrapper {
 public:
  ReadAheadBackend(std::shared_ptr<Backend> base, uint64_t ahead)
      : BackendWrapper(std::move(base)), ahead_(ahead) {}
  uint64_t ReadAheadBytes() const override { return ahead_; }

 private:
  const uint64_t ahead_;
};

// One seed's world: a repository in memory behind the faults, a source tree
// that changes between rounds, and what each backup attempt saw.
class Loop {
 public:
  explicit Loop(uint64_t seed) : seed_(seed), rng_(seed) {
    ahead_ = (seed % 2) ? 128 * 1024 : 0;
    auto r = repo::Repository::Init(Wrap(), AsBytes("pw"), testing::FastInitOptions());
    REQUIRE(r);
    fs::create_directories(src_ + "/sub");
    for (int i = 0; i < 5; ++i) AddFile();
  }

  FaultInjectingBackend& faults() { return *faults_; }

  // Sets this round's plan: each seed has its own rate, so some seeds see
  // a fault now and then, others in almost every operation.
  void StartFaults(int round) {
    const double rates[] = {0.002, 0.01, 0.03};
    const double rate = rates[seed_ % 3];
    FaultPlan plan;
    plan.seed = seed_ * 1000 + static_cast<uint64_t>(round);
    plan.error = rate;
    plan.lost_answer = rate / 2;
    plan.short_read = rate;
    plan.torn_write = rate / 2;
    plan.no_space = rate / 4;
    plan.slow = 0.02;
    plan.max_delay = std::chrono::microseconds(300);
    faults_->SetPlan(plan);
  }

  // Changes the source tree a little: new files, new versions, deletions,
  // a copy (deduplicated), a new folder.
  void Mutate() {
    const int changes = 1 + static_cast<int>(rng_() % 3);
    for (int i = 0; i < changes; ++i) {
      std::vector<std::string> files;
      for (const auto& [rel, content] : ReadTree(src_))
        if (content != kDirMark) files.push_back(rel);
      const uint64_t action = rng_() % 5;
      if (files.empty() || action == 0) {
        AddFile();
      } else if (action == 1 || action == 2) {
        WriteBytes(src_ + "/" + files[rng_() % files.size()], RandomContent());
      } else if (action == 3) {
        fs::remove(src_ + "/" + files[rng_() % files.size()]);
      } else {
        const std::string from = src_ + "/" + files[rng_() % files.size()];
        const std::string dir = src_ + "/d" + std::to_string(rng_() % 3);
        fs::create_directories(dir);
        fs::copy_file(from, dir + "/copy" + std::to_string(next_file_++));
      }
    }
  }

  // A backup attempt, tagged so that a snapshot it saved can be told apart
  // even if the backup then reported failure (its answer lost).
  // Returns whether it succeeded.
  bool Backup() {
    const std::string tag = "attempt-" + std::to_string(++attempts_);
    expected_[tag] = ReadTree(src_);
    auto repo = Open();
    if (!repo) return false;
    backup::BackupOptions o;
    o.paths = {src_};
    o.host = "fault-loop";
    o.tags = {tag};
    auto result = backup::RunBackup(**repo, o);
    if (!result) {
      ExpectClear(result.error(), "backup");
      return false;
    }
    CHECK(result->snapshot.stats.errors == 0);
    return true;
  }

  void Forget() {
    auto repo = Open();
    if (!repo) return;
    maintain::ForgetOptions o;
    o.policy.keep_last = 1 + static_cast<int>(rng_() % 3);
    auto report = maintain::Forget(**repo, o);
    if (!report) ExpectClear(report.error(), "forget");
  }

  void Prune() {
    auto repo = Open();
    if (!repo) return;
    maintain::PruneOptions o;
    o.repack_below = 0.5;
    auto stats = maintain::Prune(**repo, o);
    // kLocked: an earlier prune's lock whose removal failed; this process
    // still runs, so it only goes stale with time. Refusing is right.
    if (!stats) ExpectClear(stats.error(), "prune");
  }

  // Restores one snapshot, faults and all: it may fail or report damage,
  // but if it says all is well the tree must be exactly the snapshot's.
  void Restore() {
    auto repo = Open();
    if (!repo) return;
    std::vector<repo::DamagedSnapshot> damaged;
    auto snapshots = (*repo)->ListSnapshots(&damaged);
    if (!snapshots) return ExpectClear(snapshots.error(), "list snapshots");
    if (snapshots->empty()) return;
    const repo::SnapshotListing& pick = (*snapshots)[rng_() % snapshots->size()];
    RestoreAndCompare(**repo, pick, /*faults_on=*/true);
  }

  void Check() {
    auto repo = Open();
    if (!repo) return;
    maintain::CheckOptions o;
    o.read_data = true;
    auto stats = maintain::RunCheck(**repo, o);
    if (!stats) ExpectClear(stats.error(), "check");
  }

  // With the faults gone: the invariant.
  void Verify() {
    faults_->ClearFaults();
    INFO(RecentFaults());
    const std::vector<std::string> torn = faults_->TornObjects();
    auto opened = repo::Repository::Open(Wrap(), AsBytes("pw"));
    REQUIRE(opened);
    repo::Repository& repo = **opened;

    std::vector<repo::DamagedSnapshot> damaged;
    auto snapshots = repo.ListSnapshots(&damaged);
    REQUIRE(snapshots);
    for (const auto& d : damaged) {
      INFO("damaged snapshot " << d.id.Hex() << ": " << d.error.message());
      CHECK(NamesTorn(d.id.Hex(), torn));
    }
    for (const auto& s : *snapshots) RestoreAndCompare(repo, s, /*faults_on=*/false);

    std::vector<std::string> reports;
    maintain::CheckOptions o;
    o.read_data = true;
    o.report = [&](const std::string& line) { reports.push_back(line); };
    auto stats = maintain::RunCheck(repo, o);
    REQUIRE(stats);
    CHECK(stats->errors == reports.size());
    for (const std::string& line : reports) {
      INFO("check reports: " << line);
      CHECK(NamesTorn(line, torn));
    }

    // The repository is still usable: a new backup restores exactly.
    Mutate();
    REQUIRE(Backup());
    auto after = Open();
    REQUIRE(after);
    auto latest = (*after)->FindSnapshot("latest", &damaged);
    REQUIRE(latest);
    CHECK(latest->snapshot.tags == std::vector<std::string>{"attempt-" + std::to_string(attempts_)});
    RestoreAndCompare(**after, *latest, /*faults_on=*/false);
  }

  // The last faults injected, for failure messages.
  std::string RecentFaults(size_t count = 15) const {
    std::vector<std::string> log = faults_->InjectedLog();
    std::string out = "last failure: " + last_error_ + "\n" +
                      std::to_string(faults_->InjectedFaults()) + " faults injected; last ones:";
    for (size_t i = log.size() > count ? log.size() - count : 0; i < log.size(); ++i)
      out += "\n  " + log[i];
    return out;
  }

 private:
  std::unique_ptr<storage::Backend> Wrap() {
    return std::make_unique<ReadAheadBackend>(faults_, ahead_);
  }

  // A fresh Repository, as the next process would open it; under faults,
  // failing to open is fine if it says why.
  Result<std::unique_ptr<repo::Repository>> Open() {
    auto r = repo::Repository::Open(Wrap(), AsBytes("pw"));
    if (!r) ExpectClear(r.error(), "open");
    return r;
  }

  void ExpectClear(const Status& s, const char* what) {
    last_error_ = std::string(what) + " failed: " + s.ToString();
    INFO(last_error_);
    CHECK_FALSE(s.ok());
    CHECK_FALSE(s.message().empty());
  }

  // Whether `text` (a report line, a snapshot id) names an object a torn
  // write left.
  static bool NamesTorn(const std::string& text, const std::vector<std::string>& torn) {
    for (const std::string& object : torn) {
      const std::string name = object.substr(object.find('/') + 1);
      if (text.find(name) != std::string::npos) return true;
    }
    return false;
  }

  void RestoreAndCompare(repo::Repository& repo, const repo::SnapshotListing& s, bool faults_on) {
    INFO("snapshot " << s.id.Hex() << (faults_on ? " restored under faults" : " restored"));
    REQUIRE(s.snapshot.tags.size() == 1);
    auto expected = expected_.find(s.snapshot.tags[0]);
    REQUIRE(expected != expected_.end());
    testing::TempDir out;
    std::vector<std::string> warnings;
    restore::RestoreOptions o;
    o.target = out.path();
    o.threads = 2;
    o.warn = [&](const std::string& line) { warnings.push_back(line); };
    auto stats = restore::RunRestore(repo, s.snapshot, o);
    if (faults_on) {
      if (!stats) return ExpectClear(stats.error(), "restore");
      if (stats->damaged || stats->problems) {
        CHECK_FALSE(warnings.empty());
        return;
      }
    } else {
      REQUIRE(stats);
      INFO("first warning: " << (warnings.empty() ? "" : warnings[0]));
      CHECK(stats->damaged == 0);
      CHECK(stats->problems == 0);
    }
    // Restored with no damage reported: it must be bit for bit the tree.
    const TreeContents got = ReadTree(out.path() + src_);
    CHECK(got.size() == expected->second.size());
    for (const auto& [rel, content] : expected->second) {
      INFO("path " << rel);
      auto it = got.find(rel);
      REQUIRE(it != got.end());
      CHECK((it->second == content));
    }
  }

  Bytes RandomContent() {
    const size_t size = rng_() % 4 == 0 ? rng_() % 100 : rng_() % (200 * 1024);
    return rng_() % 2 ? testing::RandomBytes(rng_(), size) : testing::CompressibleBytes(rng_(), size);
  }

  void AddFile() {
    const std::string dir = rng_() % 2 ? "" : "sub/";
    WriteBytes(src_ + "/" + dir + "f" + std::to_string(next_file_++), RandomContent());
  }

  const uint64_t seed_;
  std::mt19937_64 rng_;
  uint64_t ahead_ = 0;
  std::shared_ptr<storage::MemoryBackend> memory_ = std::make_shared<storage::MemoryBackend>();
  std::shared_ptr<FaultInjectingBackend> faults_ = std::make_shared<FaultInjectingBackend>(memory_);
  testing::TempDir dir_;
  const std::string src_ = dir_.Sub("src");
  int next_file_ = 0;
  int attempts_ = 0;
  std::string last_error_;  // the last operation that failed, and why
  std::map<std::string, TreeContents> expected_;  // by the attempt's tag
};

TEST_CASE("under seeded storage faults no snapshot is lost or restores wrong",
          "[unit][fault_loop]") {
  const uint64_t base = EnvNumber("COFFRE_FAULT_SEED", std::random_device{}() |
                                                          (uint64_t{std::random_device{}()} << 32));
  const uint64_t iterations = EnvNumber("COFFRE_FAULT_ITERATIONS", 12);
  for (uint64_t i = 0; i < iterations; ++i) {
    const uint64_t seed = base + i;
    INFO("seed " << seed << " (replay: COFFRE_FAULT_SEED=" << seed
                 << " COFFRE_FAULT_ITERATIONS=1 coffre_unit_tests \"[fault_loop]\")");
    Loop loop(seed);
    std::mt19937_64 steps(seed);
    for (int round = 0; round < 4; ++round) {
      loop.StartFaults(round);
      loop.Mutate();
      loop.Backup();
      if (steps() % 2) loop.Forget();
      if (steps() % 2) loop.Prune();
      loop.Restore();
      if (steps() % 3 == 0) loop.Check();
    }
    if (std::getenv("COFFRE_FAULT_LOG")) WARN("seed " << seed << ": " << loop.RecentFaults(1000));
    loop.Verify();
  }
}

}  // namespace
}  // namespace coffre
