// Backup and restore end to end, in process, on a LocalBackend: a real source
// tree comes back bit for bit with its metadata; an unchanged tree is not
// read again; a damaged pack is named and spares the other files; a
// cancelled backup leaves packs the next one reuses.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/backup/archiver.h"
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
using testing::TempDir;

void WriteBytes(const std::string& path, ByteView data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
}

void SetTimes(const std::string& path, int64_t mtime_ns) {
  timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = mtime_ns / 1'000'000'000;
  ts[0].tv_nsec = ts[1].tv_nsec = mtime_ns % 1'000'000'000;
  REQUIRE(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

constexpr off_t kSparseSize = 8 << 20;

// The source tree: files of several sizes (random and compressible), nested
// folders, a symlink, a hard-link pair, an empty file, a sparse file, a
// FIFO; odd modes and
// nanosecond mtimes everywhere. Returns the bytes of file data it holds.
uint64_t MakeSourceTree(const std::string& src) {
  struct File {
    const char* path;
    size_t size;
    bool text;
    mode_t mode;
  };
  const File files[] = {
      {"big.bin", 1'500'000, false, 0644},     {"medium.bin", 200'000, false, 0600},
      {"small.txt", 100, true, 0444},          {"text.log", 500'000, true, 0640},
      {"empty", 0, false, 0600},               {"dir1/a.bin", 600'000, false, 0755},
      {"dir1/nested/c.txt", 20'000, true, 0644}, {"dir1/nested/deep/b.bin", 300'000, false, 0604},
      {"dir2/x.bin", 50'000, false, 0644},     {"hard1", 400'000, false, 0640},
  };
  fs::create_directories(src + "/dir1/nested/deep");
  fs::create_directories(src + "/dir2");
  uint64_t total = 0;
  uint64_t seed = 1;
  for (const File& f : files) {
    std::string path = src + "/" + f.path;
    Bytes data = f.text ? testing::CompressibleBytes(seed, f.size) : testing::RandomBytes(seed, f.size);
    ++seed;
    WriteBytes(path, data);
    REQUIRE(chmod(path.c_str(), f.mode) == 0);
    SetTimes(path, 1'600'000'000'123'456'789 + static_cast<int64_t>(seed) * 1'000'000'007);
    total += f.size;
  }
  // A sparse file: 128 KiB of data in 8 MiB.
  {
    std::string path = src + "/sparse.img";
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, kSparseSize) == 0);
    for (off_t at : {off_t{1} << 20, off_t{5} << 20}) {
      Bytes data = testing::RandomBytes(static_cast<uint64_t>(at), 65536);
      REQUIRE(pwrite(fd, data.data(), data.size(), at) == 65536);
    }
    close(fd);
    SetTimes(path, 1'550'000'000'000'000'000);
    total += 2 * 65536;
  }
  REQUIRE(mkfifo((src + "/pipe").c_str(), 0620) == 0);
  SetTimes(src + "/pipe", 1'560'000'000'000'000'000);
  REQUIRE(link((src + "/hard1").c_str(), (src + "/dir2/hard2").c_str()) == 0);
  REQUIRE(symlink("dir1/a.bin", (src + "/link").c_str()) == 0);
  SetTimes(src + "/link", 1'500'000'000'000'000'001);
  REQUIRE(chmod((src + "/dir1/nested").c_str(), 0750) == 0);
  // Folders last, deepest first: creating entries changes their mtime.
  int64_t t = 1'650'000'000'000'000'000;
  for (const char* d : {"dir1/nested/deep", "dir1/nested", "dir1", "dir2", ""})
    SetTimes(src + "/" + d, t += 999'999'999);
  return total;
}

struct Entry {
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  ino_t inode = 0;
  std::string data;  // file content or symlink target
};

// Every entry under `root` by relative path ("" is root itself).
std::map<std::string, Entry> Scan(const std::string& root) {
  std::map<std::string, Entry> out;
  auto add = [&](const fs::path& p) {
    struct stat st;
    REQUIRE(lstat(p.c_str(), &st) == 0);
    Entry e;
    e.mode = st.st_mode;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.size = S_ISDIR(st.st_mode) ? 0 : st.st_size;
    e.mtime_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
    e.inode = st.st_ino;
    if (S_ISREG(st.st_mode)) e.data = testing::ReadFile(p.string());
    if (S_ISLNK(st.st_mode)) e.data = fs::read_symlink(p).string();
    out[fs::relative(p, root).string() == "." ? "" : fs::relative(p, root).string()] = e;
  };
  add(root);
  for (const auto& entry : fs::recursive_directory_iterator(root)) add(entry.path());
  return out;
}

// Compares what matters to a user; `skip` names entries expected to differ.
void CompareTrees(const std::string& want_root, const std::string& got_root,
                  const std::set<std::string>& skip = {}) {
  auto want = Scan(want_root);
  auto got = Scan(got_root);
  std::vector<std::string> want_names, got_names;
  for (const auto& [k, v] : want) want_names.push_back(k);
  for (const auto& [k, v] : got) got_names.push_back(k);
  REQUIRE(want_names == got_names);
  for (const auto& [name, w] : want) {
    if (skip.count(name)) continue;
    INFO("entry '" << name << "'");
    const Entry& g = got.at(name);
    CHECK(g.mode == w.mode);
    CHECK(g.uid == w.uid);
    CHECK(g.gid == w.gid);
    CHECK(g.size == w.size);
    CHECK(g.mtime_ns == w.mtime_ns);
    CHECK(g.data == w.data);
  }
}

uint64_t ReadCharsOfProcess() {
  std::ifstream in("/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value)
    if (key == "rchar:") return value;
  FAIL("no rchar in /proc/self/io");
  return 0;
}

struct Fixture {
  TempDir dir;
  std::string repo_path = dir.Sub("repo");
  std::string src = dir.Sub("src");
  uint64_t data_bytes = 0;
  std::unique_ptr<repo::Repository> repo;

  Fixture() {
    fs::create_directories(src);
    data_bytes = MakeSourceTree(src);
    auto backend = storage::LocalBackend::Create(repo_path);
    REQUIRE(backend);
    auto r = repo::Repository::Init(std::move(*backend), AsBytes("pw"), testing::FastInitOptions());
    REQUIRE(r);
    repo = std::move(*r);
  }

  std::unique_ptr<repo::Repository> OpenAgain() {
    auto backend = storage::LocalBackend::Open(repo_path);
    REQUIRE(backend);
    auto r = repo::Repository::Open(std::move(*backend), AsBytes("pw"));
    REQUIRE(r);
    return std::move(*r);
  }

  Result<backup::BackupResult> Backup(repo::Repository& r, const std::atomic<bool>* cancel = nullptr,
                                      std::function<void(const backup::BackupProgress&)> progress = {},
                                      std::vector<std::string>* warnings = nullptr) {
    backup::BackupOptions o;
    o.paths = {src};
    o.host = "test-host";
    o.cancel = cancel;
    o.warn = [warnings](const std::string& w) {
      if (warnings) warnings->push_back(w);
    };
    return backup::RunBackup(r, o, progress);
  }

  Result<restore::RestoreStats> Restore(repo::Repository& r, const format::Snapshot& snap,
                                        const std::string& target,
                                        std::vector<std::string> include = {},
                                        std::vector<std::string>* warnings = nullptr) {
    restore::RestoreOptions o;
    o.target = target;
    o.include = std::move(include);
    o.warn = [warnings](const std::string& w) {
      if (warnings) warnings->push_back(w);
    };
    return restore::RunRestore(r, snap, o);
  }
};

// The node of absolute `path` in a snapshot, walking down from its root.
format::Node NodeAt(repo::Repository& r, const format::Snapshot& snap, const std::string& path) {
  BlobId tree_id = snap.root;
  format::Node found;
  fs::path p(path);
  std::vector<std::string> parts;
  for (const auto& part : p.relative_path()) parts.push_back(part.string());
  for (size_t i = 0; i < parts.size(); ++i) {
    auto tree = r.LoadTree(tree_id);
    REQUIRE(tree);
    bool hit = false;
    for (const format::Node& n : tree->nodes) {
      if (n.name != parts[i]) continue;
      found = n;
      hit = true;
    }
    REQUIRE(hit);
    if (i + 1 < parts.size()) {
      REQUIRE(found.subtree);
      tree_id = *found.subtree;
    }
  }
  return found;
}

TEST_CASE("backup then restore gives back every file with its metadata",
          "[unit][backup_restore][tsan]") {
  Fixture f;
  std::vector<std::string> warnings;
  auto backup = f.Backup(*f.repo, nullptr, {}, &warnings);
  REQUIRE(backup);
  CHECK(warnings.empty());
  const format::SnapshotStats& stats = backup->snapshot.stats;
  CHECK(stats.files == 12);  // 11 files + the second hard link
  CHECK(stats.errors == 0);
  CHECK(stats.new_bytes > 0);
  CHECK(stats.new_bytes < f.data_bytes);  // compressible files shrank, hard link stored once
  CHECK(backup->snapshot.paths == std::vector<std::string>{f.src});
  CHECK(backup->snapshot.host == "test-host");
  CHECK(f.repo->index().blob_count() > 100);  // small chunker params: many chunks

  // The hard-link pair shares a link group and a chunk list.
  format::Node h1 = NodeAt(*f.repo, backup->snapshot, f.src + "/hard1");
  format::Node h2 = NodeAt(*f.repo, backup->snapshot, f.src + "/dir2/hard2");
  CHECK(h1.link_group != 0);
  CHECK(h1.link_group == h2.link_group);
  CHECK(h1.content == h2.content);

  TempDir out;
  auto fresh = f.OpenAgain();
  auto snap = fresh->FindSnapshot("latest");
  REQUIRE(snap);
  CHECK(snap->id == backup->snapshot_id);
  warnings.clear();
  auto restored = f.Restore(*fresh, snap->snapshot, out.path(), {}, &warnings);
  REQUIRE(restored);
  CHECK(warnings.empty());
  CHECK(restored->damaged == 0);
  CHECK(restored->problems == 0);
  CHECK(restored->files == 12);
  CHECK(restored->others == 2);  // symlink and FIFO
  CompareTrees(f.src, out.path() + f.src);

  // Holes came back as holes.
  format::Node sparse = NodeAt(*f.repo, backup->snapshot, f.src + "/sparse.img");
  CHECK(sparse.sparse.size() == 2);
  struct stat sp;
  REQUIRE(stat((out.path() + f.src + "/sparse.img").c_str(), &sp) == 0);
  CHECK(sp.st_size == kSparseSize);
  CHECK(sp.st_blocks * 512 < 1 << 20);

  struct stat a, b;
  REQUIRE(lstat((out.path() + f.src + "/hard1").c_str(), &a) == 0);
  REQUIRE(lstat((out.path() + f.src + "/dir2/hard2").c_str(), &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  CHECK(a.st_nlink == 2);
}

TEST_CASE("second backup of an unchanged tree reads no file content", "[unit][backup_restore]") {
  Fixture f;
  auto first = f.Backup(*f.repo);
  REQUIRE(first);

  uint64_t bytes_read = ~0ULL;
  auto progress = [&](const backup::BackupProgress& p) { bytes_read = p.bytes_read; };
  auto repo2 = f.OpenAgain();
  uint64_t rchar_before = ReadCharsOfProcess();
  auto second = f.Backup(*repo2, nullptr, progress);
  uint64_t rchar_delta = ReadCharsOfProcess() - rchar_before;
  REQUIRE(second);

  // The change cache: no byte of file content went through read().
  CHECK(bytes_read == 0);
  INFO("rchar delta " << rchar_delta << " for " << f.data_bytes << " bytes of data");
  CHECK(rchar_delta < f.data_bytes / 20);
  // Nothing new but (perhaps) the trees of the folders above the source,
  // whose mtimes other processes change.
  CHECK(second->snapshot.stats.new_bytes < 8192);
  CHECK(second->snapshot.stats.files == first->snapshot.stats.files);
  CHECK(second->snapshot.stats.bytes == first->snapshot.stats.bytes);
  REQUIRE(second->snapshot.parent);
  CHECK(*second->snapshot.parent == first->snapshot_id);
  format::Node src1 = NodeAt(*repo2, first->snapshot, f.src);
  format::Node src2 = NodeAt(*repo2, second->snapshot, f.src);
  CHECK(src1.subtree == src2.subtree);

  SECTION("a file rewritten with the same size and mtime is read again") {
    // Its ctime moves, so the cache must not trust it.
    std::string path = f.src + "/dir1/a.bin";
    struct stat st;
    REQUIRE(stat(path.c_str(), &st) == 0);
    Bytes other = testing::RandomBytes(999, static_cast<size_t>(st.st_size));
    WriteBytes(path, other);
    SetTimes(path, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec);
    auto third = f.Backup(*repo2, nullptr, progress);
    REQUIRE(third);
    CHECK(bytes_read == static_cast<uint64_t>(st.st_size));
    CHECK(third->snapshot.stats.new_bytes > static_cast<uint64_t>(st.st_size));

    TempDir out;
    REQUIRE(f.Restore(*repo2, third->snapshot, out.path()));
    CHECK(testing::ReadFile(out.path() + path) == std::string(other.begin(), other.end()));
  }
}

TEST_CASE("restore of chosen paths restores only those", "[unit][backup_restore]") {
  Fixture f;
  auto backup = f.Backup(*f.repo);
  REQUIRE(backup);
  const format::Snapshot& snap = backup->snapshot;

  SECTION("a folder") {
    TempDir out;
    auto stats = f.Restore(*f.repo, snap, out.path(), {f.src + "/dir1/nested"});
    REQUIRE(stats);
    CHECK(stats->files == 2);
    CompareTrees(f.src + "/dir1/nested", out.path() + f.src + "/dir1/nested");
    // Only the folders leading to it, nothing beside it.
    CHECK_FALSE(fs::exists(out.path() + f.src + "/big.bin"));
    CHECK_FALSE(fs::exists(out.path() + f.src + "/dir1/a.bin"));
    CHECK_FALSE(fs::exists(out.path() + f.src + "/dir2"));
  }
  SECTION("a file and a symlink") {
    TempDir out;
    auto stats = f.Restore(*f.repo, snap, out.path(), {f.src + "/small.txt", f.src + "/link"});
    REQUIRE(stats);
    CHECK(stats->files == 1);
    CHECK(stats->others == 1);
    CHECK(testing::ReadFile(out.path() + f.src + "/small.txt") ==
          testing::ReadFile(f.src + "/small.txt"));
    CHECK(fs::read_symlink(out.path() + f.src + "/link") == "dir1/a.bin");
    std::vector<std::string> in_src;
    for (const auto& e : fs::directory_iterator(out.path() + f.src))
      in_src.push_back(e.path().filename().string());
    std::sort(in_src.begin(), in_src.end());
    CHECK(in_src == std::vector<std::string>{"link", "small.txt"});
  }
  SECTION("a path outside the snapshot is not found") {
    TempDir out;
    auto stats = f.Restore(*f.repo, snap, out.path(), {"/no/such/path"});
    REQUIRE_FALSE(stats);
    CHECK(stats.error().code() == ErrorCode::kNotFound);
  }
  SECTION("a relative include is refused") {
    TempDir out;
    auto stats = f.Restore(*f.repo, snap, out.path(), {"dir1"});
    REQUIRE_FALSE(stats);
    CHECK(stats.error().code() == ErrorCode::kInvalidArgument);
  }
}

// The restorer's contract: "an include path is not in the snapshot
// (kNotFound)". A typo in the last component must not pass as an empty,
// successful restore because the folders leading to it exist.
// Every include path is checked, not only "something was restored".
TEST_CASE("restore of a missing file in an existing folder is not found",
          "[unit][backup_restore]") {
  Fixture f;
  auto backup = f.Backup(*f.repo);
  REQUIRE(backup);
  TempDir out;
  auto stats = f.Restore(*f.repo, backup->snapshot, out.path(), {f.src + "/no-such-file"});
  REQUIRE_FALSE(stats);
  CHECK(stats.error().code() == ErrorCode::kNotFound);
}

TEST_CASE("restore names a damaged pack and restores every other file",
          "[unit][backup_restore]") {
  Fixture f;
  auto backup = f.Backup(*f.repo);
  REQUIRE(backup);

  // Damage one chunk in the middle of big.bin, in the pack file on disk.
  format::Node big = NodeAt(*f.repo, backup->snapshot, f.src + "/big.bin");
  REQUIRE(big.content.size() > 10);
  auto loc = f.repo->index().Find(big.content[5]);
  REQUIRE(loc);
  std::string hex = loc->pack.Hex();
  std::string pack_path = f.repo_path + "/data/" + hex.substr(0, 2) + "/" + hex;
  testing::FlipByte(pack_path, static_cast<std::streamoff>(loc->entry.offset + loc->entry.stored_len / 2));

  auto fresh = f.OpenAgain();
  TempDir out;
  std::vector<std::string> warnings;
  auto stats = f.Restore(*fresh, backup->snapshot, out.path(), {}, &warnings);
  REQUIRE(stats);
  CHECK(stats->damaged == 1);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains(hex));
  CHECK_THAT(warnings[0], Catch::Contains("big.bin"));
  // Everything else is bit for bit; big.bin keeps its size and differs.
  CompareTrees(f.src, out.path() + f.src, {"big.bin"});
  std::string got = testing::ReadFile(out.path() + f.src + "/big.bin");
  std::string want = testing::ReadFile(f.src + "/big.bin");
  CHECK(got.size() == want.size());
  CHECK(got != want);
}

TEST_CASE("a cancelled backup stores nothing visible and the next one reuses its packs",
          "[unit][backup_restore][tsan]") {
  Fixture f;
  // What the whole tree costs, measured in a second repository.
  uint64_t full_cost = 0;
  {
    TempDir other;
    auto backend = storage::LocalBackend::Create(other.Sub("repo"));
    REQUIRE(backend);
    auto r = repo::Repository::Init(std::move(*backend), AsBytes("pw"), testing::FastInitOptions());
    REQUIRE(r);
    auto full = f.Backup(**r);
    REQUIRE(full);
    full_cost = full->snapshot.stats.new_bytes;
  }

  std::atomic<bool> cancel{false};
  uint64_t files_seen = 0;
  auto stop_after_four = [&](const backup::BackupProgress& p) {
    files_seen = p.files;
    if (p.files >= 4) cancel = true;
  };
  auto cancelled = f.Backup(*f.repo, &cancel, stop_after_four);
  REQUIRE_FALSE(cancelled);
  CHECK(cancelled.error().code() == ErrorCode::kCancelled);
  CHECK(files_seen == 4);
  CHECK(f.repo->ListSnapshots().value().empty());

  // The packs written before the cancel are stored and indexed.
  uint64_t stored = 0;
  size_t indexes = 0;
  REQUIRE(f.repo->backend().List(storage::ObjectKind::kData, [&](const storage::ObjectInfo& i) {
                   stored += i.size;
                   return Status::Ok();
                 }).ok());
  REQUIRE(f.repo->backend().List(storage::ObjectKind::kIndex, [&](const storage::ObjectInfo&) {
                   ++indexes;
                   return Status::Ok();
                 }).ok());
  CHECK(stored > full_cost / 3);
  CHECK(indexes >= 1);

  // A new process resumes: only what the cancelled run did not store is new.
  auto repo2 = f.OpenAgain();
  auto resumed = f.Backup(*repo2);
  REQUIRE(resumed);
  INFO("full " << full_cost << ", stored before cancel " << stored << ", resumed "
               << resumed->snapshot.stats.new_bytes);
  CHECK(resumed->snapshot.stats.new_bytes + stored <= full_cost + 64 * 1024);
  CHECK_FALSE(resumed->snapshot.parent);

  TempDir out;
  auto restored = f.Restore(*repo2, resumed->snapshot, out.path());
  REQUIRE(restored);
  CHECK(restored->damaged == 0);
  CompareTrees(f.src, out.path() + f.src);
}

TEST_CASE("a backup that runs out of space fails with kNoSpace and commits nothing",
          "[unit][backup_restore]") {
  TempDir dir;
  std::string src = dir.Sub("src");
  fs::create_directories(src);
  // More than one 16 MiB pack, so the failure hits in the middle of the walk.
  WriteBytes(src + "/a-large.bin", testing::RandomBytes(11, 20 << 20));
  WriteBytes(src + "/b-small.bin", testing::RandomBytes(12, 5000));
  auto local = storage::LocalBackend::Create(dir.Sub("repo"));
  REQUIRE(local);
  std::shared_ptr<storage::Backend> base = std::move(*local);
  auto owned = std::make_unique<storage::FaultInjectingBackend>(base);
  storage::FaultInjectingBackend* faults = owned.get();
  auto r = repo::Repository::Init(std::move(owned), AsBytes("pw"), testing::FastInitOptions());
  REQUIRE(r);
  repo::Repository& repo = **r;
  faults->SetSpaceLimit(faults->SavedBytes() + (4 << 20));

  backup::BackupOptions o;
  o.paths = {src};
  auto failed = backup::RunBackup(repo, o);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code() == ErrorCode::kNoSpace);
  CHECK(repo.ListSnapshots().value().empty());

  // Space is back: the next run succeeds and restores bit for bit.
  faults->ClearFaults();
  auto ok = backup::RunBackup(repo, o);
  REQUIRE(ok);
  TempDir out;
  restore::RestoreOptions ro;
  ro.target = out.path();
  auto stats = restore::RunRestore(repo, ok->snapshot, ro);
  REQUIRE(stats);
  CHECK(stats->damaged == 0);
  CompareTrees(src, out.path() + src);
}

}  // namespace
}  // namespace coffre
