// VaultServer: the vault's HTTPS API (docs/vault-api.md) on cpp-httplib with
// OpenSSL. It authenticates every request against the Registry, keeps each
// token inside its tenant and role, hands uploads and deletes to the
// ObjectService (quota, hash, create-only commit), serves byte ranges,
// answers errors by the shared table (core/storage/http_status.h), counts
// everything in Metrics and records writes and deletes in the AuditLog.
//
// Lifecycle: Create, Bind (the port is known from then on), Run (blocks,
// serving on `threads` threads) until Stop, which stops accepting, lets the
// requests in progress finish and returns from Run.
// Thread-safety: Stop may be called from any thread (a signal handler's
// thread); the rest from one thread.
#pragma once

#include <memory>
#include <string>

#include "vault/audit/audit_log.h"
#include "vault/config/vault_config.h"
#include "vault/metrics/metrics.h"
#include "vault/store/repo_store.h"
#include "vault/state/vault_state.h"

namespace coffre::vault {

class VaultServer {
 public:
  // Serves `store` with the tenants, usage and audit trail of `state` (all
  // of its parts open). kInvalidArgument if the certificate or key cannot
  // be loaded. Everything passed outlives the server.
  static Result<std::unique_ptr<VaultServer>> Create(const VaultConfig& config,
                                                     VaultState* state, RepoStore* store,
                                                     Metrics* metrics);
  ~VaultServer();

  // Binds the configured address; returns the port (the one the system
  // picked for port 0). kUnavailable if the address is taken.
  Result<int> Bind();
  // Serves until Stop. kIo if the server failed.
  Status Run();
  void Stop();

 private:
  struct Impl;
  explicit VaultServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace coffre::vault
