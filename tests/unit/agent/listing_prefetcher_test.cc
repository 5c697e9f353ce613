// ListingPrefetcher: every directory under the roots is handed out once, in
// name order, whether a thread read it ahead or Take reads it; a directory
// that is no longer the one read (other device or inode) is not handed out;
// a tiny budget slows it down but never blocks the walk.
#include "agent/backup/listing_prefetcher.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/backup/backup_paths.h"
#include "tests/support/temp_dir.h"

namespace coffre::backup {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFile;

struct Identity {
  uint64_t device = 0;
  uint64_t inode = 0;
};

Identity IdentityOf(const std::string& path) {
  struct stat st {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return {st.st_dev, st.st_ino};
}

std::vector<std::string> NamesOf(const DirListing& listing) {
  std::vector<std::string> names;
  for (const auto& node : listing.nodes) names.push_back(node.name);
  return names;
}

// root/{a/{x/, f1}, b/, c/{y/{z/}}, top.txt}
std::string MakeTree(const TempDir& dir) {
  const std::string root = dir.Sub("root");
  fs::create_directories(root + "/a/x");
  fs::create_directories(root + "/b");
  fs::create_directories(root + "/c/y/z");
  WriteFile(root + "/a/f1", "one");
  WriteFile(root + "/top.txt", "top");
  return root;
}

// Takes every directory depth first, as the walk does; returns the paths taken.
std::vector<std::string> TakeAll(ListingPrefetcher& prefetcher, const std::string& path) {
  Identity id = IdentityOf(path);
  auto listing = prefetcher.Take(path, id.device, id.inode);
  REQUIRE(listing);
  REQUIRE(listing->error.ok());
  REQUIRE(listing->device == id.device);
  REQUIRE(listing->inode == id.inode);
  std::vector<std::string> taken{path};
  for (const auto& node : listing->nodes) {
    if (node.type != format::NodeType::kDir) continue;
    auto below = TakeAll(prefetcher, JoinPath(path, node.name));
    taken.insert(taken.end(), below.begin(), below.end());
  }
  return taken;
}

const std::vector<std::string> kWalkOrder = {"", "/a", "/a/x", "/b", "/c", "/c/y", "/c/y/z"};

TEST_CASE("ListingPrefetcher hands out every directory once, in name order", "[prefetch]") {
  TempDir dir;
  const std::string root = MakeTree(dir);
  auto threads = GENERATE(0, 1, 4);
  ListingPrefetcher prefetcher({root}, threads);
  std::vector<std::string> expected;
  for (const auto& p : kWalkOrder) expected.push_back(root + p);
  CHECK(TakeAll(prefetcher, root) == expected);

  Identity id = IdentityOf(root + "/a");
  CHECK_FALSE(prefetcher.Take(root + "/a", id.device, id.inode));  // taken already
}

TEST_CASE("ListingPrefetcher lists entries with their metadata", "[prefetch]") {
  TempDir dir;
  const std::string root = MakeTree(dir);
  ListingPrefetcher prefetcher({root});
  Identity id = IdentityOf(root);
  auto listing = prefetcher.Take(root, id.device, id.inode);
  REQUIRE(listing);
  CHECK(NamesOf(*listing) == std::vector<std::string>{"a", "b", "c", "top.txt"});
  CHECK(listing->nodes[3].type == format::NodeType::kFile);
  CHECK(listing->nodes[3].size == 3);
  CHECK(listing->fd);
  CHECK(listing->skipped.empty());
}

TEST_CASE("ListingPrefetcher refuses a directory that is not the one it read", "[prefetch]") {
  TempDir dir;
  const std::string root = MakeTree(dir);
  ListingPrefetcher prefetcher({root}, 2);
  Identity id = IdentityOf(root);
  REQUIRE(prefetcher.Take(root, id.device, id.inode));

  // The walk found another directory at root/a (other inode): it must read
  // that one itself rather than be given the listing of the old one.
  Identity a = IdentityOf(root + "/a");
  CHECK_FALSE(prefetcher.Take(root + "/a", a.device, a.inode + 1));
  // The subdirectories queued from root are still served.
  Identity b = IdentityOf(root + "/b");
  CHECK(prefetcher.Take(root + "/b", b.device, b.inode));
}

TEST_CASE("ListingPrefetcher knows nothing outside its roots", "[prefetch]") {
  TempDir dir;
  const std::string root = MakeTree(dir);
  ListingPrefetcher prefetcher({root + "/c", root + "/top.txt"}, 2);
  Identity a = IdentityOf(root + "/a");
  CHECK_FALSE(prefetcher.Take(root + "/a", a.device, a.inode));
  // A root that is a file cannot be listed: the caller deals with it.
  Identity f = IdentityOf(root + "/top.txt");
  CHECK_FALSE(prefetcher.Take(root + "/top.txt", f.device, f.inode));
  std::vector<std::string> expected = {root + "/c", root + "/c/y", root + "/c/y/z"};
  CHECK(TakeAll(prefetcher, root + "/c") == expected);
}

// The walk's own pattern: take the listing, or read the directory itself.
std::vector<std::string> WalkWithFallback(ListingPrefetcher& prefetcher, const std::string& path,
                                          size_t* served) {
  Identity id = IdentityOf(path);
  auto listing = prefetcher.Take(path, id.device, id.inode);
  if (listing) {
    ++*served;
  } else {
    listing = ReadDirectory(nullptr, path);
  }
  REQUIRE(listing->error.ok());
  std::vector<std::string> visited{path};
  for (const auto& node : listing->nodes) {
    if (node.type != format::NodeType::kDir) continue;
    auto below = WalkWithFallback(prefetcher, JoinPath(path, node.name), served);
    visited.insert(visited.end(), below.begin(), below.end());
  }
  return visited;
}

TEST_CASE("ListingPrefetcher over budget leaves the walk to read, never blocks it",
          "[prefetch]") {
  TempDir dir;
  const std::string root = MakeTree(dir);
  // With room for a single entry it knows at most one directory ahead; the
  // walk reads the rest itself and still sees the whole tree.
  ListingPrefetcher prefetcher({root}, 2, /*max_entries=*/1, /*head_start=*/1);
  size_t served = 0;
  std::vector<std::string> expected;
  for (const auto& p : kWalkOrder) expected.push_back(root + p);
  CHECK(WalkWithFallback(prefetcher, root, &served) == expected);
  CHECK(served >= 1);  // the root at least
  CHECK(served < expected.size());
}

TEST_CASE("ListingPrefetcher stops cleanly with work left", "[prefetch]") {
  TempDir dir;
  const std::string root = MakeTree(dir);
  for (int i = 0; i < 200; ++i) fs::create_directories(root + "/many/d" + std::to_string(i));
  { ListingPrefetcher prefetcher({root}, 4); }  // destroyed without a single Take
  SUCCEED("no hang, no leak (ASan)");
}

}  // namespace
}  // namespace coffre::backup
