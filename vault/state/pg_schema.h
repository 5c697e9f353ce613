// The tables a fleet of vault nodes shares in PostgreSQL, specified in
// docs/state.md: tenants, tokens, usage and the audit trail, plus
// coffre_meta (the schema version, and the registry's generation, which
// every change to tenants or tokens bumps so a node knows when to re-read).
// Thread-safety: free functions over a PgClient.
#pragma once

#include "core/base/status.h"
#include "vault/state/pg_client.h"

namespace coffre::vault {

// The schema version this build writes and reads. Version 2 adds
// coffre_tenants.hold_days (the deletion hold) and the "maintain" role.
inline constexpr int kPgSchemaVersion = 2;

// Creates the tables if the database has none, or brings a version-1
// schema to version 2 (under an advisory lock either way, so nodes
// starting together do not race), then checks the version:
// kUnsupportedVersion naming both if the database is newer than this build.
Status EnsurePgSchema(PgClient& db);

}  // namespace coffre::vault
