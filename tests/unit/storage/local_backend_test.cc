// LocalBackend beyond the shared contract (tests/conformance/): its layout on
// disk, that it leaves no temporary file behind (nor does a dropped streamed
// upload), what Open and Create accept, and a real full disk on a small tmpfs.
#include "core/storage/local_backend.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>

#include <catch2/catch.hpp>

#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre::storage {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::string kPackName(64, 'c');

std::unique_ptr<LocalBackend> MustCreate(const std::string& root) {
  auto backend = LocalBackend::Create(root);
  if (!backend) FAIL("Create " << root << ": " << backend.error().message());
  return std::move(*backend);
}

std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

TEST_CASE("local backend stores each kind at its documented path",
          "[unit][storage]") {
  TempDir dir;
  const std::string root = dir.Sub("repo");
  auto backend = MustCreate(root);
  CHECK(Entries(root) ==
        std::set<std::string>{"data", "index", "keys", "locks", "snapshots", "tmp"});
  CHECK((fs::status(root).permissions() & fs::perms::all) == fs::perms::owner_all);

  REQUIRE(backend->Save({ObjectKind::kData, kPackName}, ToBytes("pack")).ok());
  REQUIRE(backend->Save({ObjectKind::kKey, "k1"}, ToBytes("key")).ok());
  REQUIRE(backend->Save({ObjectKind::kSnapshot, "s1"}, ToBytes("snap")).ok());
  REQUIRE(backend->Save({ObjectKind::kConfig, "config"}, ToBytes("cfg")).ok());
  CHECK(testing::ReadFile(root + "/data/cc/" + kPackName) == "pack");
  CHECK(testing::ReadFile(root + "/keys/k1") == "key");
  CHECK(testing::ReadFile(root + "/snapshots/s1") == "snap");
  CHECK(testing::ReadFile(root + "/config") == "cfg");
  CHECK(Entries(root + "/data") == std::set<std::string>{"cc"});
  CHECK(backend->Location() == root);
}

TEST_CASE("local backend lists short names and names sharing their first characters",
          "[unit][storage]") {
  // Packs live in folders named by their first two characters: names of one
  // or two characters, and names sharing a prefix, must all come back.
  TempDir dir;
  auto backend = MustCreate(dir.Sub("repo"));
  std::set<std::string> saved;
  for (const std::string& name : {std::string(64, 'a'), std::string(63, 'a') + "b",
                                  std::string("ab"), std::string("abc"), std::string("a"),
                                  std::string(64, 'z')}) {
    REQUIRE(backend->Save({ObjectKind::kData, name}, ToBytes(name)).ok());
    saved.insert(name);
  }
  std::set<std::string> listed;
  REQUIRE(backend->List(ObjectKind::kData, [&](const ObjectInfo& info) {
    listed.insert(info.name);
    CHECK(info.size == info.name.size());
    return Status::Ok();
  }).ok());
  CHECK(listed == saved);
  CHECK(backend->Load({ObjectKind::kData, "a"}, 0, 0).value() == ToBytes("a"));
}

TEST_CASE("local backend leaves no temporary file after a save",
          "[unit][storage]") {
  TempDir dir;
  auto backend = MustCreate(dir.Sub("repo"));
  REQUIRE(backend->Save({ObjectKind::kData, kPackName}, ToBytes("pack")).ok());
  CHECK(Entries(dir.Sub("repo/tmp")).empty());

  SECTION("nor after a save refused because the name is taken") {
    CHECK(backend->Save({ObjectKind::kData, kPackName}, ToBytes("other")).code() ==
          ErrorCode::kAlreadyExists);
    CHECK(Entries(dir.Sub("repo/tmp")).empty());
  }
  SECTION("nor after a save that failed once its data was written") {
    // A file where the data/dd folder should be: the final rename fails.
    testing::WriteFile(dir.Sub("repo/data/dd"), "in the way");
    Status status = backend->Save({ObjectKind::kData, std::string(64, 'd')},
                                  ToBytes("pack"));
    CHECK_FALSE(status.ok());
    CHECK_THAT(status.message(), Catch::Contains("save data/dddd"));
    CHECK(Entries(dir.Sub("repo/tmp")).empty());
  }
}

TEST_CASE("local backend refuses to open a folder that is not a repository",
          "[unit][storage]") {
  TempDir dir;
  testing::WriteFile(dir.Sub("notes.txt"), "hello");
  for (const std::string& path : {dir.path(), dir.Sub("missing"), dir.Sub("notes.txt")}) {
    auto opened = LocalBackend::Open(path);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().code() == ErrorCode::kNotFound);
    CHECK_THAT(opened.error().message(), Catch::EndsWith("is not a coffre repository"));
  }
}

TEST_CASE("local backend opens a created layout and a folder with a config",
          "[unit][storage]") {
  TempDir dir;
  MustCreate(dir.Sub("created"));
  auto opened = LocalBackend::Open(dir.Sub("created/"));
  REQUIRE(opened);
  CHECK((*opened)->Location() == dir.Sub("created"));

  // A copy that lost its empty folders still opens, and can save again.
  fs::create_directory(dir.Sub("copy"));
  testing::WriteFile(dir.Sub("copy/config"), "cfg");
  auto copy = LocalBackend::Open(dir.Sub("copy"));
  REQUIRE(copy);
  CHECK((*copy)->Load({ObjectKind::kConfig, "config"}, 0, 0).value() == ToBytes("cfg"));
  CHECK((*copy)->Save({ObjectKind::kData, kPackName}, ToBytes("pack")).ok());
}

TEST_CASE("local backend creates only into an absent or empty folder",
          "[unit][storage]") {
  TempDir dir;
  CHECK(LocalBackend::Create(dir.path()).has_value());  // exists, empty

  fs::create_directory(dir.Sub("used"));
  testing::WriteFile(dir.Sub("used/photo.jpg"), "jpeg");
  auto used = LocalBackend::Create(dir.Sub("used"));
  REQUIRE_FALSE(used);
  CHECK(used.error().code() == ErrorCode::kAlreadyExists);
  CHECK(Entries(dir.Sub("used")) == std::set<std::string>{"photo.jpg"});

  auto file = LocalBackend::Create(dir.Sub("used/photo.jpg"));
  REQUIRE_FALSE(file);
  CHECK(file.error().code() == ErrorCode::kAlreadyExists);

  // Creating twice at one place: the second finds the first's layout.
  MustCreate(dir.Sub("a/b/repo"));
  CHECK(LocalBackend::Create(dir.Sub("a/b/repo")).error().code() ==
        ErrorCode::kAlreadyExists);
}

TEST_CASE("local backend open removes temporary files older than an hour",
          "[unit][storage]") {
  TempDir dir;
  MustCreate(dir.Sub("repo"));
  testing::WriteFile(dir.Sub("repo/tmp/old"), "crashed upload");
  testing::WriteFile(dir.Sub("repo/tmp/fresh"), "upload in progress");
  const timespec two_hours_ago{::time(nullptr) - 2 * 3600, 0};
  const timespec times[2] = {two_hours_ago, two_hours_ago};
  REQUIRE(::utimensat(AT_FDCWD, dir.Sub("repo/tmp/old").c_str(), times, 0) == 0);

  REQUIRE(LocalBackend::Open(dir.Sub("repo")));
  CHECK(Entries(dir.Sub("repo/tmp")) == std::set<std::string>{"fresh"});
}

TEST_CASE("local backend streams an upload through tmp/ and cleans up a dropped one",
          "[unit][storage]") {
  TempDir dir;
  auto backend = MustCreate(dir.Sub("repo"));
  {
    auto writer = backend->NewWriter({ObjectKind::kData, kPackName}, 10);
    REQUIRE(writer);
    REQUIRE((*writer)->Write(ToBytes("half a pa")).ok());
    CHECK(Entries(dir.Sub("repo/tmp")).size() == 1);  // on disk, not in memory
  }
  CHECK(Entries(dir.Sub("repo/tmp")).empty());
  CHECK_FALSE(fs::exists(dir.Sub("repo/data/cc/" + kPackName)));
}

TEST_CASE("local backend RemoveTemporaries removes even fresh temporary files",
          "[unit][storage]") {
  TempDir dir;
  auto backend = MustCreate(dir.Sub("repo"));
  testing::WriteFile(dir.Sub("repo/tmp/fresh"), "upload cut by a crash a second ago");
  backend->RemoveTemporaries();
  CHECK(Entries(dir.Sub("repo/tmp")).empty());
}

TEST_CASE("local backend list skips files it never writes",
          "[unit][storage]") {
  TempDir dir;
  auto backend = MustCreate(dir.Sub("repo"));
  REQUIRE(backend->Save({ObjectKind::kData, kPackName}, ToBytes("pack")).ok());
  testing::WriteFile(dir.Sub("repo/data/cc/README"), "x");
  testing::WriteFile(dir.Sub("repo/data/cc/" + kPackName + ".bak"), "x");
  testing::WriteFile(dir.Sub("repo/data/cc/ab"), "in the wrong folder");
  fs::create_directory(dir.Sub("repo/data/Zz"));
  testing::WriteFile(dir.Sub("repo/data/Zz/zz"), "x");
  fs::create_directory(dir.Sub("repo/index/sub"));
  std::set<std::string> listed;
  for (ObjectKind kind : {ObjectKind::kData, ObjectKind::kIndex}) {
    REQUIRE(backend->List(kind, [&](const ObjectInfo& info) {
      listed.insert(info.name);
      return Status::Ok();
    }).ok());
  }
  CHECK(listed == std::set<std::string>{kPackName});
}

// Mounts a tmpfs of `size` on a folder for the life of the object.
class SmallTmpfs {
 public:
  SmallTmpfs(const std::string& path, const std::string& size) : path_(path) {
    fs::create_directory(path);
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0,
                       ("size=" + size).c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

TEST_CASE("local backend on a full disk reports no space and keeps no partial object",
          "[unit][storage]") {
  TempDir dir;
  SmallTmpfs disk(dir.Sub("disk"), "1m");
  if (!disk.mounted()) {
    WARN("cannot mount a tmpfs (" << disk.error() << "); full-disk test skipped");
    return;
  }
  auto backend = MustCreate(dir.Sub("disk/repo"));
  const ObjectName big{ObjectKind::kData, std::string(64, 'b')};
  Status status = backend->Save(big, testing::RandomBytes(1, 2 << 20));
  CHECK(status.code() == ErrorCode::kNoSpace);
  CHECK_THAT(status.message(), Catch::Contains("save data/bbbb"));
  CHECK(backend->Stat(big).error().code() == ErrorCode::kNotFound);
  CHECK(Entries(dir.Sub("disk/repo/tmp")).empty());

  // The failed save gave all its space back.
  const ObjectName fits{ObjectKind::kData, std::string(64, 'f')};
  const Bytes data = testing::RandomBytes(2, 700 << 10);
  REQUIRE(backend->Save(fits, data).ok());
  CHECK(backend->Load(fits, 0, 0).value() == data);
}

}  // namespace
}  // namespace coffre::storage
