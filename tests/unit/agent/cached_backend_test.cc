// CachedBackend, the agent's metadata cache: a second open reads index,
// snapshots and trees from it and not from the repository; a corrupt cached
// object is dropped and fetched again; a cache of another repository is
// never used; objects pruned behind its back leave it at the next listing;
// two users of one cache folder at once get right answers; it stays within
// its bound; and a cache that cannot be made only costs time.
#include "agent/repo/cached_backend.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/backup/archiver.h"
#include "agent/repo/repository.h"
#include "core/crypto/hash.h"
#include "core/storage/memory_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre::repo {
namespace {

namespace fs = std::filesystem;
using storage::ObjectKind;
using storage::ObjectName;

// What reaches the repository (the "vault") below the cache.
class CountingBackend : public storage::BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;
  Result<Bytes> Load(const ObjectName& object, uint64_t offset, uint64_t length) override {
    auto r = base().Load(object, offset, length);
    if (r) {
      loads[static_cast<int>(object.kind)] += 1;
      bytes += r->size();
    }
    return r;
  }
  int Loads(ObjectKind kind) const { return loads[static_cast<int>(kind)]; }
  void Reset() {
    for (auto& n : loads) n = 0;
    bytes = 0;
  }
  std::atomic<int> loads[6] = {};
  std::atomic<uint64_t> bytes{0};
};

struct Fixture {
  testing::TempDir dir;
  std::shared_ptr<storage::MemoryBackend> memory = std::make_shared<storage::MemoryBackend>();
  std::shared_ptr<CountingBackend> counting = std::make_shared<CountingBackend>(memory);

  Fixture() {
    REQUIRE(Repository::Init(std::make_unique<storage::BackendWrapper>(memory), AsBytes("pw"),
                             testing::FastInitOptions()));
    fs::create_directories(dir.Sub("src/sub"));
    for (int i = 0; i < 5; ++i) {
      Bytes data = testing::RandomBytes(static_cast<uint64_t>(i + 1), 300'000);
      std::ofstream(dir.Sub("src/sub/f" + std::to_string(i)), std::ios::binary)
          .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    }
  }

  CacheOptions Options(uint64_t max_bytes = uint64_t{1} << 30) {
    CacheOptions o;
    o.dir = dir.Sub("cache");
    o.max_bytes = max_bytes;
    return o;
  }

  std::unique_ptr<storage::Backend> Cached(uint64_t max_bytes = uint64_t{1} << 30) {
    auto b = CachedBackend::Wrap(counting, Options(max_bytes));
    REQUIRE(b);
    return std::move(*b);
  }

  std::unique_ptr<Repository> Open(std::unique_ptr<storage::Backend> backend) {
    auto r = Repository::Open(std::move(backend), AsBytes("pw"));
    REQUIRE(r);
    REQUIRE((*r)->LoadIndex().ok());
    return std::move(*r);
  }

  void Backup(Repository& repo) {
    backup::BackupOptions o;
    o.paths = {dir.Sub("src")};
    o.host = "cached";
    REQUIRE(backup::RunBackup(repo, o));
  }

  // Reads all a backup's change detection reads: snapshots and every tree.
  void ReadMetadata(Repository& repo) {
    auto snapshots = repo.ListSnapshots();
    REQUIRE(snapshots);
    for (const auto& s : *snapshots) {
      std::vector<BlobId> pending{s.snapshot.root};
      while (!pending.empty()) {
        auto tree = repo.LoadTree(pending.back());
        pending.pop_back();
        REQUIRE(tree);
        for (const auto& node : tree->nodes)
          if (node.subtree) pending.push_back(*node.subtree);
      }
    }
  }

  std::string Folder() {
    for (const auto& e : fs::directory_iterator(dir.Sub("cache")))
      if (e.is_directory()) return e.path().string();
    FAIL("no repository folder in the cache");
    return "";
  }
};

TEST_CASE("with a warm cache, reading metadata fetches nothing from the repository",
          "[unit][cached_backend]") {
  Fixture f;
  {
    auto repo = f.Open(f.Cached());
    f.Backup(*repo);  // its trees, index and snapshot are written through
  }
  f.counting->Reset();
  auto repo = f.Open(f.Cached());
  f.ReadMetadata(*repo);
  CHECK(f.counting->Loads(ObjectKind::kIndex) == 0);
  CHECK(f.counting->Loads(ObjectKind::kSnapshot) == 0);
  CHECK(f.counting->Loads(ObjectKind::kData) == 0);
  CHECK(f.counting->Loads(ObjectKind::kKey) == 0);
  CHECK(f.counting->Loads(ObjectKind::kConfig) == 1);  // once, to find the cache
}

TEST_CASE("with a cold cache, reading metadata fetches tree packs whole and no file data",
          "[unit][cached_backend]") {
  Fixture f;
  f.Backup(*f.Open(std::make_unique<storage::BackendWrapper>(f.memory)));  // no cache at all
  uint64_t data_bytes = 0;
  REQUIRE(f.memory->List(ObjectKind::kData, [&](const storage::ObjectInfo& info) {
                     data_bytes += info.size;
                     return Status::Ok();
                   }).ok());
  auto repo = f.Open(f.Cached());
  f.counting->Reset();
  f.ReadMetadata(*repo);
  CHECK(f.counting->Loads(ObjectKind::kData) == 1);  // the one tree pack, once
  CHECK(f.counting->bytes < data_bytes / 10);        // 1.5 MB of file data stays there
}

TEST_CASE("a corrupt cached object is dropped and fetched again", "[unit][cached_backend]") {
  Fixture f;
  f.Backup(*f.Open(f.Cached()));
  // Flip a byte in every cached snapshot and tree pack.
  int flipped = 0;
  for (const auto& e : fs::recursive_directory_iterator(f.Folder())) {
    const std::string p = e.path().string();
    if (!e.is_regular_file() ||
        (p.find("/snapshots/") == std::string::npos && p.find("/data/") == std::string::npos))
      continue;
    std::fstream file(p, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(50);
    file.put('\x7f');
    ++flipped;
  }
  REQUIRE(flipped >= 2);
  auto repo = f.Open(f.Cached());
  f.counting->Reset();
  f.ReadMetadata(*repo);  // right answers despite the damage
  CHECK(f.counting->Loads(ObjectKind::kSnapshot) == 1);
  CHECK(f.counting->Loads(ObjectKind::kData) == 1);
}

TEST_CASE("a cache folder that holds another repository's cache is not used",
          "[unit][cached_backend]") {
  Fixture other;  // a second repository: its cache goes under our id below
  other.Backup(*other.Open(other.Cached()));
  Fixture f;
  f.Backup(*f.Open(std::make_unique<storage::BackendWrapper>(f.memory)));
  // Our repository's id, from a cache made and emptied once.
  { auto probe = f.Cached(); }
  const std::string ours = f.Folder();
  fs::remove_all(ours);
  fs::copy(other.Folder(), ours, fs::copy_options::recursive);
  auto repo = f.Open(f.Cached());
  f.counting->Reset();
  f.ReadMetadata(*repo);
  // Everything came from our repository; nothing of the other is left.
  CHECK(f.counting->Loads(ObjectKind::kSnapshot) == 1);
  size_t foreign = 0;
  for (const auto& e : fs::recursive_directory_iterator(other.Folder())) {
    if (!e.is_regular_file() || e.path().filename() == "config") continue;
    const std::string rel = fs::relative(e.path(), other.Folder()).string();
    if (fs::exists(ours + "/" + rel)) ++foreign;
  }
  CHECK(foreign == 0);
}

TEST_CASE("objects pruned behind the cache's back leave it at the next listing",
          "[unit][cached_backend]") {
  Fixture f;
  f.Backup(*f.Open(f.Cached()));
  auto snapshots = storage::ListNames(*f.memory, ObjectKind::kSnapshot);
  REQUIRE(snapshots);
  REQUIRE(snapshots->size() == 1);
  const ObjectName gone{ObjectKind::kSnapshot, (*snapshots)[0]};
  REQUIRE(f.memory->Remove(gone).ok());  // another host forgot it
  auto backend = f.Cached();
  auto listed = storage::ListNames(*backend, ObjectKind::kSnapshot);
  REQUIRE(listed);
  CHECK(listed->empty());
  auto load = backend->Load(gone);
  REQUIRE_FALSE(load);
  CHECK(load.error().code() == ErrorCode::kNotFound);
}

TEST_CASE("two users of one cache folder at once both get right answers",
          "[unit][cached_backend][tsan]") {
  Fixture f;
  f.Backup(*f.Open(f.Cached()));
  // Small bound: both keep trimming what the other may be reading.
  std::atomic<int> wrong{0};
  // Catch's assertions are not thread-safe: the users only count, and
  // f.Cached(), which asserts, is not called from their threads.
  auto user = [&] {
    for (int round = 0; round < 20; ++round) {
      auto cached = CachedBackend::Wrap(f.counting, f.Options(64 * 1024));
      if (!cached) {
        ++wrong;
        continue;
      }
      auto repo = Repository::Open(std::move(*cached), AsBytes("pw"));
      if (!repo || !(*repo)->LoadIndex().ok()) {
        ++wrong;
        continue;
      }
      auto snapshots = (*repo)->ListSnapshots();
      if (!snapshots || snapshots->size() != 1 || !(*repo)->LoadTree((*snapshots)[0].snapshot.root))
        ++wrong;
    }
  };
  std::thread a(user), b(user);
  a.join();
  b.join();
  CHECK(wrong == 0);
}

TEST_CASE("the cache stays within its bound", "[unit][cached_backend]") {
  Fixture f;
  const uint64_t bound = 200 * 1024;
  auto backend = f.Cached(bound);
  for (int i = 0; i < 40; ++i) {
    Bytes object = testing::RandomBytes(static_cast<uint64_t>(100 + i), 20 * 1024);
    const ObjectName name{ObjectKind::kIndex, ObjectId(crypto::Sha256(object)).Hex()};
    REQUIRE(backend->Save(name, object).ok());
  }
  uint64_t cached = 0;
  for (const auto& e : fs::recursive_directory_iterator(f.Folder()))
    if (e.is_regular_file()) cached += e.file_size();
  // Objects used by this process stay, so the bound holds from the next
  // one on; the folder never holds much more than the bound.
  auto fresh = f.Cached(bound);
  Bytes one = testing::RandomBytes(999, 20 * 1024);
  REQUIRE(fresh->Save({ObjectKind::kIndex, ObjectId(crypto::Sha256(one)).Hex()}, one).ok());
  cached = 0;
  for (const auto& e : fs::recursive_directory_iterator(f.Folder()))
    if (e.is_regular_file()) cached += e.file_size();
  CHECK(cached <= bound);
}

TEST_CASE("a cache that cannot be made only costs time", "[unit][cached_backend]") {
  Fixture f;
  f.Backup(*f.Open(std::make_unique<storage::BackendWrapper>(f.memory)));
  std::ofstream(f.dir.Sub("not-a-folder")) << "x";
  CacheOptions o;
  o.dir = f.dir.Sub("not-a-folder");
  std::vector<std::string> warnings;
  o.warn = [&](const std::string& line) { warnings.push_back(line); };
  auto backend = CachedBackend::Wrap(f.counting, o);
  REQUIRE(backend);
  CHECK(dynamic_cast<CachedBackend*>(backend->get()) == nullptr);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("cache not used") != std::string::npos);
  auto repo = f.Open(std::move(*backend));
  f.ReadMetadata(*repo);
}

}  // namespace
}  // namespace coffre::repo
