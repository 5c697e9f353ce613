// RepairSnapshots on a LocalBackend: after a data pack is deleted, the new
// snapshot restores every intact file bit for bit, leaves out the damaged
// one and names it in its report file; the original stays; a second run
// does not repair the same snapshot again; a lost folder listing is kept
// as an empty folder and named; a dry run writes nothing.
#include "agent/maintain/repair_snapshots.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "agent/backup/archiver.h"
#include "agent/restore/restorer.h"
#include "core/storage/local_backend.h"
#include "tests/support/local_repo.h"
#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre::maintain {
namespace {

namespace fs = std::filesystem;

Bytes ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void Write(const std::string& path, ByteView data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

struct Fixture : testing::LocalRepo {
  const std::string src = dir.Sub("src");

  std::set<fs::path> Packs() {
    std::set<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(fs::path(repo_path) / "data"))
      if (e.is_regular_file()) out.insert(e.path());
    return out;
  }

  ObjectId BackUp() {
    auto repo = Open();
    backup::BackupOptions o;
    o.paths = {src};
    o.host = "h";
    auto result = backup::RunBackup(*repo, o);
    REQUIRE(result);
    return result->snapshot_id;
  }

  std::string Restore(repo::Repository& repo, const ObjectId& id) {
    auto snapshot = repo.LoadSnapshot(id);
    REQUIRE(snapshot);
    const std::string target = dir.Sub("restore-" + id.Short());
    restore::RestoreOptions o;
    o.target = target;
    auto stats = restore::RunRestore(repo, *snapshot, o);
    REQUIRE(stats);
    CHECK(stats->damaged == 0);
    return target;
  }
};

TEST_CASE("repair snapshots keeps what is readable and names what is not", "[unit][repair]") {
  Fixture f;
  Write(f.src + "/keep/a.txt", AsBytes(std::string("intact text")));
  Write(f.src + "/keep/b.bin", testing::RandomBytes(1, 300000));
  f.BackUp();
  // The victim's data goes to packs of its own: the second backup adds
  // only it, and its packs are the new ones.
  const auto before = f.Packs();
  Write(f.src + "/lost.bin", testing::RandomBytes(2, 9 << 20));
  const ObjectId original = f.BackUp();
  std::set<fs::path> added;
  for (const fs::path& p : f.Packs())
    if (!before.count(p)) added.insert(p);
  REQUIRE_FALSE(added.empty());
  // Delete the largest new pack: the victim's data, not a tree pack.
  fs::path victim = *added.begin();
  for (const fs::path& p : added)
    if (fs::file_size(p) > fs::file_size(victim)) victim = p;
  fs::remove(victim);

  auto repo = f.Open();
  RepairSnapshotsOptions dry;
  dry.dry_run = true;
  auto counted = RepairSnapshots(*repo, dry);
  REQUIRE(counted);
  REQUIRE(counted->repaired.size() == 1);
  CHECK_FALSE(counted->repaired[0].repaired);
  CHECK(repo->ListSnapshots()->size() == 2);

  auto stats = RepairSnapshots(*repo, {});
  if (!stats) FAIL(stats.error().message());
  CHECK(stats->checked == 2);
  REQUIRE(stats->repaired.size() == 1);
  const RepairedSnapshot& r = stats->repaired[0];
  CHECK(r.original == original);
  REQUIRE(r.repaired);
  REQUIRE(r.damaged.size() == 1);
  CHECK_THAT(r.damaged[0], Catch::StartsWith(f.src + "/lost.bin: "));
  CHECK_THAT(r.damaged[0], Catch::Contains("is missing"));

  auto fresh = f.Open();
  auto listed = fresh->ListSnapshots();
  REQUIRE(listed);
  CHECK(listed->size() == 3);  // the original stays
  auto fixed = fresh->LoadSnapshot(*r.repaired);
  REQUIRE(fixed);
  CHECK(std::count(fixed->tags.begin(), fixed->tags.end(), "repaired") == 1);
  CHECK(std::count(fixed->tags.begin(), fixed->tags.end(), "repaired-from:" + original.Short()) == 1);

  const std::string out = f.Restore(*fresh, *r.repaired);
  CHECK(ReadAll(out + f.src + "/keep/a.txt") == ReadAll(f.src + "/keep/a.txt"));
  CHECK(ReadAll(out + f.src + "/keep/b.bin") == ReadAll(f.src + "/keep/b.bin"));
  CHECK_FALSE(fs::exists(out + f.src + "/lost.bin"));
  const Bytes report = ReadAll(out + "/" + kDamageReportName);
  const std::string text(report.begin(), report.end());
  CHECK_THAT(text, Catch::Contains(f.src + "/lost.bin"));
  CHECK_THAT(text, Catch::Contains(original.Hex()));

  // Run again: the original already has its repaired copy.
  auto again = RepairSnapshots(*fresh, {});
  REQUIRE(again);
  CHECK(again->already_repaired == 1);
  CHECK(again->repaired.empty());
}

TEST_CASE("repair snapshots keeps a folder whose listing is lost, empty and named",
          "[unit][repair]") {
  Fixture f;
  Write(f.src + "/kept.txt", AsBytes(std::string("kept")));
  Write(f.src + "/deep/inner.txt", AsBytes(std::string("inner")));
  const ObjectId original = f.BackUp();
  // Find the tree of "deep" and damage its stored bytes only.
  auto repo = f.Open();
  REQUIRE(repo->LoadIndex().ok());
  auto snapshot = repo->LoadSnapshot(original);
  REQUIRE(snapshot);
  BlobId tree = snapshot->root;
  std::vector<std::string> parts;
  for (const auto& part : fs::path(f.src + "/deep").relative_path()) parts.push_back(part.string());
  for (const std::string& part : parts) {
    auto t = repo->LoadTree(tree);
    REQUIRE(t);
    const format::Node* node = format::FindNode(*t, part);
    REQUIRE(node);
    REQUIRE(node->subtree);
    tree = *node->subtree;
  }
  // The deep tree is one blob among the trees of its pack; flipping a byte
  // inside that blob's stored bytes damages exactly it.
  auto loc = repo->index().Find(tree);
  REQUIRE(loc);
  fs::path pack = fs::path(f.repo_path) / "data" / loc->pack.Hex().substr(0, 2) / loc->pack.Hex();
  testing::FlipByte(pack, static_cast<std::streamoff>(loc->entry.offset + loc->entry.stored_len / 2));
  auto fresh = f.Open();
  auto stats = RepairSnapshots(*fresh, {});
  if (!stats) FAIL(stats.error().message());
  REQUIRE(stats->repaired.size() == 1);
  REQUIRE(stats->repaired[0].damaged.size() == 1);
  CHECK_THAT(stats->repaired[0].damaged[0], Catch::StartsWith(f.src + "/deep/: "));
  const std::string out = f.Restore(*fresh, *stats->repaired[0].repaired);
  CHECK(ReadAll(out + f.src + "/kept.txt") == ReadAll(f.src + "/kept.txt"));
  CHECK(fs::is_directory(out + f.src + "/deep"));
  CHECK(fs::is_empty(out + f.src + "/deep"));
}

}  // namespace
}  // namespace coffre::maintain
