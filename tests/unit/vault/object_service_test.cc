// ObjectService: an upload is stored only whole and matching its name,
// within the tenant's quota, and whatever it refuses leaves nothing stored
// and the quota as it was; a repeated upload costs nothing; a delete gives
// its bytes back.
#include "vault/store/object_service.h"

#include <vector>

#include <catch2/catch.hpp>

#include "core/base/clock.h"
#include "core/crypto/hash.h"
#include "tests/support/random_data.h"
#include "tests/support/run_together.h"
#include "tests/support/temp_dir.h"
#include "vault/tenant/file_registry.h"

namespace coffre::vault {
namespace {

using storage::ObjectKind;
using storage::ObjectName;
using Outcome = ObjectService::PutOutcome;

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<RepoStore> store;
  std::unique_ptr<UsageLedger> usage;
  Metrics metrics;
  std::unique_ptr<ObjectService> service;

  explicit Fixture(uint64_t quota) {
    registry = FileRegistry::Create(dir.Sub("tenants.json")).value();
    REQUIRE(registry->AddTenant("acme", quota).ok());
    store = RepoStore::Open(dir.Sub("repos")).value();
    REQUIRE(store->CreateRepo("acme", "main").ok());
    usage = NodeUsageLedger::Count(*store).value();
    service = std::make_unique<ObjectService>(store.get(), registry.get(), usage.get(), &metrics);
  }

  uint64_t Used() { return usage->All().value()["acme"]; }

  Result<Outcome> Put(const ObjectName& object, const Bytes& data, uint64_t size) {
    return service->Put("acme", "main", object, size, [&](const auto& sink) {
      // In pieces, as a socket delivers them.
      for (size_t at = 0; at < data.size(); at += 1000) {
        const size_t n = std::min<size_t>(1000, data.size() - at);
        if (!sink(ByteView(data).subspan(at, n))) return false;
      }
      return true;
    });
  }
  Result<Outcome> Put(const ObjectName& object, const Bytes& data) {
    return Put(object, data, data.size());
  }
  bool Stored(const ObjectName& object) {
    return service->Repo("acme", "main").value()->Stat(object).has_value();
  }
};

ObjectName Pack(const Bytes& data) {
  return {ObjectKind::kData, HexEncode(crypto::Sha256(data))};
}

TEST_CASE("an upload is stored once, and a repeat costs no quota", "[unit][vault]") {
  Fixture f(/*quota=*/0);
  const Bytes data = testing::RandomBytes(1, 5000);
  CHECK(f.Put(Pack(data), data).value() == Outcome::kCreated);
  CHECK(f.Used() == 5000);
  CHECK(f.Put(Pack(data), data).value() == Outcome::kUnchanged);
  CHECK(f.Used() == 5000);
  CHECK(f.service->Repo("acme", "main").value()->Load(Pack(data), 0, 0).value() == data);
}

TEST_CASE("an upload whose bytes are not its name leaves nothing", "[unit][vault]") {
  Fixture f(0);
  const Bytes data = testing::RandomBytes(2, 3000);
  const ObjectName wrong{ObjectKind::kData, std::string(64, 'a')};
  auto put = f.Put(wrong, data);
  REQUIRE_FALSE(put);
  CHECK(put.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(put.error().message(), Catch::Contains("does not match its id"));
  CHECK_FALSE(f.Stored(wrong));
  CHECK(f.Used() == 0);
}

TEST_CASE("a body shorter or longer than announced leaves nothing", "[unit][vault]") {
  Fixture f(0);
  const Bytes data = testing::RandomBytes(3, 3000);
  for (uint64_t announced : {uint64_t{2999}, uint64_t{3001}}) {
    INFO(announced);
    auto put = f.Put(Pack(data), data, announced);
    REQUIRE_FALSE(put);
    CHECK(put.error().code() == ErrorCode::kInvalidArgument);
    CHECK_FALSE(f.Stored(Pack(data)));
    CHECK(f.Used() == 0);
  }
  // A connection that breaks in the middle.
  auto cut = f.service->Put("acme", "main", Pack(data), data.size(), [&](const auto& sink) {
    (void)sink(ByteView(data).first(100));
    return false;
  });
  CHECK(cut.error().code() == ErrorCode::kInvalidArgument);
  CHECK_FALSE(f.Stored(Pack(data)));
  CHECK(f.Used() == 0);
}

TEST_CASE("an upload past the quota is refused before any byte is stored", "[unit][vault]") {
  Fixture f(/*quota=*/4000);
  const Bytes first = testing::RandomBytes(4, 3000);
  const Bytes second = testing::RandomBytes(5, 1001);
  REQUIRE(f.Put(Pack(first), first).has_value());
  bool read = false;
  auto put = f.service->Put("acme", "main", Pack(second), second.size(), [&](const auto&) {
    read = true;
    return true;
  });
  REQUIRE_FALSE(put);
  CHECK(put.error().code() == ErrorCode::kNoSpace);
  CHECK_FALSE(read);
  CHECK(f.Used() == 3000);
  // What is there already may be sent again at a full quota.
  CHECK(f.Put(Pack(first), first).value() == Outcome::kUnchanged);
}

TEST_CASE("a repository keeps its first config", "[unit][vault]") {
  Fixture f(0);
  const ObjectName config{ObjectKind::kConfig, std::string(storage::kConfigName)};
  CHECK(f.Put(config, ToBytes("config one")).value() == Outcome::kCreated);
  CHECK(f.Put(config, ToBytes("config one")).value() == Outcome::kUnchanged);
  auto other = f.Put(config, ToBytes("config two"));
  CHECK(other.error().code() == ErrorCode::kAlreadyExists);
  CHECK(f.Used() == 10);
}

TEST_CASE("a delete gives the object's bytes back to the quota", "[unit][vault]") {
  Fixture f(0);
  const Bytes data = testing::RandomBytes(6, 2000);
  REQUIRE(f.Put(Pack(data), data).has_value());
  REQUIRE(f.service->Delete("acme", "main", Pack(data), WallNs()).ok());
  CHECK(f.Used() == 0);
  CHECK(f.service->Delete("acme", "main", Pack(data), WallNs()).code() == ErrorCode::kNotFound);
  CHECK(f.service->Delete("acme", "nope", Pack(data), WallNs()).code() == ErrorCode::kNotFound);
}

TEST_CASE("uploads of one object at once store it once and count it once", "[unit][vault][tsan]") {
  Fixture f(0);
  const Bytes data = testing::RandomBytes(7, 100'000);
  constexpr int kThreads = 6;
  std::vector<Result<Outcome>> results(kThreads, Err(InternalError("not run")));
  testing::RunTogether(kThreads, [&](int t) { results[t] = f.Put(Pack(data), data); });
  int created = 0;
  for (const auto& result : results) {
    REQUIRE(result);
    if (*result == Outcome::kCreated) ++created;
  }
  CHECK(created == 1);
  CHECK(f.Used() == data.size());
}

}  // namespace
}  // namespace coffre::vault

namespace coffre::vault {
namespace {

TEST_CASE("a tenant whose placement excludes this vault's location is refused", "[unit][vault]") {
  testing::TempDir dir;
  auto registry = FileRegistry::Create(dir.Sub("tenants.json")).value();
  REQUIRE(registry->AddTenant("acme", 0).ok());
  REQUIRE(registry->AddTenant("free", 0).ok());
  REQUIRE(registry->SetPlacement("acme", *ParsePlacement("fr-par,fr-rbx", 2)).ok());
  auto store = RepoStore::Open(dir.Sub("repos")).value();
  auto usage = NodeUsageLedger::Count(*store).value();
  Metrics metrics;
  ObjectService sbg(store.get(), registry.get(), usage.get(), &metrics, "fr-sbg");
  ObjectService nowhere(store.get(), registry.get(), usage.get(), &metrics, "");
  ObjectService par(store.get(), registry.get(), usage.get(), &metrics, "fr-par");

  Status refused = sbg.CreateRepo("acme", "main");
  CHECK(refused.code() == ErrorCode::kPermissionDenied);
  CHECK_THAT(refused.message(), Catch::Contains("fr-par,fr-rbx") && Catch::Contains("fr-sbg"));
  CHECK(nowhere.CreateRepo("acme", "main").code() == ErrorCode::kPermissionDenied);
  REQUIRE(par.CreateRepo("acme", "main").ok());
  CHECK(sbg.CreateRepo("free", "main").ok());  // no placement: anywhere

  // An upload to a repository that exists is refused there too, and
  // stores nothing.
  const Bytes data = testing::RandomBytes(1, 100);
  const ObjectName name{ObjectKind::kData, HexEncode(crypto::Sha256(data))};
  auto body = [&](const std::function<bool(ByteView)>& sink) { return sink(data); };
  auto put = sbg.Put("acme", "main", name, data.size(), body);
  REQUIRE_FALSE(put);
  CHECK(put.error().code() == ErrorCode::kPermissionDenied);
  CHECK(usage->All()->count("acme") == 0);
  REQUIRE(par.Put("acme", "main", name, data.size(), body));
}

}  // namespace
}  // namespace coffre::vault
