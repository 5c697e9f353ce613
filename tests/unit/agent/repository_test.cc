// Repository: init/open with passphrases, the refusals a reader owes the user
// (not a repository, wrong passphrase, newer format), snapshots and their
// lookup by id, key-slot management, and reopening with remembered keys.
#include "agent/repo/repository.h"

#include <map>
#include <memory>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "core/format/index.h"
#include "core/format/sealed_object.h"
#include "core/storage/fault_backend.h"
#include "core/storage/memory_backend.h"
#include "tests/support/fast_init.h"

namespace coffre::repo {
namespace {

using storage::MemoryBackend;
using storage::ObjectKind;

// Small scrypt cost: these tests open many key slots.
constexpr crypto::ScryptParams kFastKdf{1024, 8, 1};

// Several Repository objects over one MemoryBackend, as several processes
// over one vault: each gets its own forwarding wrapper.
std::unique_ptr<storage::Backend> View(const std::shared_ptr<MemoryBackend>& memory) {
  return std::make_unique<storage::FaultInjectingBackend>(memory);
}

std::unique_ptr<Repository> InitRepo(const std::shared_ptr<MemoryBackend>& memory,
                                     std::string_view passphrase = "correct horse") {
  auto repo = Repository::Init(View(memory), AsBytes(passphrase), testing::FastInitOptions());
  REQUIRE(repo);
  return std::move(*repo);
}

size_t CountObjects(storage::Backend& backend, ObjectKind kind) {
  size_t n = 0;
  REQUIRE(backend.List(kind, [&](const storage::ObjectInfo&) {
                   ++n;
                   return Status::Ok();
                 }).ok());
  return n;
}

TEST_CASE("repository opens with the passphrase it was initialised with", "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto created = InitRepo(memory);
  auto opened = Repository::Open(View(memory), AsBytes("correct horse"));
  REQUIRE(opened);
  const Repository& r = **opened;
  CHECK(r.config().repo_id == created->config().repo_id);
  CHECK(r.config().chunker.avg_size == 16384);
  CHECK(r.keys().data_key == created->keys().data_key);
  CHECK(r.keys().id_key == created->keys().id_key);
  CHECK(r.keys().chunker_key == created->keys().chunker_key);
  CHECK(r.key_in_use() == created->key_in_use());
  CHECK(CountObjects(*memory, ObjectKind::kKey) == 1);
}

TEST_CASE("repository refuses a wrong passphrase", "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  InitRepo(memory);
  auto opened = Repository::Open(View(memory), AsBytes("correct hors"));
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code() == ErrorCode::kAuthFailed);
  CHECK_THAT(opened.error().message(), Catch::Contains("wrong passphrase"));
}

TEST_CASE("repository init refuses a backend that already holds one", "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto first = InitRepo(memory);
  auto second = Repository::Init(View(memory), AsBytes("other"), testing::FastInitOptions());
  REQUIRE_FALSE(second);
  CHECK(second.error().code() == ErrorCode::kAlreadyExists);
  // The first repository still opens, with its own keys only.
  CHECK(Repository::Open(View(memory), AsBytes("correct horse")));
  CHECK(CountObjects(*memory, ObjectKind::kKey) == 1);
}

TEST_CASE("repository open of an empty backend says it is not a repository",
          "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto opened = Repository::Open(View(memory), AsBytes("anything"));
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code() == ErrorCode::kNotFound);
  CHECK_THAT(opened.error().message(), Catch::Contains("not a coffre repository"));
}

TEST_CASE("repository refuses a config of a newer format version", "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  InitRepo(memory);
  storage::ObjectName config{ObjectKind::kConfig, std::string(storage::kConfigName)};
  Bytes raw = memory->Load(config).value();
  REQUIRE(raw.size() > 4);
  REQUIRE(raw[4] == format::kRepositoryVersion);
  raw[4] = format::kRepositoryVersion + 1;
  REQUIRE(memory->Overwrite(config, raw).ok());

  auto opened = Repository::Open(View(memory), AsBytes("correct horse"));
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code() == ErrorCode::kUnsupportedVersion);
  CHECK_THAT(opened.error().message(), Catch::Contains("2"));
}

TEST_CASE("repository refuses a config altered without the keys", "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  InitRepo(memory);
  storage::ObjectName config{ObjectKind::kConfig, std::string(storage::kConfigName)};
  Bytes raw = memory->Load(config).value();
  raw[5] ^= 0x01;  // first byte of repo_id: still parses, HMAC must catch it
  REQUIRE(memory->Overwrite(config, raw).ok());
  auto opened = Repository::Open(View(memory), AsBytes("correct horse"));
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code() == ErrorCode::kCorruption);
}

format::Snapshot MakeSnapshot(int64_t time_ns, const std::string& host) {
  format::Snapshot s;
  s.time_ns = time_ns;
  s.host = host;
  s.user = "tester";
  s.paths = {"/srv/" + host};
  s.tags = {"daily"};
  std::array<uint8_t, 32> root{};
  root[0] = static_cast<uint8_t>(time_ns);
  s.root = BlobId(root);
  s.stats.files = static_cast<uint64_t>(time_ns);
  s.program_version = "test";
  return s;
}

TEST_CASE("repository lists snapshots oldest first and loads them back", "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto repo = InitRepo(memory);
  CHECK(repo->ListSnapshots().value().empty());
  CHECK(repo->FindSnapshot("latest").error().code() == ErrorCode::kNotFound);

  std::map<int64_t, ObjectId> ids;
  for (int64_t t : {300, 100, 200}) {
    auto id = repo->SaveSnapshot(MakeSnapshot(t, "h" + std::to_string(t)));
    REQUIRE(id);
    ids[t] = *id;
    CHECK(repo->LoadSnapshot(*id).value() == MakeSnapshot(t, "h" + std::to_string(t)));
  }
  auto all = repo->ListSnapshots();
  REQUIRE(all);
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].snapshot.time_ns == 100);
  CHECK((*all)[1].snapshot.time_ns == 200);
  CHECK((*all)[2].snapshot.time_ns == 300);
  for (const auto& listing : *all) CHECK(listing.id == ids[listing.snapshot.time_ns]);

  // Saving identical bytes again is not an error (the id is content-derived
  // but sealing draws a fresh salt, so it is a new object).
  CHECK(repo->SaveSnapshot(MakeSnapshot(100, "h100")));
}

TEST_CASE("repository refuses a snapshot whose bytes do not match its id", "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto repo = InitRepo(memory);
  ObjectId id = repo->SaveSnapshot(MakeSnapshot(1, "a")).value();
  storage::ObjectName name{ObjectKind::kSnapshot, id.Hex()};
  Bytes raw = memory->Load(name).value();
  raw.back() ^= 0x80;
  REQUIRE(memory->Overwrite(name, raw).ok());
  auto loaded = repo->LoadSnapshot(id);
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code() == ErrorCode::kCorruption);
  CHECK(repo->ListSnapshots().error().code() == ErrorCode::kCorruption);
}

TEST_CASE("repository finds a snapshot by latest, full id or unique prefix",
          "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto repo = InitRepo(memory);
  std::vector<ObjectId> ids;
  for (int64_t t : {10, 30, 20}) ids.push_back(repo->SaveSnapshot(MakeSnapshot(t, "x")).value());

  auto latest = repo->FindSnapshot("latest");
  REQUIRE(latest);
  CHECK(latest->id == ids[1]);
  CHECK(latest->snapshot.time_ns == 30);

  for (const ObjectId& id : ids) {
    auto full = repo->FindSnapshot(id.Hex());
    REQUIRE(full);
    CHECK(full->id == id);
    auto by_prefix = repo->FindSnapshot(id.Short());
    REQUIRE(by_prefix);
    CHECK(by_prefix->id == id);
  }

  SECTION("a prefix shorter than 4 digits is refused") {
    auto r = repo->FindSnapshot(ids[0].Hex().substr(0, 3));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == ErrorCode::kInvalidArgument);
    CHECK(repo->FindSnapshot("").error().code() == ErrorCode::kInvalidArgument);
    CHECK(repo->FindSnapshot("zzzz").error().code() == ErrorCode::kInvalidArgument);
    CHECK(repo->FindSnapshot(ids[0].Hex() + "0").error().code() == ErrorCode::kInvalidArgument);
  }
  SECTION("a prefix that matches nothing is not found") {
    // Eight digits that start differently from every stored id.
    std::set<char> used;
    for (const ObjectId& id : ids) used.insert(id.Hex()[0]);
    char free_digit = '0';
    while (used.count(free_digit)) ++free_digit;
    auto r = repo->FindSnapshot(std::string(8, free_digit));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == ErrorCode::kNotFound);
  }
  SECTION("an ambiguous prefix is refused") {
    // Two objects whose names share their first 6 digits; the ambiguity is
    // detected from the names alone.
    std::string a = "abcdef" + std::string(58, '1');
    std::string b = "abcdef" + std::string(58, '2');
    REQUIRE(memory->Save({ObjectKind::kSnapshot, a}, ToBytes("x")).ok());
    REQUIRE(memory->Save({ObjectKind::kSnapshot, b}, ToBytes("y")).ok());
    auto r = repo->FindSnapshot("abcd");
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(r.error().message(), Catch::Contains("2 snapshots"));
    // One more digit makes it unique again, and then the bad bytes show.
    CHECK(repo->FindSnapshot("abcdef1").error().code() == ErrorCode::kCorruption);
  }
}

TEST_CASE("repository opens with a key slot added later", "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto repo = InitRepo(memory);
  auto added = repo->AddKey(AsBytes("second passphrase"), "admin", kFastKdf);
  REQUIRE(added);
  CHECK(repo->AddKey(AsBytes(""), "empty", kFastKdf).error().code() ==
        ErrorCode::kInvalidArgument);

  auto opened = Repository::Open(View(memory), AsBytes("second passphrase"));
  REQUIRE(opened);
  CHECK((*opened)->key_in_use() == *added);
  CHECK((*opened)->keys().data_key == repo->keys().data_key);
  // The first passphrase still works.
  CHECK(Repository::Open(View(memory), AsBytes("correct horse")));

  auto keys = repo->ListKeys();
  REQUIRE(keys);
  REQUIRE(keys->size() == 2);
  CHECK((*keys)[0].info.label == "init");
  CHECK((*keys)[0].in_use);
  CHECK((*keys)[1].info.label == "admin");
  CHECK_FALSE((*keys)[1].in_use);
}

TEST_CASE("repository removes a key slot but never the one in use or the last",
          "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto repo = InitRepo(memory);
  ObjectId first = repo->key_in_use();
  ObjectId second = repo->AddKey(AsBytes("second"), "agent", kFastKdf).value();

  Status in_use = repo->RemoveKey(first.Hex().substr(0, 8));
  CHECK(in_use.code() == ErrorCode::kInvalidArgument);
  CHECK(CountObjects(*memory, ObjectKind::kKey) == 2);
  CHECK(repo->RemoveKey("").code() == ErrorCode::kNotFound);

  // Another process opened with the second passphrase removes the first slot;
  // the first process's slot is gone, so the only slot left is not "in use"
  // for it, and it must still not be removable.
  auto other = Repository::Open(View(memory), AsBytes("second")).value();
  REQUIRE(other->RemoveKey(first.Hex()).ok());
  CHECK(Repository::Open(View(memory), AsBytes("correct horse")).error().code() ==
        ErrorCode::kAuthFailed);
  Status last = repo->RemoveKey(second.Hex());
  CHECK(last.code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(last.message(), Catch::Contains("last"));
  CHECK(CountObjects(*memory, ObjectKind::kKey) == 1);
  CHECK(Repository::Open(View(memory), AsBytes("second")));
}

TEST_CASE("repository passphrase change retires the old passphrase", "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto repo = InitRepo(memory);
  ObjectId old_slot = repo->key_in_use();
  auto added = repo->ChangePassphrase(AsBytes("new passphrase"));
  REQUIRE(added);
  CHECK(repo->key_in_use() == *added);
  CHECK(*added != old_slot);
  CHECK(CountObjects(*memory, ObjectKind::kKey) == 1);

  CHECK(Repository::Open(View(memory), AsBytes("correct horse")).error().code() ==
        ErrorCode::kAuthFailed);
  auto opened = Repository::Open(View(memory), AsBytes("new passphrase"));
  REQUIRE(opened);
  CHECK((*opened)->keys().data_key == repo->keys().data_key);
  // The label of the replaced slot is kept.
  CHECK(repo->ListKeys().value().at(0).info.label == "init");
}

// A slot that sorts first and does not open (damaged, or planted by anyone
// who may write keys/) must not lock out holders of a valid slot.
// One stray slot must not lock everyone out.
TEST_CASE("repository opens past a damaged key slot", "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  InitRepo(memory);
  Bytes junk = ToBytes("CFKY");
  junk.resize(200, 0x5a);
  REQUIRE(memory->Save({ObjectKind::kKey, std::string(64, '0')}, junk).ok());
  auto opened = Repository::Open(View(memory), AsBytes("correct horse"));
  INFO((opened ? std::string("opened") : opened.error().ToString()));
  CHECK(opened);
}

// What a retried `init` leaves when its first attempt saved the key slot but
// not the config: a slot that opens with the same passphrase but wraps other
// master keys. Whether Open works must not depend on how slot names sort.
// A slot left by an interrupted init opens, but its keys do not match.
TEST_CASE("repository opens past a key slot of other master keys",
          "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  InitRepo(memory);
  format::MasterKeys stray = format::MasterKeys::Generate();
  Bytes slot = format::EncodeKeySlot(stray, AsBytes("correct horse"),
                                     format::KeySlotInfo{1, "h", "u", "init"}, kFastKdf);
  REQUIRE(memory->Save({ObjectKind::kKey, std::string(64, '0')}, slot).ok());
  auto opened = Repository::Open(View(memory), AsBytes("correct horse"));
  INFO((opened ? std::string("opened") : opened.error().ToString()));
  CHECK(opened);
}

// A long-lived process (the agent daemon) reloads the index before each run.
// After another process superseded an index object (prune), the packs only
// the old object named must be forgotten, or the next backup dedups against
// blobs that prune deleted.
// A long-lived process (the daemon) must forget what a prune removed.
TEST_CASE("repository index reload forgets superseded index objects",
          "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto daemon = InitRepo(memory);
  format::IndexFile old_index;
  format::IndexedPack pack;
  pack.id = PackId(crypto::Sha256(AsBytes("pack")));
  pack.size = 100000;
  std::array<uint8_t, 32> blob{};
  blob[0] = 7;
  pack.entries.push_back({BlobId(blob), format::BlobType::kData, compress::Codec::kNone, 40, 116, 100});
  old_index.packs.push_back(pack);
  ObjectId old_id = daemon->SaveSealed(ObjectKind::kIndex, "CFIX", format::kIndexVersion,
                                       format::EncodeIndex(old_index))
                        .value();
  REQUIRE(daemon->LoadIndex().ok());
  REQUIRE(daemon->index().HasBlob(BlobId(blob)));

  // Prune, in another process: a new index without the pack replaces the old.
  auto pruner = Repository::Open(View(memory), AsBytes("correct horse")).value();
  format::IndexFile new_index;
  new_index.supersedes.push_back(old_id);
  REQUIRE(pruner->SaveSealed(ObjectKind::kIndex, "CFIX", format::kIndexVersion,
                             format::EncodeIndex(new_index)));
  REQUIRE(memory->Remove({ObjectKind::kIndex, old_id.Hex()}).ok());

  auto fresh = Repository::Open(View(memory), AsBytes("correct horse")).value();
  REQUIRE(fresh->LoadIndex().ok());
  CHECK_FALSE(fresh->index().HasBlob(BlobId(blob)));
  REQUIRE(daemon->LoadIndex().ok());
  CHECK_FALSE(daemon->index().HasBlob(BlobId(blob)));
}

TEST_CASE("Reopen with the keys an Open unlocked needs no passphrase, and notices a revoked slot",
          "[unit][repository]") {
  auto memory = std::make_shared<MemoryBackend>();
  InitRepo(memory);
  auto first = Repository::Open(View(memory), AsBytes("correct horse"));
  REQUIRE(first);
  const ObjectId slot = (*first)->key_in_use();
  auto again = Repository::Reopen(View(memory), slot, (*first)->keys());
  REQUIRE(again);
  CHECK((*again)->key_in_use() == slot);
  CHECK((*again)->config().repo_id == (*first)->config().repo_id);
  CHECK((*again)->keys().id_key == (*first)->keys().id_key);

  // Keys of another repository at the same place do not open it.
  auto other_memory = std::make_shared<MemoryBackend>();
  auto other = InitRepo(other_memory, "other");
  auto foreign = Repository::Reopen(View(memory), other->key_in_use(), other->keys());
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().code() == ErrorCode::kAuthFailed);

  // The slot replaced by a passphrase change: the remembered keys are the
  // same, but the slot they came from is gone, so they are refused.
  REQUIRE((*first)->ChangePassphrase(AsBytes("new horse")));
  auto revoked = Repository::Reopen(View(memory), slot, (*first)->keys());
  REQUIRE_FALSE(revoked);
  CHECK(revoked.error().code() == ErrorCode::kAuthFailed);
  CHECK_THAT(revoked.error().message(), Catch::Contains(slot.Short()));
}

}  // namespace
}  // namespace coffre::repo
