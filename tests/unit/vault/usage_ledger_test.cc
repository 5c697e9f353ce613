// NodeUsageLedger: a tenant's bytes counted from the storage at start, and
// kept by Reserve/Release so a quota holds exactly, without overflow.
#include "vault/store/usage_ledger.h"

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

namespace coffre::vault {
namespace {

TEST_CASE("NodeUsageLedger counts the storage and holds quotas", "[unit][vault]") {
  testing::TempDir dir;
  auto store = RepoStore::Open(dir.Sub("repos"));
  REQUIRE(store);
  REQUIRE((*store)->CreateRepo("acme", "a").ok());
  REQUIRE((*store)->CreateRepo("acme", "b").ok());
  auto a = (*store)->Find("acme", "a");
  auto b = (*store)->Find("acme", "b");
  REQUIRE((*a)->Save({storage::ObjectKind::kData, std::string(64, 'a')}, Bytes(1000)).ok());
  REQUIRE((*b)->Save({storage::ObjectKind::kIndex, std::string(64, 'b')}, Bytes(24)).ok());

  auto ledger = NodeUsageLedger::Count(**store);
  REQUIRE(ledger);
  auto& usage = **ledger;
  CHECK(usage.All()->at("acme") == 1024);
  CHECK(usage.All()->count("nobody") == 0);

  CHECK(usage.Reserve("acme", 976, /*quota=*/2000).ok());  // exactly full
  CHECK(usage.Reserve("acme", 1, 2000).code() == ErrorCode::kNoSpace);
  REQUIRE(usage.Release("acme", 976).ok());
  CHECK(usage.All()->at("acme") == 1024);
  CHECK(usage.Reserve("acme", UINT64_MAX, 2000).code() == ErrorCode::kNoSpace);
  CHECK(usage.Reserve("acme", 1 << 30, /*no quota*/ 0).ok());
  CHECK(usage.All()->at("acme") == 1024 + (1 << 30));
  REQUIRE(usage.Release("acme", UINT64_MAX).ok());  // never below zero
  CHECK(usage.All()->at("acme") == 0);
}

TEST_CASE("FitsQuota is exact at the edge and never overflows", "[unit][vault]") {
  CHECK(FitsQuota(0, 10, 10));
  CHECK_FALSE(FitsQuota(1, 10, 10));
  CHECK(FitsQuota(UINT64_MAX, UINT64_MAX, 0));  // no quota
  CHECK_FALSE(FitsQuota(UINT64_MAX, 1, UINT64_MAX));
  CHECK_FALSE(FitsQuota(1, UINT64_MAX, UINT64_MAX));
}

}  // namespace
}  // namespace coffre::vault
