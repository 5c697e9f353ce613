// PgClient: parameters never become SQL, database errors map to the codes
// the vault acts on, a failed transaction leaves nothing, and a server that
// cannot be reached is one clear error that never shows a password.
#include "vault/state/pg_client.h"

#include <catch2/catch.hpp>

#include "tests/support/pg_server.h"

namespace coffre::vault {
namespace {

using coffre::testing::TestPgSchema;

TEST_CASE("PgClient keeps values apart from SQL and maps errors", "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("client");
  if (!schema) return;
  auto db = PgClient::Connect(schema->conninfo(), 2);
  REQUIRE(db);
  PgClient& c = **db;
  REQUIRE(c.Query("CREATE TABLE t (k text PRIMARY KEY, v text)"));
  REQUIRE(c.Query("CREATE TABLE child (k text REFERENCES t (k))"));
  const std::string hostile = "x'); DROP TABLE t; --";
  REQUIRE(c.Query("INSERT INTO t (k, v) VALUES ($1, $2)", {hostile, ""}));
  auto rows = c.Query("SELECT k, v FROM t");
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0][0] == hostile);
  CHECK(c.Query("INSERT INTO t (k) VALUES ($1)", {hostile}).error().code() ==
        ErrorCode::kAlreadyExists);
  CHECK(c.Query("INSERT INTO child (k) VALUES ('absent')").error().code() ==
        ErrorCode::kNotFound);
  CHECK(c.Query("SELECT nonsense FROM t").error().code() == ErrorCode::kIo);

  // A transaction whose body fails rolls back everything it did.
  Status s = c.Transaction([](PgSession& session) -> Status {
    RETURN_IF_ERROR(StatusOf(session.Query("INSERT INTO t (k) VALUES ('inside')")));
    return InvalidArgumentError("changed my mind");
  });
  CHECK(s.code() == ErrorCode::kInvalidArgument);
  CHECK(c.Query("SELECT count(*) FROM t")->at(0)[0] == "1");
  REQUIRE(c.Transaction([](PgSession& session) {
            return StatusOf(session.Query("INSERT INTO t (k) VALUES ('inside')"));
          }).ok());
  CHECK(c.Query("SELECT count(*) FROM t")->at(0)[0] == "2");
}

TEST_CASE("PgClient names why it cannot connect, never the password", "[unit][vault][pg]") {
  auto schema = TestPgSchema::Make("client_connect");
  if (!schema) return;
  auto refused =
      PgClient::Connect("host=127.0.0.1 port=1 dbname=coffre user=coffre password=hunter2-secret "
                        "connect_timeout=2",
                        1);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == ErrorCode::kUnavailable);
  CHECK(refused.error().message().find("hunter2") == std::string::npos);
  CHECK(refused.error().message().find('\n') == std::string::npos);
  auto bad_user = PgClient::Connect(schema->server_conninfo() + " user=nobody_here", 1);
  REQUIRE_FALSE(bad_user);
  CHECK(bad_user.error().code() == ErrorCode::kUnavailable);
  CHECK(bad_user.error().message().find('\n') == std::string::npos);
  CHECK_THAT(bad_user.error().message(), Catch::Contains("PostgreSQL"));
}

}  // namespace
}  // namespace coffre::vault
