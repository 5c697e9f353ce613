// Prune, in process on a LocalBackend: it deletes what no snapshot uses and
// repacks sparse packs; a plan waits for backups that began before it; a
// snapshot saved after the mark keeps its packs; a second prune is refused;
// a stale lock is removed and its run may not commit; and backups running
// while prune runs, many times over, lose nothing.
#include "agent/maintain/prune.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "agent/backup/archiver.h"
#include "agent/maintain/checker.h"
#include "agent/maintain/forget.h"
#include "agent/repo/repo_lock.h"
#include "agent/restore/restorer.h"
#include "core/storage/local_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre::maintain {
namespace {

namespace fs = std::filesystem;

// File name -> (seed, size): what a snapshot must give back.
using Contents = std::map<std::string, std::pair<uint64_t, size_t>>;

class Fixture {
 public:
  testing::TempDir dir;
  const std::string repo_path = dir.Sub("repo");

  Fixture() {
    auto backend = storage::LocalBackend::Create(repo_path);
    REQUIRE(backend);
    REQUIRE(repo::Repository::Init(std::move(*backend), AsBytes("pw"), testing::FastInitOptions()));
  }

  std::unique_ptr<repo::Repository> Open() {
    auto backend = storage::LocalBackend::Open(repo_path);
    REQUIRE(backend);
    auto r = repo::Repository::Open(std::move(*backend), AsBytes("pw"));
    REQUIRE(r);
    return std::move(*r);
  }

  // Makes `src` hold exactly `contents`.
  static void Fill(const std::string& src, const Contents& contents) {
    fs::remove_all(src);
    fs::create_directories(src);
    for (const auto& [name, spec] : contents) {
      Bytes data = testing::RandomBytes(spec.first, spec.second);
      std::ofstream out(src + "/" + name, std::ios::binary);
      out.write(reinterpret_cast<const char*>(data.data()),
                static_cast<std::streamsize>(data.size()));
    }
  }

  static Result<backup::BackupResult> Backup(repo::Repository& r, const std::string& src) {
    backup::BackupOptions o;
    o.paths = {src};
    o.host = "test-host";
    return backup::RunBackup(r, o);
  }

  // Restores `snapshot` and compares every file with `contents`.
  void ExpectRestores(repo::Repository& r, const format::Snapshot& snapshot, const std::string& src,
                      const Contents& contents) {
    testing::TempDir target;
    restore::RestoreOptions o;
    o.target = target.path();
    auto stats = restore::RunRestore(r, snapshot, o);
    REQUIRE(stats);
    CHECK(stats->damaged == 0);
    size_t files = 0;
    for (const auto& entry : fs::directory_iterator(target.path() + src)) {
      ++files;
      auto it = contents.find(entry.path().filename().string());
      REQUIRE(it != contents.end());
      std::ifstream in(entry.path(), std::ios::binary);
      std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      Bytes want = testing::RandomBytes(it->second.first, it->second.second);
      CHECK(got == std::string(want.begin(), want.end()));
    }
    CHECK(files == contents.size());
  }

  void ExpectCheckClean(repo::Repository& r) {
    CheckOptions o;
    o.read_data = true;
    std::vector<std::string> problems;
    o.report = [&](const std::string& line) { problems.push_back(line); };
    auto stats = RunCheck(r, o);
    REQUIRE(stats);
    INFO((problems.empty() ? "" : problems.front()));
    CHECK(stats->errors == 0);
  }

  size_t Count(const char* kind) const {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(repo_path + "/" + kind))
      n += e.is_regular_file() ? 1 : 0;
    return n;
  }

  void Forget(repo::Repository& r, const ObjectId& id) {
    REQUIRE(r.backend().Remove({storage::ObjectKind::kSnapshot, id.Hex()}).ok());
  }

  // Backs `contents` up from `src` and forgets that snapshot: its packs are
  // then unused, ready to be condemned.
  backup::BackupResult BackupAndForget(repo::Repository& r, const std::string& src,
                                       const Contents& contents) {
    Fill(src, contents);
    auto result = Backup(r, src);
    REQUIRE(result);
    Forget(r, result->snapshot_id);
    return std::move(*result);
  }
};

TEST_CASE("prune deletes the packs only forgotten snapshots used and keeps the rest",
          "[unit][prune]") {
  Fixture f;
  auto repo = f.Open();
  const std::string src = f.dir.Sub("src");
  const Contents first{{"a.bin", {1, 3'000'000}}};
  const Contents second{{"b.bin", {2, 3'000'000}}};
  Fixture::Fill(src, first);
  auto s1 = Fixture::Backup(*repo, src);
  REQUIRE(s1);
  Fixture::Fill(src, second);
  auto s2 = Fixture::Backup(*repo, src);
  REQUIRE(s2);
  const size_t packs_before = f.Count("data");
  f.Forget(*repo, s1->snapshot_id);

  auto stats = Prune(*repo, {});
  REQUIRE(stats);
  CHECK(stats->unused_packs >= 1);
  CHECK(stats->plans_swept == 1);
  CHECK(stats->plans_waiting == 0);
  CHECK(stats->deleted_packs == stats->unused_packs + stats->repacked_packs);
  CHECK(stats->deleted_bytes >= 3'000'000);
  CHECK(f.Count("data") < packs_before);
  CHECK(f.Count("locks") == 0);  // plan swept, prune lock released
  f.ExpectCheckClean(*repo);
  f.ExpectRestores(*repo, s2->snapshot, src, second);

  // Nothing left to do: a second prune changes nothing.
  auto again = Prune(*repo, {});
  REQUIRE(again);
  CHECK(again->deleted_packs == 0);
  CHECK(!again->plan);
}

TEST_CASE("prune repacks a pack whose used part is small and deletes the original",
          "[unit][prune]") {
  Fixture f;
  auto repo = f.Open();
  const std::string src = f.dir.Sub("src");
  const Contents both{{"keep.bin", {3, 500'000}}, {"drop.bin", {4, 2'000'000}}};
  const Contents kept{{"keep.bin", {3, 500'000}}};
  Fixture::Fill(src, both);
  auto s1 = Fixture::Backup(*repo, src);
  REQUIRE(s1);
  Fixture::Fill(src, kept);
  auto s2 = Fixture::Backup(*repo, src);
  REQUIRE(s2);
  f.Forget(*repo, s1->snapshot_id);

  PruneOptions dry;
  dry.dry_run = true;
  const size_t packs = f.Count("data");
  auto preview = Prune(*repo, dry);
  REQUIRE(preview);
  CHECK(preview->repacked_packs == 1);
  CHECK(f.Count("data") == packs);  // a dry run changes nothing
  CHECK(f.Count("locks") == 0);

  auto stats = Prune(*repo, {});
  REQUIRE(stats);
  CHECK(stats->repacked_packs == 1);
  CHECK(stats->repacked_blobs > 0);
  CHECK(stats->repacked_bytes < 1'000'000);
  CHECK(stats->deleted_bytes >= 2'000'000);
  f.ExpectCheckClean(*repo);
  f.ExpectRestores(*repo, s2->snapshot, src, kept);
}

TEST_CASE("a plan waits while a backup that began before it runs, and hides its packs",
          "[unit][prune][tsan]") {
  Fixture f;
  auto repo = f.Open();
  const std::string src = f.dir.Sub("src");
  const Contents data{{"a.bin", {5, 2'000'000}}};
  f.BackupAndForget(*repo, src, data);

  auto other = f.Open();
  auto running = repo::RepoLock::Acquire(*other, format::LockKind::kBackup);
  REQUIRE(running);
  const size_t packs = f.Count("data");
  auto marked = Prune(*repo, {});
  REQUIRE(marked);
  CHECK(marked->plan);
  CHECK(marked->plans_waiting == 1);
  CHECK(marked->deleted_packs == 0);
  CHECK(f.Count("data") == packs);

  // A backup starting now must not deduplicate against condemned packs.
  auto fresh = f.Open();
  REQUIRE(fresh->LoadIndex().ok());
  CHECK(!fresh->condemned().empty());
  for (const PackId& id : fresh->condemned()) CHECK(!fresh->index().HasPack(id));
  auto s2 = Fixture::Backup(*fresh, src);
  REQUIRE(s2);
  CHECK(s2->snapshot.stats.new_bytes >= 2'000'000);

  running->reset();  // the old backup ends
  auto swept = Prune(*repo, {});
  REQUIRE(swept);
  CHECK(swept->plans_swept == 1);
  CHECK(swept->deleted_packs >= 1);
  f.ExpectCheckClean(*repo);
  f.ExpectRestores(*repo, s2->snapshot, src, data);
}

TEST_CASE("a snapshot saved after the mark by an older backup keeps its condemned packs",
          "[unit][prune]") {
  Fixture f;
  auto repo = f.Open();
  const std::string src = f.dir.Sub("src");
  const Contents data{{"a.bin", {6, 2'000'000}}};
  backup::BackupResult s1 = f.BackupAndForget(*repo, src, data);

  // A backup that loaded the index before the prune deduplicated against
  // these packs and commits after the mark: the same snapshot, saved again.
  auto older = f.Open();
  auto running = repo::RepoLock::Acquire(*older, format::LockKind::kBackup);
  REQUIRE(running);
  auto marked = Prune(*repo, {});
  REQUIRE(marked);
  REQUIRE(marked->plans_waiting == 1);
  format::Snapshot late = s1.snapshot;
  late.time_ns += 1;
  auto late_id = older->SaveSnapshot(late);
  REQUIRE(late_id);
  running->reset();

  auto swept = Prune(*repo, {});
  REQUIRE(swept);
  CHECK(swept->plans_swept == 1);
  CHECK(swept->rescued_packs >= 1);
  f.ExpectCheckClean(*repo);
  auto reopened = f.Open();
  REQUIRE(reopened->LoadIndex().ok());
  CHECK(reopened->condemned().empty());
  f.ExpectRestores(*reopened, late, src, data);
}

TEST_CASE("a pack of small trees that are all used is never repacked", "[unit][prune]") {
  Fixture f;
  auto repo = f.Open();
  const std::string src = f.dir.Sub("src");
  // Many folders of one tiny file: tree blobs of a few dozen bytes each,
  // where the pack's header weighs as much as its blobs.
  for (int i = 0; i < 40; ++i) {
    fs::create_directories(src + "/d" + std::to_string(i));
    std::ofstream(src + "/d" + std::to_string(i) + "/x") << i;
  }
  REQUIRE(Fixture::Backup(*repo, src));
  for (int round = 0; round < 2; ++round) {
    auto stats = Prune(*f.Open(), {});
    REQUIRE(stats);
    CHECK(stats->repacked_packs == 0);
    CHECK(stats->deleted_packs == 0);
  }
}

TEST_CASE("a second prune is refused while one runs", "[unit][prune][tsan]") {
  Fixture f;
  auto repo = f.Open();
  auto other = f.Open();
  auto first = repo::RepoLock::Acquire(*other, format::LockKind::kPrune);
  REQUIRE(first);
  auto second = Prune(*repo, {});
  REQUIRE_FALSE(second);
  CHECK(second.error().code() == ErrorCode::kLocked);
  CHECK(f.Count("locks") == 1);  // the refused prune removed its own lock
}

TEST_CASE("prune removes a stale lock, and that run then may not commit", "[unit][prune]") {
  Fixture f;
  auto repo = f.Open();
  auto other = f.Open();
  auto stuck = repo::RepoLock::Acquire(*other, format::LockKind::kBackup);
  REQUIRE(stuck);
  REQUIRE((*stuck)->Check().ok());
  PruneOptions o;
  o.timing.stale_after = std::chrono::milliseconds(0);  // every lock looks old
  auto stats = Prune(*repo, o);
  REQUIRE(stats);
  CHECK(stats->stale_locks == 1);
  Status late = (*stuck)->Check();
  CHECK(late.code() == ErrorCode::kLocked);
}

TEST_CASE("a prune lock whose process died on this machine does not block the next prune",
          "[unit][prune]") {
  Fixture f;
  auto repo = f.Open();
  // A real process that takes a prune lock and dies without removing it
  // (kill -9, SIGPIPE): its lock is written from the child itself.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto mine = f.Open();
    auto held = repo::RepoLock::Acquire(*mine, format::LockKind::kPrune);
    if (!held) ::_exit(1);
    held->release();  // leaks: no destructor, the object stays in locks/
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(f.Count("locks") == 1);
  auto stats = Prune(*repo, {});  // 30 minutes of stale_after: only the pid says it
  REQUIRE(stats);
  // Taking its own lock, the prune removed the dead one.
  CHECK(f.Count("locks") == 0);
}

// Backups and prunes on their own Repository objects, as separate
// processes would be, interleaving freely. Each backup changes part of the
// data so packs become unused and sparse; prune keeps the last two
// snapshots. At the end every kept snapshot restores bit for bit and
// check --read-data finds nothing.
TEST_CASE("backups running while prune runs lose nothing, many times over", "[unit][prune][tsan]") {
  Fixture f;
  const std::string src = f.dir.Sub("src");
  constexpr int kRounds = 30;
  uint64_t deleted = 0;
  std::mutex mu;
  std::map<std::string, Contents> expected;  // snapshot id -> its contents
  std::atomic<bool> backups_done{false};
  std::vector<std::string> failures;
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> guard(mu);
    failures.push_back(what);
  };

  std::thread backups([&] {
    auto repo = f.Open();
    for (int round = 0; round < kRounds; ++round) {
      Contents contents;
      for (int k = 0; k < 4; ++k)  // half the files change every round
        contents["f" + std::to_string(k) + ".bin"] = {
            uint64_t(100 + round / 2 + k * (k % 2 ? round : 1)), size_t(150'000 + 10'000 * k)};
      Fixture::Fill(src, contents);
      auto result = Fixture::Backup(*repo, src);
      if (!result) {
        fail("backup: " + result.error().message());
        continue;
      }
      std::lock_guard<std::mutex> guard(mu);
      expected[result->snapshot_id.Hex()] = contents;
    }
    backups_done = true;
  });
  std::thread prunes([&] {
    auto repo = f.Open();
    PruneOptions o;
    o.clock_skew = std::chrono::nanoseconds(0);  // one clock: test the tightest case
    o.repack_below = 0.9;
    int runs = 0;
    while (!backups_done || runs < 2) {
      ForgetOptions forget;
      forget.policy.keep_last = 2;
      auto forgot = Forget(*repo, forget);
      if (!forgot && forgot.error().code() != ErrorCode::kInvalidArgument)
        fail("forget: " + forgot.error().message());
      auto pruned = Prune(*repo, o);
      if (!pruned) fail("prune: " + pruned.error().message());
      if (pruned) deleted += pruned->deleted_packs;
      ++runs;
    }
  });
  backups.join();
  prunes.join();
  for (const std::string& failure : failures) FAIL_CHECK(failure);
  CHECK(deleted > 0);  // the prunes did delete while backups ran

  auto repo = f.Open();
  ForgetOptions forget;
  forget.policy.keep_last = 2;
  REQUIRE(Forget(*repo, forget));
  REQUIRE(Prune(*repo, {}));
  f.ExpectCheckClean(*repo);
  auto snapshots = repo->ListSnapshots();
  REQUIRE(snapshots);
  CHECK(snapshots->size() == 2);
  for (const repo::SnapshotListing& listing : *snapshots) {
    auto it = expected.find(listing.id.Hex());
    REQUIRE(it != expected.end());
    f.ExpectRestores(*repo, listing.snapshot, src, it->second);
  }
}

}  // namespace
}  // namespace coffre::maintain
