// Checker: a clean repository passes; a flipped byte, a deleted pack or a bad
// index object is reported by name; a pack no index names is only a note.
#include "agent/maintain/checker.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/backup/archiver.h"
#include "core/format/index.h"
#include "core/format/pack.h"
#include "core/format/tree.h"
#include "core/format/sealed_object.h"
#include "core/storage/fault_backend.h"
#include "core/storage/memory_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre::maintain {
namespace {

using storage::MemoryBackend;
using storage::ObjectKind;

struct Fixture {
  testing::TempDir src;
  std::shared_ptr<MemoryBackend> memory = std::make_shared<MemoryBackend>();
  std::unique_ptr<repo::Repository> repo;

  Fixture() {
    auto r = repo::Repository::Init(std::make_unique<storage::FaultInjectingBackend>(memory),
                                    AsBytes("pw"), testing::FastInitOptions());
    REQUIRE(r);
    repo = std::move(*r);
    std::filesystem::create_directories(src.Sub("sub/deeper"));
    uint64_t seed = 1;
    for (const char* name : {"a.bin", "b.bin", "sub/c.bin", "sub/deeper/d.txt"}) {
      Bytes data = testing::RandomBytes(seed++, 150'000);
      std::ofstream(src.Sub(name), std::ios::binary)
          .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    }
    backup::BackupOptions b;
    b.paths = {src.path()};
    b.host = "checked";
    REQUIRE(backup::RunBackup(*repo, b));
  }

  // Checks with a freshly opened repository, as `coffre check` would.
  struct Outcome {
    CheckStats stats;
    std::vector<std::string> reports;
    std::vector<std::string> notes;
  };
  Outcome Check(bool read_data) {
    auto r = repo::Repository::Open(std::make_unique<storage::FaultInjectingBackend>(memory),
                                    AsBytes("pw"));
    REQUIRE(r);
    Outcome out;
    CheckOptions o;
    o.read_data = read_data;
    o.report = [&](const std::string& line) { out.reports.push_back(line); };
    o.note = [&](const std::string& line) { out.notes.push_back(line); };
    auto stats = RunCheck(**r, o);
    REQUIRE(stats);
    out.stats = *stats;
    return out;
  }

  std::vector<std::string> Names(ObjectKind kind) {
    std::vector<std::string> names;
    REQUIRE(memory->List(kind, [&](const storage::ObjectInfo& info) {
                     names.push_back(info.name);
                     return Status::Ok();
                   }).ok());
    return names;
  }
};

bool AnyContains(const std::vector<std::string>& lines, const std::string& what) {
  for (const auto& l : lines)
    if (l.find(what) != std::string::npos) return true;
  return false;
}

TEST_CASE("check of a clean repository finds no error", "[unit][checker]") {
  Fixture f;
  for (bool read_data : {false, true}) {
    INFO("read_data " << read_data);
    auto out = f.Check(read_data);
    CHECK(out.stats.errors == 0);
    CHECK(out.reports.empty());
    CHECK(out.notes.empty());
    CHECK(out.stats.snapshots == 1);
    CHECK(out.stats.trees >= 5);  // "/", tmp, the source, sub, deeper
    CHECK(out.stats.packs == f.Names(ObjectKind::kData).size());
    CHECK(out.stats.unindexed_packs == 0);
    if (read_data) {
      CHECK(out.stats.blobs_read == f.repo->index().blob_count());
    } else {
      CHECK(out.stats.blobs_read == 0);
    }
  }
}

TEST_CASE("check with read_data names a pack with a flipped byte", "[unit][checker]") {
  Fixture f;
  // A byte in the middle of a data blob: the trees still load, so only
  // reading the data can find it.
  const format::PackEntry* victim = nullptr;
  PackId pack;
  auto by_pack = f.repo->index().EntriesByPack();
  for (const auto& [id, entries] : by_pack)
    for (const auto& e : entries)
      if (!victim && e.type == format::BlobType::kData) {
        victim = &e;
        pack = id;
      }
  REQUIRE(victim);
  storage::ObjectName name{ObjectKind::kData, pack.Hex()};
  Bytes raw = f.memory->Load(name).value();
  raw[victim->offset + victim->stored_len / 2] ^= 0x04;
  REQUIRE(f.memory->Overwrite(name, raw).ok());

  auto structure = f.Check(false);
  CHECK(structure.stats.errors == 0);

  auto full = f.Check(true);
  CHECK(full.stats.errors >= 1);
  CHECK(AnyContains(full.reports, pack.Hex()));
  CHECK(AnyContains(full.reports, victim->id.Short()));
}

TEST_CASE("check reports a deleted pack as missing", "[unit][checker]") {
  Fixture f;
  auto packs = f.Names(ObjectKind::kData);
  REQUIRE(!packs.empty());
  REQUIRE(f.memory->Remove({ObjectKind::kData, packs[0]}).ok());

  auto out = f.Check(false);
  CHECK(out.stats.errors >= 1);
  CHECK(AnyContains(out.reports, packs[0] + " is indexed but missing"));
}

TEST_CASE("check reports a pack whose size differs from the index", "[unit][checker]") {
  Fixture f;
  auto packs = f.Names(ObjectKind::kData);
  REQUIRE(!packs.empty());
  storage::ObjectName name{ObjectKind::kData, packs[0]};
  Bytes raw = f.memory->Load(name).value();
  raw.push_back(0);
  REQUIRE(f.memory->Overwrite(name, raw).ok());
  auto out = f.Check(false);
  CHECK(out.stats.errors >= 1);
  CHECK(AnyContains(out.reports, packs[0]));
}

TEST_CASE("check notes a pack that no index names without calling it an error",
          "[unit][checker]") {
  Fixture f;
  // What an interrupted backup leaves: a valid pack, stored, in no index.
  format::PackWriter writer(f.repo->keys().data_key);
  Bytes plain = testing::RandomBytes(77, 5000);
  BlobId id(f.repo->NewHasher()->Compute(plain));
  writer.AddBlob(format::BlobType::kData, id, compress::Codec::kNone,
                 static_cast<uint32_t>(plain.size()), plain);
  auto finished = writer.Finish();
  REQUIRE(f.memory->Save({ObjectKind::kData, finished.id.Hex()}, finished.bytes).ok());

  for (bool read_data : {false, true}) {
    INFO("read_data " << read_data);
    auto out = f.Check(read_data);
    CHECK(out.stats.errors == 0);
    CHECK(out.reports.empty());
    CHECK(out.stats.unindexed_packs == 1);
    REQUIRE(out.notes.size() == 1);
    CHECK_THAT(out.notes[0], Catch::Contains("1 pack"));
  }
}

TEST_CASE("check reports an index object that does not open", "[unit][checker]") {
  Fixture f;
  auto indexes = f.Names(ObjectKind::kIndex);
  REQUIRE(indexes.size() == 1);
  storage::ObjectName name{ObjectKind::kIndex, indexes[0]};
  Bytes raw = f.memory->Load(name).value();
  raw[raw.size() / 2] ^= 0x01;
  REQUIRE(f.memory->Overwrite(name, raw).ok());

  auto out = f.Check(false);
  CHECK(out.stats.errors >= 1);
  CHECK(AnyContains(out.reports, indexes[0]));
}

// The header says "its header must decrypt and agree with the index": an
// index entry pointing one byte off makes that blob unrestorable, so
// read_data must say so even though the pack itself is intact.
// Restore trusts the index, so read_data compares it with the pack header.
TEST_CASE("check with read_data reports an index entry that disagrees with its pack",
          "[unit][checker]") {
  Fixture f;
  auto indexes = f.Names(ObjectKind::kIndex);
  REQUIRE(indexes.size() == 1);
  Bytes sealed = f.memory->Load({ObjectKind::kIndex, indexes[0]}).value();
  auto opened = format::OpenObject(f.repo->keys().data_key, "CFIX", format::kIndexVersion, sealed);
  REQUIRE(opened);
  format::IndexFile index = format::DecodeIndex(opened->plaintext).value();
  format::PackEntry* moved = nullptr;
  for (auto& pack : index.packs)
    for (auto& e : pack.entries)
      if (!moved && e.type == format::BlobType::kData) moved = &e;
  REQUIRE(moved);
  moved->offset += 1;
  const std::string victim = moved->id.Short();
  REQUIRE(f.repo->SaveSealed(ObjectKind::kIndex, "CFIX", format::kIndexVersion,
                             format::EncodeIndex(index)));
  REQUIRE(f.memory->Remove({ObjectKind::kIndex, indexes[0]}).ok());

  auto out = f.Check(true);
  CHECK(out.stats.errors >= 1);
  CHECK(AnyContains(out.reports, victim));
}

TEST_CASE("a backup keeps trees and file data in packs of their own", "[unit][checker]") {
  Fixture f;
  size_t tree_packs = 0, data_packs = 0;
  for (const repo::PackRecord& pack : f.repo->index().Packs()) {
    CHECK_FALSE((pack.has_trees && pack.has_data));
    (pack.tree_pack() ? tree_packs : data_packs) += 1;
  }
  CHECK(tree_packs >= 1);
  CHECK(data_packs >= 1);
}

TEST_CASE("check reports a pack that mixes trees and data in a version 2 repository",
          "[unit][checker]") {
  Fixture f;
  REQUIRE(f.repo->config().version == 2);
  // One pack with a tree and a chunk, written the way a version 1 writer
  // did, and indexed.
  Bytes chunk = testing::RandomBytes(99, 1000);
  Bytes tree = format::EncodeTree(format::Tree{}).value();
  auto hasher = f.repo->NewHasher();
  format::PackWriter writer(f.repo->keys().data_key);
  writer.AddBlob(format::BlobType::kData, BlobId(hasher->Compute(chunk)), compress::Codec::kNone,
                 static_cast<uint32_t>(chunk.size()), chunk);
  writer.AddBlob(format::BlobType::kTree, BlobId(hasher->Compute(tree)), compress::Codec::kNone,
                 static_cast<uint32_t>(tree.size()), tree);
  auto pack = writer.Finish();
  REQUIRE(f.memory->Save({ObjectKind::kData, pack.id.Hex()}, pack.bytes).ok());
  format::IndexFile index;
  index.packs.push_back({pack.id, pack.salt, pack.bytes.size(), pack.entries});
  REQUIRE(f.repo->SaveIndex(index));
  auto out = f.Check(false);
  CHECK(out.stats.errors >= 1);
  CHECK(AnyContains(out.reports, pack.id.Hex() + " holds both trees and file data"));
}

TEST_CASE("check stops with kCancelled when asked", "[unit][checker]") {
  Fixture f;
  std::atomic<bool> cancel{true};
  CheckOptions o;
  o.read_data = true;
  o.cancel = &cancel;
  auto stats = RunCheck(*f.repo, o);
  REQUIRE_FALSE(stats);
  CHECK(stats.error().code() == ErrorCode::kCancelled);
}

}  // namespace
}  // namespace coffre::maintain
