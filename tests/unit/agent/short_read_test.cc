// A backend that returns fewer bytes than asked (with OK) is caught by the
// Repository: a pack range comes back as kCorruption naming the pack and
// saying how short it was, a read-ahead stretch that comes back short costs
// nothing but the stretch, and a restore over such reads calls the files
// damaged instead of slicing past the end of what it got. Found by the
// seeded fault loop (fault_seed_loop_test.cc).
#include <algorithm>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "agent/backup/archiver.h"
#include "agent/restore/restorer.h"
#include "core/storage/backend_wrapper.h"
#include "core/storage/memory_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre {
namespace {

// Cuts every ranged read of file data longer than `cut_above` to `keep`
// bytes (0: half of it), and asks for read-ahead as a vault does.
class ShortReads : public storage::BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;
  Result<Bytes> Load(const storage::ObjectName& object, uint64_t offset,
                     uint64_t length) override {
    auto r = base().Load(object, offset, length);
    if (r && on && object.kind == storage::ObjectKind::kData && !object.metadata &&
        length > cut_above)
      // A new buffer: the old one's capacity would still hold the bytes cut,
      // and a reader that runs past the end would find them there.
      *r = Bytes(r->begin(), r->begin() + static_cast<ptrdiff_t>(
                                 keep ? std::min<uint64_t>(keep, r->size() - 1) : r->size() / 2));
    return r;
  }
  uint64_t ReadAheadBytes() const override { return 1 << 20; }
  bool on = false;
  uint64_t cut_above = 0;
  uint64_t keep = 0;
};

struct Fixture {
  testing::TempDir dir;
  std::string src = dir.Sub("src");
  std::shared_ptr<storage::MemoryBackend> memory = std::make_shared<storage::MemoryBackend>();
  std::shared_ptr<ShortReads> reads = std::make_shared<ShortReads>(memory);
  std::unique_ptr<repo::Repository> repo;
  format::Snapshot snapshot;

  Fixture() {
    std::filesystem::create_directories(src);
    Bytes data = testing::RandomBytes(9, 400'000);
    testing::WriteFile(src + "/a.bin", std::string(data.begin(), data.end()));
    auto r = repo::Repository::Init(std::make_unique<storage::BackendWrapper>(reads),
                                    AsBytes("pw"), testing::FastInitOptions());
    REQUIRE(r);
    backup::BackupOptions o;
    o.paths = {src};
    auto result = backup::RunBackup(**r, o);
    REQUIRE(result);
    snapshot = result->snapshot;
    auto opened = repo::Repository::Open(std::make_unique<storage::BackendWrapper>(reads),
                                         AsBytes("pw"));
    REQUIRE(opened);
    repo = std::move(*opened);
    REQUIRE(repo->LoadIndex().ok());
  }

  // The data blobs of the backup, in pack order.
  std::vector<format::PackEntry> DataBlobs(PackId* pack) {
    for (const auto& [id, entries] : repo->index().EntriesByPack()) {
      if (entries.empty() || entries[0].type != format::BlobType::kData) continue;
      *pack = id;
      auto sorted = entries;
      std::sort(sorted.begin(), sorted.end(),
                [](const auto& a, const auto& b) { return a.offset < b.offset; });
      return sorted;
    }
    FAIL("no data pack");
    return {};
  }
};

TEST_CASE("a pack range the backend returns short is corruption naming the pack",
          "[unit][short_read]") {
  Fixture f;
  PackId pack;
  auto blobs = f.DataBlobs(&pack);
  f.reads->on = true;
  auto range = f.repo->LoadPackRange(pack, blobs[0].offset, blobs[0].stored_len);
  REQUIRE_FALSE(range);
  CHECK(range.error().code() == ErrorCode::kCorruption);
  CHECK_THAT(range.error().message(), Catch::Contains(pack.Hex()));
  CHECK_THAT(range.error().message(), Catch::Contains("short read"));
}

TEST_CASE("a read-ahead stretch that comes back short still gives each blob exactly",
          "[unit][short_read]") {
  Fixture f;
  PackId pack;
  auto blobs = f.DataBlobs(&pack);
  REQUIRE(blobs.size() >= 3);
  // Only reads longer than any one blob are cut: the stretches.
  uint64_t longest = 0;
  for (const auto& b : blobs) longest = std::max<uint64_t>(longest, b.stored_len);
  f.reads->cut_above = longest;
  f.reads->keep = 10;  // shorter than any blob
  f.reads->on = true;
  // In pack order, so the second read continues the first and reads ahead.
  for (const auto& b : blobs) {
    INFO("blob at " << b.offset);
    auto blob = f.repo->LoadBlob(b.id);
    REQUIRE(blob);
    CHECK(blob->size() == b.raw_len);
  }
}

TEST_CASE("a restore over short reads calls the file damaged, never restores it short",
          "[unit][short_read]") {
  Fixture f;
  f.reads->on = true;  // every data read, so the one-by-one retry reads short too
  testing::TempDir out;
  std::vector<std::string> warnings;
  restore::RestoreOptions o;
  o.target = out.path();
  o.warn = [&](const std::string& line) { warnings.push_back(line); };
  auto stats = restore::RunRestore(*f.repo, f.snapshot, o);
  REQUIRE(stats);
  CHECK(stats->damaged == 1);
  REQUIRE_FALSE(warnings.empty());
  CHECK_THAT(warnings[0], Catch::Contains("short read"));
}

}  // namespace
}  // namespace coffre
