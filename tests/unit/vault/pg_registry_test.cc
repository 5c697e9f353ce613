// PgRegistry: tenants and tokens in a real PostgreSQL database, shared by
// every node; a change through one node is honoured by another within the
// refresh bound, and a database gone for the stale limit refuses requests.
#include "vault/state/pg_registry.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "core/base/clock.h"
#include "tests/support/pg_server.h"
#include "vault/state/pg_schema.h"

namespace coffre::vault {
namespace {

using coffre::testing::TestPgSchema;

// One node's view: its own connections and registry.
struct Node {
  std::unique_ptr<PgClient> db;
  std::unique_ptr<PgRegistry> registry;
};

Node OpenNode(const TestPgSchema& schema, int64_t stale_limit_ns = PgRegistry::kStaleLimitNs) {
  Node node;
  auto db = PgClient::Connect(schema.conninfo(), 4);
  REQUIRE(db);
  node.db = std::move(*db);
  REQUIRE(EnsurePgSchema(*node.db).ok());
  auto registry = PgRegistry::Open(node.db.get(), stale_limit_ns);
  REQUIRE(registry);
  node.registry = std::move(*registry);
  return node;
}

// Seconds until `pred` holds, refreshing `node` as the server does for each
// request; fails past `limit_s`.
double SecondsUntil(Node& node, const std::function<bool()>& pred, double limit_s) {
  const int64_t start = MonotonicNs();
  for (;;) {
    (void)node.registry->Refresh();
    if (pred()) return static_cast<double>(MonotonicNs() - start) / 1e9;
    if (MonotonicNs() - start > static_cast<int64_t>(limit_s * 1e9)) {
      FAIL("not seen within " << limit_s << " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST_CASE("PgRegistry keeps tenants and tokens that another node reads", "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("registry_shared");
  if (!schema) return;
  Node a = OpenNode(*schema);
  REQUIRE(a.registry->AddTenant("acme", 1000).ok());
  CHECK(a.registry->AddTenant("acme", 5).code() == ErrorCode::kAlreadyExists);
  CHECK(a.registry->AddTenant("Bad/Name", 0).code() == ErrorCode::kInvalidArgument);
  CHECK(a.registry->SetQuota("nobody", 1).code() == ErrorCode::kNotFound);
  CHECK(a.registry->AddToken("nobody", Role::kBackup).error().code() == ErrorCode::kNotFound);
  CHECK(a.registry->AddToken("acme", Role::kBackup, "Bad Repo").error().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(a.registry->RevokeToken("0123456789abcdef").code() == ErrorCode::kNotFound);
  CHECK(a.registry->SetQuota("acme", uint64_t{1} << 63).code() == ErrorCode::kInvalidArgument);
  REQUIRE(a.registry->SetQuota("acme", 2000).ok());
  REQUIRE(a.registry->SetPlacement("acme", *ParsePlacement("fr-rbx,fr-par", 2)).ok());
  CHECK(a.registry->SetPlacement("nobody", Placement{}).code() == ErrorCode::kNotFound);
  auto token = a.registry->AddToken("acme", Role::kBackup, "server1");
  REQUIRE(token);

  // A second node, opened after: it reads what the first wrote.
  Node b = OpenNode(*schema);
  REQUIRE(b.registry->FindTenant("acme"));
  CHECK(b.registry->FindTenant("acme")->quota_bytes == 2000);
  CHECK(b.registry->FindTenant("acme")->placement == *ParsePlacement("fr-par,fr-rbx", 2));
  auto who = b.registry->Authenticate(*token);
  REQUIRE(who);
  CHECK(who->tenant == "acme");
  CHECK(who->role == Role::kBackup);
  CHECK(who->repo == "server1");
  REQUIRE(b.registry->Tokens().size() == 1);
  CHECK_FALSE(b.registry->Tokens()[0].revoked);
  CHECK(b.registry->Authenticate("cvt_" + std::string(16, '0') + "_" + std::string(64, '0'))
            .error()
            .code() == ErrorCode::kAuthFailed);
}

TEST_CASE("PgRegistry: a token added or revoked on one node is honoured by another within "
          "the refresh bound",
          "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("registry_bound");
  if (!schema) return;
  Node a = OpenNode(*schema);
  Node b = OpenNode(*schema);
  REQUIRE(a.registry->AddTenant("acme", 0).ok());
  // The bound stated in docs/state.md: the refresh interval plus one query.
  const double bound_s = static_cast<double>(PgRegistry::kRefreshIntervalNs) / 1e9 + 1.0;

  auto token = a.registry->AddToken("acme", Role::kRestore);
  REQUIRE(token);
  const double added_s =
      SecondsUntil(b, [&] { return static_cast<bool>(b.registry->Authenticate(*token)); }, 10);
  CHECK(added_s <= bound_s);

  const std::string id = token->substr(4, 16);
  REQUIRE(a.registry->RevokeToken(id).ok());
  const double revoked_s =
      SecondsUntil(b, [&] { return !b.registry->Authenticate(*token); }, 10);
  CHECK(revoked_s <= bound_s);
  CHECK(b.registry->Authenticate(*token).error().message() == "invalid token");
  // The node that made the change sees it at once.
  CHECK_FALSE(a.registry->Authenticate(*token));
}

TEST_CASE("PgRegistry refuses requests once the database is gone for the stale limit",
          "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("registry_stale");
  if (!schema) return;
  constexpr int64_t kLimit = 1'500'000'000;
  Node a = OpenNode(*schema, kLimit);
  REQUIRE(a.registry->AddTenant("acme", 0).ok());
  auto token = a.registry->AddToken("acme", Role::kRestore);
  REQUIRE(token);
  CHECK(a.registry->Refresh().ok());

  // The shared tables vanish (a database restored from an old dump would do
  // as much): reads fail, and the node keeps serving from memory, then stops.
  {
    auto admin = PgClient::Connect(schema->conninfo(), 1);
    REQUIRE(admin);
    REQUIRE((*admin)->Query("DROP TABLE coffre_meta CASCADE"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Status early = a.registry->Refresh();  // the first read that fails
  CHECK_FALSE(early.ok());
  CHECK(early.code() != ErrorCode::kUnavailable);
  CHECK(a.registry->Authenticate(*token));  // still known
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(a.registry->Refresh().code() != ErrorCode::kUnavailable);  // failing 1.1 s < 1.5 s

  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Status late = a.registry->Refresh();
  CHECK(late.code() == ErrorCode::kUnavailable);
  CHECK_THAT(late.message(), Catch::Contains("tokens cannot be checked"));
  // Every refresh from then on says so, not only the one that read.
  CHECK(a.registry->Refresh().code() == ErrorCode::kUnavailable);
}

TEST_CASE("PgRegistry: a node idle past the stale limit is not refused while the database "
          "answers",
          "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("registry_idle");
  if (!schema) return;
  Node a = OpenNode(*schema, /*stale_limit_ns=*/200'000'000);
  REQUIRE(a.registry->AddTenant("acme", 0).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // idle, past the limit
  // Many requests at once, one of them reading the generation: none refused.
  std::vector<std::thread> requests;
  std::atomic<int> refused{0};
  for (int i = 0; i < 16; ++i) {
    requests.emplace_back([&] {
      if (a.registry->Refresh().code() == ErrorCode::kUnavailable) ++refused;
    });
  }
  for (auto& t : requests) t.join();
  CHECK(refused == 0);
}

TEST_CASE("PgRegistry installs a state restored from an older dump", "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("registry_restore");
  if (!schema) return;
  Node a = OpenNode(*schema);
  Node b = OpenNode(*schema);
  REQUIRE(a.registry->AddTenant("acme", 0).ok());
  auto token = a.registry->AddToken("acme", Role::kRestore);
  REQUIRE(token);
  SecondsUntil(b, [&] { return static_cast<bool>(b.registry->Authenticate(*token)); }, 10);
  // The database goes back to before the token: its counter is lower now.
  REQUIRE(a.db->Query("DELETE FROM coffre_tokens"));
  REQUIRE(a.db->Query("UPDATE coffre_meta SET value = 1 WHERE key = 'generation'"));
  SecondsUntil(b, [&] { return !b.registry->Authenticate(*token); }, 10);
}

TEST_CASE("PgRegistry keeps a deletion hold and maintain tokens", "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("registry_hold");
  if (!schema) return;
  Node a = OpenNode(*schema);
  Node b = OpenNode(*schema);
  REQUIRE(a.registry->AddTenant("acme", 0).ok());
  CHECK(a.registry->SetHold("nobody", 3).code() == ErrorCode::kNotFound);
  CHECK(a.registry->SetHold("acme", -1).code() == ErrorCode::kInvalidArgument);
  REQUIRE(a.registry->SetHold("acme", 14).ok());
  auto token = a.registry->AddToken("acme", Role::kMaintain);
  REQUIRE(token);
  SecondsUntil(b, [&] { return b.registry->FindTenant("acme")->hold_days == 14; }, 5);
  SecondsUntil(b, [&] { return b.registry->Authenticate(*token).has_value(); }, 5);
  CHECK(b.registry->Authenticate(*token)->role == Role::kMaintain);
}

TEST_CASE("a version-1 shared state is brought to version 2 and keeps its rows",
          "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("registry_migrate");
  if (!schema) return;
  auto db = PgClient::Connect(schema->conninfo(), 2);
  REQUIRE(db);
  // The layout a version-1 node made, with one tenant in it.
  for (const char* statement : {
           "CREATE TABLE coffre_meta (key text PRIMARY KEY, value bigint NOT NULL)",
           "CREATE TABLE coffre_tenants (name text PRIMARY KEY, quota_bytes bigint NOT NULL "
           "CHECK (quota_bytes >= 0), created_ns bigint NOT NULL, locations text NOT NULL "
           "DEFAULT '', copies integer NOT NULL DEFAULT 1 CHECK (copies >= 1))",
           "CREATE TABLE coffre_tokens (id text PRIMARY KEY, tenant text NOT NULL REFERENCES "
           "coffre_tenants (name), role text NOT NULL, repo text NOT NULL DEFAULT '', "
           "created_ns bigint NOT NULL, revoked boolean NOT NULL DEFAULT false, secret_sha256 "
           "text NOT NULL)",
           "CREATE TABLE coffre_usage (tenant text PRIMARY KEY REFERENCES coffre_tenants "
           "(name), bytes bigint NOT NULL CHECK (bytes >= 0))",
           "CREATE TABLE coffre_audit (id bigserial PRIMARY KEY, time timestamptz NOT NULL, "
           "node text NOT NULL, tenant text NOT NULL, token text NOT NULL, action text NOT "
           "NULL, repo text NOT NULL, object text NOT NULL, status integer NOT NULL)",
           "INSERT INTO coffre_meta VALUES ('schema', 1), ('generation', 3)",
           "INSERT INTO coffre_tenants (name, quota_bytes, created_ns) VALUES ('acme', 500, 1)",
       }) {
    INFO(statement);
    REQUIRE((*db)->Query(statement));
  }
  REQUIRE(EnsurePgSchema(**db).ok());
  auto version = (*db)->Query("SELECT value FROM coffre_meta WHERE key = 'schema'");
  REQUIRE(version);
  CHECK((*version)[0][0] == "2");
  // Twice is once: a node starting after the migration only reads.
  REQUIRE(EnsurePgSchema(**db).ok());
  auto registry = PgRegistry::Open(db->get());
  REQUIRE(registry);
  auto acme = (*registry)->FindTenant("acme");
  REQUIRE(acme);
  CHECK(acme->quota_bytes == 500);
  CHECK(acme->hold_days == 0);
  REQUIRE((*registry)->SetHold("acme", 7).ok());
  CHECK((*registry)->FindTenant("acme")->hold_days == 7);
}

TEST_CASE("PgRegistry refuses a schema newer than this build", "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("registry_version");
  if (!schema) return;
  Node a = OpenNode(*schema);
  REQUIRE(a.db->Query("UPDATE coffre_meta SET value = $1::bigint WHERE key = 'schema'",
                      {std::to_string(kPgSchemaVersion + 1)}));
  Status s = EnsurePgSchema(*a.db);
  CHECK(s.code() == ErrorCode::kUnsupportedVersion);
  CHECK_THAT(s.message(), Catch::Contains("version " + std::to_string(kPgSchemaVersion + 1)));
}

}  // namespace
}  // namespace coffre::vault
