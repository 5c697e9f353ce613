// VaultState: what the nodes of a vault must agree on, opened as
// vault.toml's [state] says: the tenants and tokens (Registry), the bytes
// each tenant stores (UsageLedger) and the audit trail (AuditLog). With
// "files" they live in the data folder and this node alone counts usage
// (one node); with "postgres" every node of a fleet reads and writes the
// same database, so any node serves any tenant (docs/state.md says why
// PostgreSQL rather than objects in the bucket).
// Thread-safety: the parts are each thread-safe; the struct is moved, not shared.
#pragma once

#include <memory>
#include <string>

#include "core/base/status.h"
#include "vault/audit/audit_log.h"
#include "vault/config/vault_config.h"
#include "vault/state/pg_client.h"
#include "vault/store/repo_store.h"
#include "vault/store/usage_ledger.h"
#include "vault/tenant/registry.h"

namespace coffre::vault {

struct VaultState {
  std::unique_ptr<PgClient> db;  // kPostgres only; declared first, so it goes last
  std::unique_ptr<Registry> registry;
  std::unique_ptr<UsageLedger> usage;
  std::unique_ptr<AuditLog> audit;
  // Where it is kept, for messages: "files in DATA" or "postgres".
  std::string location;
};

// What each command needs of the state.
enum class StateParts {
  kRegistry,  // tenants and tokens only (the admin commands)
  kAll,       // and usage and the audit trail (`serve`, `tenant list`)
};

// Opens the state of the vault `config` describes. `store` is needed for
// kAll with "files" (usage is counted from it). Errors: kNotFound "... is
// not a vault" without tenants.json; kUnavailable naming why the database
// cannot be reached; kUnsupportedVersion for a newer schema.
Result<VaultState> OpenVaultState(const VaultConfig& config, StateParts parts,
                                  RepoStore* store = nullptr);

// The files registry of a new vault (`init`); with "postgres", the schema
// is made if the database has none. kAlreadyExists if tenants.json exists.
Status CreateVaultState(const VaultConfig& config);

}  // namespace coffre::vault
