// The tables a fleet of vault nodes shares in PostgreSQL, specified in
// docs/state.md: tenants, tokens, usage and the audit trail, plus
// coffre_meta (the schema version, and the registry's generation, which
// every change to tenants or tokens bumps so a node knows when to re-read).
// Thread-safety: free functions over a PgClient.
#pragma once

#include "core/base/status.h"
#include "vault/state/pg_client.h"

namespace coffre::vault {

// The schema version this build writes and reads.
inline constexpr int kPgSchemaVersion = 1;

// Creates the tables if the database has none (under an advisory lock, so
// nodes starting together do not race), then checks the version:
// kUnsupportedVersion naming both if the database is newer than this build.
Status EnsurePgSchema(PgClient& db);

}  // namespace coffre::vault
