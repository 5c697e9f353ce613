// The PostgreSQL server the shared-state tests run against: the real one
// scripts/postgres.sh starts, named by COFFRE_PG_CONNINFO (`scripts/postgres.sh
// env`; scripts/test.sh exports it). Each test gets a schema of its own, so
// tests run in parallel and leave nothing behind.
#pragma once

#include <optional>
#include <string>

namespace coffre::testing {

class TestPgSchema {
 public:
  // A fresh, empty schema named `name` plus the process id. Without a
  // server named: nullopt and a Catch2 warning, or a failure when
  // COFFRE_REQUIRE_PG=1 (CI must not skip PostgreSQL).
  static std::optional<TestPgSchema> Make(const std::string& name);
  TestPgSchema(TestPgSchema&& other) noexcept;
  TestPgSchema(const TestPgSchema&) = delete;
  ~TestPgSchema();  // drops the schema and all it holds

  // COFFRE_PG_CONNINFO whose search_path is this schema.
  const std::string& conninfo() const { return conninfo_; }
  // The server's own connection string, for a test that breaks it.
  const std::string& server_conninfo() const { return server_; }

 private:
  TestPgSchema(std::string server, std::string schema);
  std::string server_;
  std::string schema_;
  std::string conninfo_;
};

}  // namespace coffre::testing
