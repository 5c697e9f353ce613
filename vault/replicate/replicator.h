// Replicate: one pass of asynchronous, incremental replication of a
// tenant's repositories from this vault's storage to another vault, over
// its HTTP API (docs/sovereignty.md "Replication"). Only what the replica
// lacks is sent, each object checked against its SHA-256 name before it
// leaves and by the replica on arrival; a pass killed at any point is
// resumed by the next, which compares again. A delete on this side reaches
// the replica only once the object has been absent here for the delay, so
// a wrong prune can still be undone from the replica meanwhile. The
// tenant's placement is checked against the replica's declared location
// before a byte is sent; a refusal is audited here.
// Thread-safety: one pass at a time per tenant (the caller's job).
#pragma once

#include <cstdint>
#include <string>

#include "core/base/rate_limiter.h"
#include "core/base/status.h"
#include "core/storage/vault/vault_backend.h"
#include "vault/audit/audit_log.h"
#include "vault/replicate/replication_status.h"
#include "vault/store/repo_store.h"
#include "vault/tenant/registry.h"

namespace coffre::vault {

struct ReplicateOptions {
  std::string to_host;  // the replica vault
  int to_port = 443;
  storage::vault::VaultOptions vault;  // its token (of this tenant, admin) and CA
  int64_t delete_delay_ns = int64_t{7} * 24 * 3600 * 1'000'000'000;
  RateLimiter* limit = nullptr;  // bytes sent per second, if set
  size_t parallel = 4;           // objects in flight
  std::string status_path;       // ReplicationStatusPath(...)
};

// Runs one pass for `tenant` and returns its status (also written to
// options.status_path as it goes). kPermissionDenied "placement: ..." if
// the replica's location is outside the tenant's placement (nothing is
// sent; `audit` records the refusal); the replica's own errors otherwise.
Result<ReplicationStatus> Replicate(RepoStore& store, const Tenant& tenant, AuditLog& audit,
                                    const ReplicateOptions& options);

}  // namespace coffre::vault
