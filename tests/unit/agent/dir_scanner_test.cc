// DirScanner: a scanned directory carries its entries, the parent snapshot's
// tree and, per file, the change cache's verdict; scans started ahead and
// scans run inline give the same result; past its bound Start declines.
#include "agent/backup/dir_scanner.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/backup/archiver.h"
#include "core/storage/local_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/temp_dir.h"

namespace coffre::backup {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFile;

struct Fixture {
  TempDir dir;
  std::string src = fs::weakly_canonical(dir.path()).string() + "/src";
  std::unique_ptr<repo::Repository> repo;
  BlobId src_tree;  // the tree of `src` in the first snapshot

  Fixture() {
    fs::create_directories(src + "/sub");
    WriteFile(src + "/kept.txt", "kept");
    WriteFile(src + "/changed.txt", "before");
    WriteFile(src + "/sub/inner.txt", "inner");
    auto backend = storage::LocalBackend::Create(dir.Sub("repo"));
    REQUIRE(backend);
    auto r = repo::Repository::Init(std::move(*backend), AsBytes("pw"),
                                    testing::FastInitOptions());
    REQUIRE(r);
    repo = std::move(*r);
    BackupOptions options;
    options.paths = {src};
    auto result = RunBackup(*repo, options);
    REQUIRE(result);
    // Down from "/" to src, one tree per component.
    BlobId id = result->snapshot.root;
    for (const auto& part : fs::path(src).relative_path()) {
      auto tree = repo->LoadTree(id);
      REQUIRE(tree);
      auto it = std::find_if(tree->nodes.begin(), tree->nodes.end(),
                             [&](const format::Node& n) { return n.name == part.string(); });
      REQUIRE(it != tree->nodes.end());
      REQUIRE(it->subtree);
      id = *it->subtree;
    }
    src_tree = id;
  }

  DirScanner::Request RequestFor(const std::string& name, std::optional<BlobId> parent_tree) {
    auto parent = std::make_shared<const UniqueFd>(
        open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat st {};
    REQUIRE(lstat((dir.path() + "/" + name).c_str(), &st) == 0);
    return {parent, name, src, st.st_dev, st.st_ino, parent_tree};
  }
};

// The change cache used by the tests: same size and mtime as in the parent.
bool SameSizeAndTime(const format::Node& node, const format::Node* parent) {
  return parent && parent->size == node.size && parent->mtime_ns == node.mtime_ns;
}

const format::Node& Named(const ScannedDir& scanned, const std::string& name, size_t* index) {
  for (size_t i = 0; i < scanned.nodes.size(); ++i) {
    if (scanned.nodes[i].name == name) {
      *index = i;
      return scanned.nodes[i];
    }
  }
  FAIL("no entry " << name);
  throw;
}

TEST_CASE("DirScanner applies the change cache per file", "[scanner]") {
  Fixture f;
  WriteFile(f.src + "/changed.txt", "after, and longer");
  WriteFile(f.src + "/new.txt", "new");
  DirScanner scanner(*f.repo, SameSizeAndTime, nullptr, 2, 8);

  auto started = GENERATE(true, false);
  ScannedDir scanned;
  if (started) {
    auto ticket = scanner.Start(f.RequestFor("src", f.src_tree));
    REQUIRE(ticket);
    scanned = scanner.Finish(ticket);
  } else {
    scanned = scanner.Scan(f.RequestFor("src", f.src_tree));
  }
  REQUIRE(scanned.error.ok());
  REQUIRE(scanned.list_error.ok());
  REQUIRE(scanned.parent);
  REQUIRE(scanned.nodes.size() == 4);  // changed.txt kept.txt new.txt sub

  size_t i = 0;
  Named(scanned, "kept.txt", &i);
  CHECK(scanned.unchanged[i]);
  REQUIRE(scanned.ParentOf(i));
  CHECK(scanned.ParentOf(i)->name == "kept.txt");
  Named(scanned, "changed.txt", &i);
  CHECK_FALSE(scanned.unchanged[i]);
  CHECK(scanned.ParentOf(i)->name == "changed.txt");
  Named(scanned, "new.txt", &i);
  CHECK_FALSE(scanned.unchanged[i]);
  CHECK(scanned.ParentOf(i) == nullptr);
  Named(scanned, "sub", &i);
  CHECK_FALSE(scanned.unchanged[i]);  // only files are judged
  REQUIRE(scanned.ParentOf(i));
  CHECK(scanned.ParentOf(i)->subtree);
}

TEST_CASE("DirScanner without a parent tree reads every file", "[scanner]") {
  Fixture f;
  DirScanner scanner(*f.repo, SameSizeAndTime, nullptr, 1, 8);
  ScannedDir scanned = scanner.Scan(f.RequestFor("src", std::nullopt));
  REQUIRE(scanned.error.ok());
  CHECK_FALSE(scanned.parent);
  for (size_t i = 0; i < scanned.nodes.size(); ++i) {
    CHECK_FALSE(scanned.unchanged[i]);
    CHECK(scanned.ParentOf(i) == nullptr);
  }
}

TEST_CASE("DirScanner reports a directory it cannot open", "[scanner]") {
  Fixture f;
  DirScanner scanner(*f.repo, SameSizeAndTime, nullptr, 1, 8);
  DirScanner::Request request = f.RequestFor("src", std::nullopt);
  request.name = "vanished";
  ScannedDir scanned = scanner.Scan(request);
  CHECK(scanned.error.code() == ErrorCode::kNotFound);
  CHECK(scanned.nodes.empty());
}

TEST_CASE("DirScanner declines to start past its bound, and Scan still works", "[scanner]") {
  Fixture f;
  DirScanner scanner(*f.repo, SameSizeAndTime, nullptr, 1, /*max_pending=*/2);
  auto a = scanner.Start(f.RequestFor("src", f.src_tree));
  auto b = scanner.Start(f.RequestFor("src", f.src_tree));
  REQUIRE(a);
  REQUIRE(b);
  CHECK_FALSE(scanner.Start(f.RequestFor("src", f.src_tree)));
  CHECK(scanner.Finish(a).nodes.size() == 3);
  auto c = scanner.Start(f.RequestFor("src", f.src_tree));  // room again
  CHECK(c);
  CHECK(scanner.Scan(f.RequestFor("src", f.src_tree)).nodes.size() == 3);
  CHECK(scanner.Finish(b).nodes.size() == 3);
  CHECK(scanner.Finish(c).nodes.size() == 3);
}

TEST_CASE("DirScanner takes listings from the prefetcher", "[scanner]") {
  Fixture f;
  ListingPrefetcher listings({f.src}, 1);
  DirScanner scanner(*f.repo, SameSizeAndTime, &listings, 1, 8);
  ScannedDir scanned = scanner.Scan(f.RequestFor("src", f.src_tree));
  REQUIRE(scanned.error.ok());
  CHECK(scanned.nodes.size() == 3);
  // Handed out once: a second Take finds nothing, the scanner reads again.
  struct stat st {};
  REQUIRE(lstat(f.src.c_str(), &st) == 0);
  CHECK_FALSE(listings.Take(f.src, st.st_dev, st.st_ino));
}

}  // namespace
}  // namespace coffre::backup
