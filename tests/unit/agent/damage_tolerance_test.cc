// Damage never blocks what is still intact, on a LocalBackend: a damaged
// snapshot is skipped by listings and "latest", forgotten by id, and holds
// prune up until it is; a damaged index object does not stop a restore or a
// check, which read the packs' own headers; a damaged key slot is named as
// damaged, and the other slots still open; a read lock that cannot be
// written (a full disk) does not stop a restore; locks and temporary files
// of dead runs are removed by the next run.
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/backup/archiver.h"
#include "agent/maintain/checker.h"
#include "agent/maintain/forget.h"
#include "agent/maintain/prune.h"
#include "agent/repo/repo_lock.h"
#include "agent/restore/restorer.h"
#include "core/storage/fault_backend.h"
#include "core/storage/local_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/local_repo.h"
#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre {
namespace {

namespace fs = std::filesystem;

using testing::FilesUnder;
using testing::FlipByte;

Bytes ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

class Fixture : public testing::LocalRepo {
 public:
  const std::string src = dir.Sub("src");

  Fixture() { fs::create_directories(src); }

  using LocalRepo::Open;
  // With `base`: the repository sees the storage through a fault injector.
  std::unique_ptr<repo::Repository> Open(std::shared_ptr<storage::Backend>* base) {
    auto backend = storage::LocalBackend::Open(repo_path);
    REQUIRE(backend);
    std::unique_ptr<storage::Backend> top = std::move(*backend);
    if (base) {
      *base = std::shared_ptr<storage::Backend>(std::move(top));
      top = std::make_unique<storage::FaultInjectingBackend>(*base);
    }
    auto r = repo::Repository::Open(std::move(top), AsBytes("pw"));
    REQUIRE(r);
    return std::move(*r);
  }

  // Writes file `name` of `size` random bytes from `seed` and backs up.
  ObjectId BackUp(const std::string& name, uint64_t seed, size_t size) {
    Bytes data = testing::RandomBytes(seed, size);
    std::ofstream(src + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    auto repo = Open();
    backup::BackupOptions o;
    o.paths = {src};
    o.host = "test-host";
    auto result = backup::RunBackup(*repo, o);
    REQUIRE(result);
    return result->snapshot_id;
  }

  // Restores `snapshot` and says whether every file of src came back.
  void ExpectRestoresSource(repo::Repository& repo, const format::Snapshot& snapshot) {
    testing::TempDir target;
    restore::RestoreOptions o;
    o.target = target.path();
    auto stats = restore::RunRestore(repo, snapshot, o);
    REQUIRE(stats);
    CHECK(stats->damaged == 0);
    for (const auto& e : fs::directory_iterator(src))
      CHECK(ReadAll(e.path()) == ReadAll(target.path() + src + "/" + e.path().filename().string()));
  }
};

TEST_CASE("a damaged snapshot is skipped, named, forgotten by id, and holds prune up until then",
          "[unit][damage]") {
  Fixture f;
  const ObjectId oldest = f.BackUp("a", 1, 100000);
  const ObjectId newest = f.BackUp("b", 2, 100000);
  FlipByte(fs::path(f.repo_path) / "snapshots" / oldest.Hex());

  auto repo = f.Open();
  CHECK_FALSE(repo->ListSnapshots());  // without a place for damage: an error
  std::vector<repo::DamagedSnapshot> damaged;
  auto listed = repo->ListSnapshots(&damaged);
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().id == newest);
  REQUIRE(damaged.size() == 1);
  CHECK(damaged[0].id == oldest);
  CHECK(damaged[0].error.code() == ErrorCode::kCorruption);

  damaged.clear();
  auto latest = repo->FindSnapshot("latest", &damaged);
  REQUIRE(latest);
  CHECK(latest->id == newest);
  f.ExpectRestoresSource(*repo, latest->snapshot);

  // Prune would delete what only the damaged snapshot uses: it refuses.
  auto pruned = maintain::Prune(*repo, {});
  REQUIRE_FALSE(pruned);
  CHECK(pruned.error().code() == ErrorCode::kCorruption);
  CHECK_THAT(pruned.error().message(), Catch::Contains(oldest.Hex()));

  // Rules do not judge it; naming it removes it.
  maintain::ForgetOptions by_rule;
  by_rule.policy.keep_last = 1;
  auto ruled = maintain::Forget(*repo, by_rule);
  REQUIRE(ruled);
  CHECK(ruled->removed == 0);
  REQUIRE(ruled->damaged.size() == 1);
  maintain::ForgetOptions named;
  named.snapshots = {oldest.Hex().substr(0, 8)};
  auto forgot = maintain::Forget(*repo, named);
  REQUIRE(forgot);
  CHECK(forgot->removed == 1);
  CHECK_FALSE(fs::exists(fs::path(f.repo_path) / "snapshots" / oldest.Hex()));

  REQUIRE(maintain::Prune(*repo, {}));
  f.ExpectRestoresSource(*repo, latest->snapshot);
}

TEST_CASE("with every snapshot damaged, latest says so", "[unit][damage]") {
  Fixture f;
  const ObjectId only = f.BackUp("a", 3, 1000);
  FlipByte(fs::path(f.repo_path) / "snapshots" / only.Hex());
  auto repo = f.Open();
  std::vector<repo::DamagedSnapshot> damaged;
  auto latest = repo->FindSnapshot("latest", &damaged);
  REQUIRE_FALSE(latest);
  CHECK(latest.error().code() == ErrorCode::kNotFound);
  CHECK_THAT(latest.error().message(), Catch::Contains("1 damaged"));
}

TEST_CASE("a damaged index object does not stop restore or check: pack headers stand in",
          "[unit][damage]") {
  Fixture f;
  f.BackUp("a", 4, 3 << 20);
  const ObjectId snap = f.BackUp("b", 5, 2 << 20);
  for (const fs::path& index : FilesUnder(fs::path(f.repo_path) / "index")) FlipByte(index);

  auto repo = f.Open();
  auto snapshot = repo->LoadSnapshot(snap);
  REQUIRE(snapshot);
  f.ExpectRestoresSource(*repo, *snapshot);

  auto checker_repo = f.Open();
  std::vector<std::string> problems;
  maintain::CheckOptions o;
  o.read_data = true;
  o.report = [&](const std::string& line) { problems.push_back(line); };
  auto stats = maintain::RunCheck(*checker_repo, o);
  REQUIRE(stats);
  // The damaged index objects are named, and nothing else is wrong: every
  // blob the trees need was found in the packs themselves.
  CHECK(stats->unindexed_packs > 0);
  REQUIRE_FALSE(problems.empty());
  for (const std::string& line : problems) CHECK_THAT(line, Catch::StartsWith("index "));
}

TEST_CASE("a damaged key slot is named as damaged, and other slots still open",
          "[unit][damage]") {
  Fixture f;
  {
    auto repo = f.Open();
    REQUIRE(repo->AddKey(AsBytes("second"), "second", testing::FastInitOptions().kdf));
  }
  // The slot "pw" opened with is the oldest; damage it.
  auto repo = f.Open();
  const ObjectId pw_slot = repo->key_in_use();
  repo.reset();
  FlipByte(fs::path(f.repo_path) / "keys" / pw_slot.Hex());

  auto backend = storage::LocalBackend::Open(f.repo_path);
  REQUIRE(backend);
  auto opened = repo::Repository::Open(std::move(*backend), AsBytes("pw"));
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code() == ErrorCode::kCorruption);
  CHECK_THAT(opened.error().message(), Catch::Contains("damaged"));
  CHECK_THAT(opened.error().message(), Catch::Contains(pw_slot.Hex().substr(0, 8)));

  backend = storage::LocalBackend::Open(f.repo_path);
  REQUIRE(backend);
  CHECK(repo::Repository::Open(std::move(*backend), AsBytes("second")));
}

TEST_CASE("a restore and a check go on when no read lock can be written (full disk)",
          "[unit][damage]") {
  Fixture f;
  const ObjectId snap = f.BackUp("a", 6, 500000);
  std::shared_ptr<storage::Backend> base;
  auto repo = f.Open(&base);
  auto* faults = dynamic_cast<storage::FaultInjectingBackend*>(&repo->backend());
  REQUIRE(faults);
  faults->FailEveryCall(storage::FaultInjectingBackend::Op::kSave, NoSpaceError("disk full"));
  auto snapshot = repo->LoadSnapshot(snap);
  REQUIRE(snapshot);
  f.ExpectRestoresSource(*repo, *snapshot);

  std::vector<std::string> notes, problems;
  maintain::CheckOptions o;
  o.note = [&](const std::string& line) { notes.push_back(line); };
  o.report = [&](const std::string& line) { problems.push_back(line); };
  auto stats = maintain::RunCheck(*repo, o);
  REQUIRE(stats);
  CHECK(problems.empty());
  REQUIRE_FALSE(notes.empty());
  CHECK_THAT(notes[0], Catch::Contains("without a read lock"));
}

TEST_CASE("a run removes the locks that runs killed on this machine left", "[unit][damage]") {
  Fixture f;
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto mine = f.Open();
    auto held = repo::RepoLock::Acquire(*mine, format::LockKind::kBackup);
    if (!held) ::_exit(1);
    held->release();  // as kill -9 would: the object stays in locks/
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(FilesUnder(fs::path(f.repo_path) / "locks").size() == 1);

  auto repo = f.Open();
  auto live = repo::RepoLock::Acquire(*repo, format::LockKind::kRead);
  REQUIRE(live);
  // Only this run's own lock is left.
  auto locks = FilesUnder(fs::path(f.repo_path) / "locks");
  REQUIRE(locks.size() == 1);
  auto records = repo->ListLockRecords();
  REQUIRE(records);
  REQUIRE(records->size() == 1);
  CHECK(std::get<format::Lock>(records->front().record).pid == static_cast<uint32_t>(::getpid()));
}

TEST_CASE("opening a local repository removes temporary files no live writer holds",
          "[unit][damage]") {
  Fixture f;
  const fs::path tmp = fs::path(f.repo_path) / "tmp";
  const fs::path dead = tmp / "dead-writer";
  const fs::path live = tmp / "live-writer";
  const fs::path fresh = tmp / "just-created";
  for (const fs::path& p : {dead, live, fresh}) std::ofstream(p) << "partial pack";
  // Older than the grace period for a file just created and not yet locked.
  const auto old = fs::file_time_type::clock::now() - std::chrono::minutes(1);
  fs::last_write_time(dead, old);
  fs::last_write_time(live, old);
  // A writer that still runs holds its file locked (another descriptor of
  // this process stands for it: flock locks belong to the open file).
  int fd = ::open(live.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);

  REQUIRE(storage::LocalBackend::Open(f.repo_path));
  CHECK_FALSE(fs::exists(dead));
  CHECK(fs::exists(live));
  CHECK(fs::exists(fresh));
  ::close(fd);
}

}  // namespace
}  // namespace coffre
