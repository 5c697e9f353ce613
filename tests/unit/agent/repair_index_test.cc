// RepairIndex on a LocalBackend: damaged and lost index objects are replaced
// by an index read from the packs' own headers; a pack whose header is
// damaged keeps what the old index said of it; a dry run changes nothing.
#include "agent/maintain/repair_index.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "agent/backup/archiver.h"
#include "agent/maintain/checker.h"
#include "core/format/pack.h"
#include "core/storage/local_backend.h"
#include "tests/support/local_repo.h"
#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre::maintain {
namespace {

namespace fs = std::filesystem;

using testing::FilesUnder;

void FlipByteAt(const fs::path& path, std::streamoff at) { testing::FlipByte(path, at); }

struct Fixture : testing::LocalRepo {
  Fixture() {
    const std::string src = dir.Sub("src");
    fs::create_directories(src);
    for (int i = 0; i < 3; ++i) {
      Bytes data = testing::RandomBytes(10 + i, 1 << 20);
      std::ofstream(src + "/f" + std::to_string(i), std::ios::binary)
          .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
      auto repo = Open();
      backup::BackupOptions o;
      o.paths = {src};
      o.host = "h";
      REQUIRE(backup::RunBackup(*repo, o));
    }
  }

  // check --read-data's problems, and how many packs it found in no index.
  std::pair<std::vector<std::string>, uint64_t> Check() {
    auto repo = Open();
    std::vector<std::string> problems;
    CheckOptions o;
    o.read_data = true;
    o.report = [&](const std::string& line) { problems.push_back(line); };
    auto stats = RunCheck(*repo, o);
    REQUIRE(stats);
    return {problems, stats->unindexed_packs};
  }
};

TEST_CASE("repair index rebuilds a lost and damaged index from the packs' headers",
          "[unit][repair]") {
  Fixture f;
  auto index = FilesUnder(fs::path(f.repo_path) / "index");
  REQUIRE(index.size() >= 3);
  fs::remove(index[0]);
  FlipByteAt(index[1], static_cast<std::streamoff>(fs::file_size(index[1]) / 2));
  REQUIRE_FALSE(f.Check().first.empty());

  auto repo = f.Open();
  RepairIndexOptions dry;
  dry.dry_run = true;
  auto counted = RepairIndex(*repo, dry);
  REQUIRE(counted);
  CHECK(counted->new_objects == 0);
  CHECK(FilesUnder(fs::path(f.repo_path) / "index").size() == index.size() - 1);

  auto stats = RepairIndex(*repo, {});
  REQUIRE(stats);
  CHECK(stats->packs == FilesUnder(fs::path(f.repo_path) / "data").size());
  CHECK(stats->lost_packs == 0);
  CHECK(stats->old_objects == index.size() - 1);
  CHECK(stats->new_objects == 1);
  CHECK(FilesUnder(fs::path(f.repo_path) / "index").size() == 1);
  auto [problems, unindexed] = f.Check();
  CHECK(problems.empty());
  CHECK(unindexed == 0);
  CHECK(FilesUnder(fs::path(f.repo_path) / "locks").empty());
}

TEST_CASE("repair index keeps a pack whose header is damaged as the old index had it",
          "[unit][repair]") {
  Fixture f;
  // A pack's trailer holds the header's length: one flipped byte at the end
  // makes the header unreadable while every blob before it is intact.
  auto packs = FilesUnder(fs::path(f.repo_path) / "data");
  const fs::path victim = packs.back();
  FlipByteAt(victim, static_cast<std::streamoff>(fs::file_size(victim) - 2));

  auto repo = f.Open();
  std::vector<std::string> warnings;
  RepairIndexOptions o;
  o.warn = [&](const std::string& line) { warnings.push_back(line); };
  auto stats = RepairIndex(*repo, o);
  REQUIRE(stats);
  CHECK(stats->from_old_index == 1);
  CHECK(stats->lost_packs == 0);
  CHECK(stats->packs == packs.size());
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains(victim.filename().string()));
}

}  // namespace
}  // namespace coffre::maintain
