#include "vault/state/pg_schema.h"

#include <string>

namespace coffre::vault {
namespace {

// Any constant: the key of the advisory lock that serializes schema
// creation ("coffre" in ASCII).
constexpr const char* kSchemaLockKey = "109519540904805";

const char* const kCreate[] = {
    R"(CREATE TABLE IF NOT EXISTS coffre_meta (
         key text PRIMARY KEY,
         value bigint NOT NULL))",
    R"(CREATE TABLE IF NOT EXISTS coffre_tenants (
         name text PRIMARY KEY,
         quota_bytes bigint NOT NULL CHECK (quota_bytes >= 0),
         created_ns bigint NOT NULL,
         locations text NOT NULL DEFAULT '',
         copies integer NOT NULL DEFAULT 1 CHECK (copies >= 1),
         hold_days integer NOT NULL DEFAULT 0 CHECK (hold_days >= 0)))",
    R"(CREATE TABLE IF NOT EXISTS coffre_tokens (
         id text PRIMARY KEY,
         tenant text NOT NULL REFERENCES coffre_tenants (name),
         role text NOT NULL,
         repo text NOT NULL DEFAULT '',
         created_ns bigint NOT NULL,
         revoked boolean NOT NULL DEFAULT false,
         secret_sha256 text NOT NULL))",
    R"(CREATE TABLE IF NOT EXISTS coffre_usage (
         tenant text PRIMARY KEY REFERENCES coffre_tenants (name),
         bytes bigint NOT NULL CHECK (bytes >= 0)))",
    R"(CREATE TABLE IF NOT EXISTS coffre_audit (
         id bigserial PRIMARY KEY,
         time timestamptz NOT NULL,
         node text NOT NULL,
         tenant text NOT NULL,
         token text NOT NULL,
         action text NOT NULL,
         repo text NOT NULL,
         object text NOT NULL,
         status integer NOT NULL))",
    "CREATE INDEX IF NOT EXISTS coffre_audit_tenant_time ON coffre_audit (tenant, time)",
};

// From version 1 to 2: every statement is idempotent, so a migration cut
// short is finished by the next node that starts.
const char* const kMigrateTo2[] = {
    "ALTER TABLE coffre_tenants ADD COLUMN IF NOT EXISTS "
    "hold_days integer NOT NULL DEFAULT 0 CHECK (hold_days >= 0)",
    "UPDATE coffre_meta SET value = 2 WHERE key = 'schema' AND value = 1",
};

Status CheckVersion(const std::string& found) {
  if (found == std::to_string(kPgSchemaVersion)) return Status::Ok();
  return UnsupportedVersionError("the shared state's schema is version " + found +
                                 "; this build reads version " +
                                 std::to_string(kPgSchemaVersion));
}

}  // namespace

Status EnsurePgSchema(PgClient& db) {
  // A database that has its schema is only read: a node may run with a
  // role that cannot create tables, and DDL would lock the audit table.
  ASSIGN_OR_RETURN(PgRows made, db.Query("SELECT to_regclass('coffre_meta') IS NOT NULL"));
  if (!made.empty() && made[0][0] == "t") {
    ASSIGN_OR_RETURN(PgRows rows, db.Query("SELECT value FROM coffre_meta WHERE key = 'schema'"));
    if (!rows.empty() && rows[0][0] == "1") {
      // The one change a node makes to a schema it finds: version 1 gets
      // the column version 2 reads. Older nodes refuse the database from
      // then on, at their next start (docs/state.md, "Upgrading").
      Status migrated = db.Transaction([](PgSession& s) -> Status {
        RETURN_IF_ERROR(StatusOf(s.Query("SELECT pg_advisory_xact_lock($1::bigint)", {kSchemaLockKey})));
        for (const char* statement : kMigrateTo2) RETURN_IF_ERROR(StatusOf(s.Query(statement)));
        return Status::Ok();
      });
      if (!migrated.ok())
        return Status(migrated.code(), "the shared state's schema is version 1 and could not be "
                                       "brought to version 2 (" + migrated.message() + ")");
      ASSIGN_OR_RETURN(rows, db.Query("SELECT value FROM coffre_meta WHERE key = 'schema'"));
    }
    if (!rows.empty()) return CheckVersion(rows[0][0]);
  }
  return db.Transaction([](PgSession& s) -> Status {
    RETURN_IF_ERROR(StatusOf(s.Query("SELECT pg_advisory_xact_lock($1::bigint)", {kSchemaLockKey})));
    for (const char* statement : kCreate) RETURN_IF_ERROR(StatusOf(s.Query(statement)));
    RETURN_IF_ERROR(StatusOf(s.Query(
        "INSERT INTO coffre_meta (key, value) VALUES ('schema', $1::bigint), ('generation', 0) "
        "ON CONFLICT (key) DO NOTHING",
        {std::to_string(kPgSchemaVersion)})));
    ASSIGN_OR_RETURN(PgRows rows, s.Query("SELECT value FROM coffre_meta WHERE key = 'schema'"));
    return CheckVersion(rows.empty() ? "?" : rows[0][0]);
  });
}

}  // namespace coffre::vault
