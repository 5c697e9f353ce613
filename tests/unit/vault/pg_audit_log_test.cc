// PgAuditLog: events from several nodes reach one table, each naming its
// node, with names the database would refuse made printable; what is
// queued at shutdown is written.
#include "vault/state/pg_audit_log.h"

#include <catch2/catch.hpp>

#include "tests/support/pg_server.h"
#include "vault/state/pg_registry.h"
#include "vault/state/pg_schema.h"

namespace coffre::vault {
namespace {

using coffre::testing::TestPgSchema;

std::unique_ptr<PgClient> Connect(const TestPgSchema& schema) {
  auto db = PgClient::Connect(schema.conninfo(), 2);
  REQUIRE(db);
  REQUIRE(EnsurePgSchema(**db).ok());
  return std::move(*db);
}

TEST_CASE("PgAuditLog keeps the events of every node in order", "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("audit_nodes");
  if (!schema) return;
  auto db_a = Connect(*schema);
  auto db_b = Connect(*schema);
  {
    PgAuditLog a(db_a.get(), "node-a");
    PgAuditLog b(db_b.get(), "node-b");
    for (int i = 0; i < 1200; ++i) {  // more than one insert's worth
      REQUIRE(a.Record({"acme", "0123456789abcdef", "put", "server1",
                        "data/" + std::to_string(i), 201})
                  .ok());
    }
    REQUIRE(a.Flush().ok());
    REQUIRE(b.Record({"acme", "", "delete", "server1", "bad\xff\n\x01name", 401}).ok());
    // b is destroyed with its event still queued: the destructor writes it.
  }
  auto rows = db_a->Query("SELECT node, count(*), min(status), max(status) FROM coffre_audit "
                          "GROUP BY node ORDER BY node");
  REQUIRE(rows);
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0] == std::vector<std::string>{"node-a", "1200", "201", "201"});
  CHECK((*rows)[1] == std::vector<std::string>{"node-b", "1", "401", "401"});
  auto ordered = db_a->Query(
      "SELECT object FROM coffre_audit WHERE node = 'node-a' ORDER BY id LIMIT 3");
  REQUIRE(ordered);
  CHECK((*ordered)[2][0] == "data/2");
  auto odd = db_a->Query("SELECT object, token FROM coffre_audit WHERE node = 'node-b'");
  REQUIRE(odd);
  CHECK((*odd)[0][0] == "bad???name");
  CHECK((*odd)[0][1] == "");
  // The time is the node's clock, to the millisecond, close to now.
  auto recent = db_a->Query(
      "SELECT count(*) FROM coffre_audit WHERE abs(extract(epoch FROM now() - time)) < 60");
  REQUIRE(recent);
  CHECK((*recent)[0][0] == "1201");
}

}  // namespace
}  // namespace coffre::vault
