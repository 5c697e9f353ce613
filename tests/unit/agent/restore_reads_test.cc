// What a restore asks of the repository for file data, counted below the
// Repository as a vault would see it: each stored byte once, in few large
// reads, however the files share chunks; and a backend that stops
// answering stops the restore with its error, never calling files damaged
// or leaving a short file that looks whole.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "agent/backup/archiver.h"
#include "agent/restore/restorer.h"
#include "core/storage/backend_wrapper.h"
#include "core/storage/local_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// The backend's file data loads (not trees): counted, or refused as a vault
// that went away would refuse them.
class DataReads : public storage::BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;
  Result<Bytes> Load(const storage::ObjectName& object, uint64_t offset,
                     uint64_t length) override {
    const bool file_data = object.kind == storage::ObjectKind::kData && !object.metadata;
    if (file_data && fail) return Err(UnavailableError("no answer from the vault"));
    auto r = base().Load(object, offset, length);
    if (r && file_data) {
      ++loads;
      bytes += r->size();
    }
    return r;
  }
  std::atomic<bool> fail{false};
  std::atomic<uint64_t> loads{0};
  std::atomic<uint64_t> bytes{0};
};

void WriteBytes(const std::string& path, ByteView data) {
  testing::WriteFile(path, std::string(reinterpret_cast<const char*>(data.data()), data.size()));
}

// A repository holding one backup of `src`, reopened through DataReads.
struct Fixture {
  TempDir dir;
  std::string repo_path = dir.Sub("repo");
  std::string src = dir.Sub("src");
  format::Snapshot snapshot;
  std::shared_ptr<DataReads> reads;
  std::unique_ptr<repo::Repository> repo;

  void BackUp() {
    auto created = storage::LocalBackend::Create(repo_path);
    REQUIRE(created);
    auto r = repo::Repository::Init(std::move(*created), AsBytes("pw"), testing::FastInitOptions());
    REQUIRE(r);
    backup::BackupOptions o;
    o.paths = {src};
    o.host = "test-host";
    auto result = backup::RunBackup(**r, o);
    REQUIRE(result);
    snapshot = result->snapshot;
    auto local = storage::LocalBackend::Open(repo_path);
    REQUIRE(local);
    reads = std::make_shared<DataReads>(std::shared_ptr<storage::Backend>(std::move(*local)));
    auto opened = repo::Repository::Open(std::make_unique<storage::BackendWrapper>(reads), AsBytes("pw"));
    REQUIRE(opened);
    repo = std::move(*opened);
  }

  Result<restore::RestoreStats> Restore(const std::string& target,
                                        std::vector<std::string>* warnings) {
    restore::RestoreOptions o;
    o.target = target;
    o.warn = [warnings](const std::string& w) { warnings->push_back(w); };
    return restore::RunRestore(*repo, snapshot, o);
  }
};

TEST_CASE("a restore reads each stored byte of file data once, in few large reads",
          "[unit][restore_reads][tsan]") {
  Fixture f;
  // Many small files whose chunks are scattered over the packs, and many
  // copies of the same content: a restore that followed the files' order
  // would read packs piecemeal and the shared chunks over and over.
  fs::create_directories(f.src + "/many");
  for (int i = 0; i < 600; ++i) {
    Bytes data = testing::RandomBytes(1000 + static_cast<uint64_t>(i % 150), 3000 + 97 * (i % 150));
    WriteBytes(f.src + "/many/f" + std::to_string(i), data);
  }
  WriteBytes(f.src + "/big.bin", testing::RandomBytes(7, 1'500'000));
  f.BackUp();
  REQUIRE(f.repo->LoadIndex().ok());
  uint64_t data_pack_bytes = 0;
  uint64_t data_packs = 0;
  for (const auto& pack : f.repo->index().Packs()) {
    if (pack.tree_pack()) continue;
    data_pack_bytes += pack.size;
    ++data_packs;
  }
  REQUIRE(data_packs > 0);

  TempDir out;
  std::vector<std::string> warnings;
  auto stats = f.Restore(out.path(), &warnings);
  REQUIRE(stats);
  CHECK(stats->damaged == 0);
  CHECK(warnings.empty());
  for (const auto& entry : fs::recursive_directory_iterator(f.src)) {
    if (!entry.is_regular_file()) continue;
    INFO(entry.path());
    CHECK(testing::ReadFile(out.path() + entry.path().string()) ==
          testing::ReadFile(entry.path().string()));
  }
  INFO("data packs " << data_packs << " (" << data_pack_bytes << " bytes); read " << f.reads->loads
                     << " times, " << f.reads->bytes << " bytes");
  // 601 files fit in two batches under a default descriptor limit of 1024,
  // so no byte is read twice and each pack is read in a piece or two.
  CHECK(f.reads->bytes <= data_pack_bytes);
  CHECK(f.reads->loads <= 2 * data_packs + 2);
}

TEST_CASE("a restore whose backend stops answering fails with that error, not as damage",
          "[unit][restore_reads]") {
  Fixture f;
  fs::create_directories(f.src);
  WriteBytes(f.src + "/big.bin", testing::RandomBytes(3, 1'500'000));
  WriteBytes(f.src + "/small.bin", testing::RandomBytes(4, 20'000));
  f.BackUp();
  f.reads->fail = true;  // trees still come; file data does not
  TempDir out;
  std::vector<std::string> warnings;
  auto stats = f.Restore(out.path(), &warnings);
  REQUIRE_FALSE(stats);
  CHECK(stats.error().code() == ErrorCode::kUnavailable);
  CHECK_THAT(stats.error().message(), Catch::Contains("no answer from the vault"));
  CHECK(warnings.empty());  // no file is called damaged
  // The file left short does not look whole: no size, no metadata.
  struct stat st{};
  REQUIRE(lstat((out.path() + f.src + "/big.bin").c_str(), &st) == 0);
  CHECK(st.st_size == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

}  // namespace
}  // namespace coffre
