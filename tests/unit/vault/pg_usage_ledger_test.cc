// PgUsageLedger: however many nodes reserve for one tenant at once, the
// bytes reserved never pass its quota, and a recount replaces the counts.
#include "vault/state/pg_usage_ledger.h"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "tests/support/pg_server.h"
#include "vault/state/pg_registry.h"
#include "vault/state/pg_schema.h"

namespace coffre::vault {
namespace {

using coffre::testing::TestPgSchema;

std::unique_ptr<PgClient> Connect(const TestPgSchema& schema, size_t connections) {
  auto db = PgClient::Connect(schema.conninfo(), connections);
  REQUIRE(db);
  REQUIRE(EnsurePgSchema(**db).ok());
  return std::move(*db);
}

void AddTenant(PgClient* db, const std::string& name, uint64_t quota) {
  auto registry = PgRegistry::Open(db);
  REQUIRE(registry);
  REQUIRE((*registry)->AddTenant(name, quota).ok());
}

TEST_CASE("PgUsageLedger reserves exactly up to the quota", "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("usage_edge");
  if (!schema) return;
  auto db = Connect(*schema, 2);
  AddTenant(db.get(), "acme", 0);
  PgUsageLedger usage(db.get());
  CHECK(usage.All()->at("acme") == 0);
  CHECK(usage.Reserve("acme", 1000, 1000).ok());  // exactly full
  CHECK(usage.Reserve("acme", 1, 1000).code() == ErrorCode::kNoSpace);
  CHECK(usage.Reserve("acme", UINT64_MAX, 0).code() == ErrorCode::kNoSpace);  // not a bigint
  CHECK(usage.Reserve("acme", 5, 0).ok());  // no quota
  CHECK(usage.All()->at("acme") == 1005);
  REQUIRE(usage.Release("acme", 1005).ok());
  CHECK(usage.Reserve("acme", 2000, 1000).code() == ErrorCode::kNoSpace);  // alone too big
  REQUIRE(usage.Release("acme", UINT64_MAX).ok());  // never below zero
  CHECK(usage.All()->at("acme") == 0);
  CHECK(usage.Reserve("nobody", 1, 0).code() == ErrorCode::kNotFound);
}

TEST_CASE("PgUsageLedger: two nodes reserving at once never pass the quota",
          "[unit][vault][pg][tsan]") {
  auto schema = TestPgSchema::Make("usage_race");
  if (!schema) return;
  constexpr uint64_t kQuota = 100'000;
  constexpr uint64_t kObject = 1'000;
  auto node_a = Connect(*schema, 8);
  auto node_b = Connect(*schema, 8);
  AddTenant(node_a.get(), "acme", kQuota);
  PgUsageLedger a(node_a.get());
  PgUsageLedger b(node_b.get());
  // 16 writers, each asking for more than its share: 320 objects for room
  // for 100.
  std::atomic<int> granted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 16; ++w) {
    writers.emplace_back([&, w] {
      UsageLedger& ledger = w % 2 ? static_cast<UsageLedger&>(a) : b;
      for (int i = 0; i < 20; ++i) {
        Status s = ledger.Reserve("acme", kObject, kQuota);
        if (s.ok()) {
          ++granted;
        } else if (s.code() == ErrorCode::kNoSpace) {
          ++refused;
        } else {
          FAIL_CHECK(s.message());
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  CHECK(granted == static_cast<int>(kQuota / kObject));
  CHECK(refused == 320 - granted);
  CHECK(a.All()->at("acme") == kQuota);
  CHECK(b.All()->at("acme") == kQuota);
}

TEST_CASE("PgUsageLedger::Replace sets every count from a scan", "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("usage_replace");
  if (!schema) return;
  auto db = Connect(*schema, 2);
  AddTenant(db.get(), "acme", 0);
  AddTenant(db.get(), "shop", 0);
  PgUsageLedger usage(db.get());
  REQUIRE(usage.Reserve("acme", 700, 0).ok());  // a node died holding this
  REQUIRE(usage.Reserve("shop", 10, 0).ok());
  REQUIRE(usage.Replace({{"acme", 500}, {"stranger", 9}}).ok());
  auto all = usage.All();
  REQUIRE(all);
  CHECK(all->at("acme") == 500);
  CHECK(all->at("shop") == 0);  // none found in the storage
  CHECK(all->count("stranger") == 0);
}

}  // namespace
}  // namespace coffre::vault
