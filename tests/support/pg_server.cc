#include "tests/support/pg_server.h"

#include <unistd.h>

#include <cstdlib>

#include <catch2/catch.hpp>

#include "vault/state/pg_client.h"

namespace coffre::testing {

namespace {

void RunOnServer(const std::string& server, const std::string& sql) {
  auto db = vault::PgClient::Connect(server, 1);
  if (!db) FAIL("connect to the test PostgreSQL: " << db.error().message());
  auto done = (*db)->Query(sql);
  if (!done) FAIL(sql << ": " << done.error().message());
}

}  // namespace

std::optional<TestPgSchema> TestPgSchema::Make(const std::string& name) {
  const char* server = std::getenv("COFFRE_PG_CONNINFO");
  if (!server || !*server) {
    const char* require = std::getenv("COFFRE_REQUIRE_PG");
    if (require && std::string(require) == "1")
      FAIL("COFFRE_REQUIRE_PG=1 but no COFFRE_PG_CONNINFO: start scripts/postgres.sh");
    WARN("no COFFRE_PG_CONNINFO: the shared state is not tested here (scripts/postgres.sh)");
    return std::nullopt;
  }
  return TestPgSchema(server, "t_" + name + "_" + std::to_string(getpid()));
}

TestPgSchema::TestPgSchema(std::string server, std::string schema)
    : server_(std::move(server)), schema_(std::move(schema)) {
  RunOnServer(server_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  RunOnServer(server_, "CREATE SCHEMA " + schema_);
  conninfo_ = server_ + " options=-csearch_path=" + schema_;
}

TestPgSchema::TestPgSchema(TestPgSchema&& other) noexcept
    : server_(std::move(other.server_)),
      schema_(std::move(other.schema_)),
      conninfo_(std::move(other.conninfo_)) {
  other.schema_.clear();
}

TestPgSchema::~TestPgSchema() {
  if (schema_.empty()) return;
  auto db = vault::PgClient::Connect(server_, 1);
  if (db) (void)(*db)->Query("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
}

}  // namespace coffre::testing
