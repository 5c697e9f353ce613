#include "vault/state/vault_state.h"

#include "vault/audit/file_audit_log.h"
#include "vault/state/pg_audit_log.h"
#include "vault/state/pg_registry.h"
#include "vault/state/pg_schema.h"
#include "vault/state/pg_usage_ledger.h"
#include "vault/tenant/file_registry.h"

namespace coffre::vault {
namespace {

std::string RegistryPath(const VaultConfig& config) { return config.data_dir + "/tenants.json"; }

Result<std::unique_ptr<PgClient>> ConnectPg(const VaultConfig& config) {
  ASSIGN_OR_RETURN(std::unique_ptr<PgClient> db,
                   PgClient::Connect(config.state.conninfo,
                                     static_cast<size_t>(config.state.connections)));
  RETURN_IF_ERROR(EnsurePgSchema(*db));
  return db;
}

}  // namespace

Result<VaultState> OpenVaultState(const VaultConfig& config, StateParts parts, RepoStore* store) {
  VaultState state;
  if (config.state.type == StateConfig::Type::kPostgres) {
    ASSIGN_OR_RETURN(state.db, ConnectPg(config));
    ASSIGN_OR_RETURN(state.registry, PgRegistry::Open(state.db.get()));
    if (parts == StateParts::kAll) {
      state.usage = std::make_unique<PgUsageLedger>(state.db.get());
      state.audit = std::make_unique<PgAuditLog>(state.db.get(), NodeName(config));
    }
    state.location = "postgres (shared)";
    return state;
  }
  auto registry = FileRegistry::Open(RegistryPath(config));
  if (!registry && registry.error().code() == ErrorCode::kNotFound) {
    return Err(NotFoundError(config.data_dir + " is not a vault (run coffre-vault --data " +
                             config.data_dir + " init first)"));
  }
  if (!registry) return Err(registry.error());
  state.registry = std::move(*registry);
  if (parts == StateParts::kAll) {
    if (!store) return Err(InternalError("OpenVaultState: files usage needs the store"));
    ASSIGN_OR_RETURN(state.usage, NodeUsageLedger::Count(*store));
    ASSIGN_OR_RETURN(state.audit, FileAuditLog::Open(config.audit_log));
  }
  state.location = "files in " + config.data_dir;
  return state;
}

Status CreateVaultState(const VaultConfig& config) {
  if (config.state.type == StateConfig::Type::kPostgres) return StatusOf(ConnectPg(config));
  return StatusOf(FileRegistry::Create(RegistryPath(config)));
}

}  // namespace coffre::vault
