// HeldStore (the deletion hold): a held delete takes the object out of the
// repository and out of every listing a request can make, keeps its bytes
// counted, and puts it back on restore; only once the hold has passed does
// a purge remove it and give its bytes back. On local folders and on a
// real S3 server (Ceph RGW).
#include "vault/store/held_store.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/crypto/hash.h"
#include "tests/support/random_data.h"
#include "tests/support/s3_server.h"
#include "tests/support/temp_dir.h"
#include "vault/store/object_service.h"
#include "vault/tenant/file_registry.h"

namespace coffre::vault {
namespace {

using storage::ObjectKind;
using storage::ObjectName;

constexpr int64_t kDay = 86'400'000'000'000;
// 2026-12-05 12:00 UTC.
constexpr int64_t kNoon = 1'796'472'000'000'000'000;

ObjectName Named(ObjectKind kind, const Bytes& data) {
  return {kind, HexEncode(crypto::Sha256(data))};
}

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<RepoStore> store;
  std::unique_ptr<UsageLedger> usage;
  Metrics metrics;
  std::unique_ptr<ObjectService> service;
  std::unique_ptr<HeldStore> held;
  storage::Backend* repo = nullptr;

  explicit Fixture(std::unique_ptr<RepoStore> opened) : store(std::move(opened)) {
    registry = FileRegistry::Create(dir.Sub("tenants.json")).value();
    REQUIRE(registry->AddTenant("acme", 0).ok());
    REQUIRE(registry->SetHold("acme", 14).ok());
    REQUIRE(store->CreateRepo("acme", "main").ok());
    usage = NodeUsageLedger::Count(*store).value();
    service = std::make_unique<ObjectService>(store.get(), registry.get(), usage.get(), &metrics);
    held = std::make_unique<HeldStore>(store.get(), usage.get(), &metrics);
    repo = store->Find("acme", "main").value();
  }

  ObjectName Put(ObjectKind kind, const Bytes& data) {
    const ObjectName object = Named(kind, data);
    auto put = service->Put("acme", "main", object, data.size(), [&](const auto& sink) {
      return sink(ByteView(data));
    });
    REQUIRE(put);
    return object;
  }
  uint64_t Used() { return usage->All().value()["acme"]; }
  uint64_t Counted() {
    uint64_t total = 0;
    REQUIRE(store->Scan([&](const std::string& t, uint64_t b) { if (t == "acme") total += b; }).ok());
    return total;
  }
};

void HoldLifecycle(Fixture& f) {
  const Bytes pack = testing::RandomBytes(1, 9 << 20);  // more than one copy piece
  const Bytes snapshot = testing::RandomBytes(2, 300);
  const Bytes lock = testing::RandomBytes(3, 100);
  const ObjectName p = f.Put(ObjectKind::kData, pack);
  const ObjectName s = f.Put(ObjectKind::kSnapshot, snapshot);
  const ObjectName l = f.Put(ObjectKind::kLock, lock);
  const uint64_t stored = pack.size() + snapshot.size() + lock.size();
  REQUIRE(f.Used() == stored);

  // Deleted on day D: gone from the repository, bytes still counted.
  REQUIRE(f.service->Delete("acme", "main", p, kNoon).ok());
  REQUIRE(f.service->Delete("acme", "main", s, kNoon).ok());
  CHECK(f.repo->Stat(p).error().code() == ErrorCode::kNotFound);
  CHECK(f.repo->Stat(s).error().code() == ErrorCode::kNotFound);
  CHECK(f.Used() == stored);
  CHECK(f.Counted() == stored);
  // A lock holds no data: it goes at once, and its bytes with it.
  REQUIRE(f.service->Delete("acme", "main", l, kNoon).ok());
  CHECK(f.Used() == stored - lock.size());
  // The held area is no repository: no listing shows it, no request names it.
  CHECK(f.store->Repos("acme").value() == std::vector<std::string>{"main"});
  CHECK(f.store->Find("acme", HeldName("main", "20261205")).error().code() ==
        ErrorCode::kInvalidArgument);
  auto areas = f.held->List("acme");
  REQUIRE(areas);
  REQUIRE(areas->size() == 1);
  CHECK((*areas)[0].repo == "main");
  CHECK((*areas)[0].day == "20261205");
  CHECK((*areas)[0].objects == 2);
  CHECK((*areas)[0].bytes == pack.size() + snapshot.size());

  // Uploaded again and deleted again the same day: one copy is kept, one counted.
  f.Put(ObjectKind::kSnapshot, snapshot);
  CHECK(f.Used() == stored - lock.size() + snapshot.size());
  REQUIRE(f.service->Delete("acme", "main", s, kNoon + 1000).ok());
  CHECK(f.Used() == stored - lock.size());

  // Restore puts back what was deleted since that day, bit for bit.
  auto restored = f.held->Restore("acme", "main", "20261205");
  REQUIRE(restored);
  CHECK(restored->objects == 2);
  CHECK(f.repo->Load(p, 0, 0).value() == pack);
  CHECK(f.repo->Load(s, 0, 0).value() == snapshot);
  CHECK(f.held->List("acme").value().empty());
  CHECK(f.Used() == stored - lock.size());
  CHECK(f.Counted() == stored - lock.size());

  // Deleted again: kept through day D+14, removed from D+15 on.
  REQUIRE(f.service->Delete("acme", "main", p, kNoon).ok());
  auto kept = f.held->Purge("acme", 14, kNoon + 14 * kDay);
  REQUIRE(kept);
  CHECK(kept->objects == 0);
  CHECK(f.held->List("acme").value().size() == 1);
  auto purged = f.held->Purge("acme", 14, kNoon + 15 * kDay);
  REQUIRE(purged);
  CHECK(purged->objects == 1);
  CHECK(purged->bytes == pack.size());
  CHECK(f.held->List("acme").value().empty());
  CHECK(f.Used() == snapshot.size());
  CHECK(f.Counted() == snapshot.size());
  CHECK(f.store->Repos("acme").value() == std::vector<std::string>{"main"});
}

TEST_CASE("a held delete hides, restores and purges on local folders", "[unit][vault]") {
  testing::TempDir repos;
  Fixture f(RepoStore::Open(repos.Sub("repos")).value());
  HoldLifecycle(f);
}

TEST_CASE("a held delete hides, restores and purges on S3", "[unit][vault][s3]") {
  auto options = testing::TestS3Server("held-store-test");
  if (!options) return;
  auto bucket = storage::s3::S3Bucket::Open(*options);
  REQUIRE(bucket);
  const std::string prefix = "pid-" + std::to_string(::getpid()) + "/held/";
  Fixture f(RepoStore::Open(NewS3RepoSpace(std::move(*bucket), prefix)).value());
  HoldLifecycle(f);
}

TEST_CASE("without a hold a delete removes at once", "[unit][vault]") {
  testing::TempDir repos;
  Fixture f(RepoStore::Open(repos.Sub("repos")).value());
  REQUIRE(f.registry->SetHold("acme", 0).ok());
  const Bytes pack = testing::RandomBytes(4, 1000);
  const ObjectName p = f.Put(ObjectKind::kData, pack);
  REQUIRE(f.service->Delete("acme", "main", p, kNoon).ok());
  CHECK(f.Used() == 0);
  CHECK(f.held->List("acme").value().empty());
}

TEST_CASE("restore picks days, and a purge follows each tenant's own hold", "[unit][vault]") {
  testing::TempDir repos;
  Fixture f(RepoStore::Open(repos.Sub("repos")).value());
  const ObjectName a = f.Put(ObjectKind::kSnapshot, testing::RandomBytes(5, 100));
  const ObjectName b = f.Put(ObjectKind::kSnapshot, testing::RandomBytes(6, 100));
  REQUIRE(f.service->Delete("acme", "main", a, kNoon - 3 * kDay).ok());
  REQUIRE(f.service->Delete("acme", "main", b, kNoon).ok());
  auto restored = f.held->Restore("acme", "main", "20261204");
  REQUIRE(restored);
  CHECK(restored->objects == 1);
  CHECK(f.repo->Stat(b));
  CHECK(f.repo->Stat(a).error().code() == ErrorCode::kNotFound);
  CHECK(f.held->Restore("acme", "gone", "").error().code() == ErrorCode::kNotFound);

  // PurgeAll reads the hold from the registry: shortened to 1 day, the
  // area of D-3 goes at D.
  REQUIRE(f.registry->SetHold("acme", 1).ok());
  auto purged = f.held->PurgeAll(*f.registry, kNoon);
  REQUIRE(purged);
  CHECK(purged->objects == 1);
  CHECK(f.Used() == 100);
}

TEST_CASE("days and held names are parsed strictly", "[unit][vault]") {
  CHECK(UtcDay(kNoon) == "20261205");
  CHECK(UtcDay(0) == "19700101");
  CHECK(PurgeDay("20261205", 14) == "20261220");
  CHECK(PurgeDay("20261231", 0) == "20270101");
  CHECK(PurgeDay("20261340", 1).empty());
  CHECK(PurgeDay("2026125", 1).empty());
  auto parsed = ParseHeldName("main~held~20261205");
  REQUIRE(parsed);
  CHECK(parsed->repo == "main");
  CHECK(parsed->day == "20261205");
  for (const char* bad : {"main", "main~held~2026120", "main~held~2026120x", "../x~held~20261205",
                          "~held~20261205", "main~held~20261205~held~20261205"}) {
    INFO(bad);
    CHECK_FALSE(ParseHeldName(bad));
  }
}

}  // namespace
}  // namespace coffre::vault
