// PgRegistry: the tenants and tokens of a fleet of vault nodes, in the
// PostgreSQL database they share (docs/state.md). Every change runs in one
// transaction that also bumps coffre_meta's generation; Refresh reads that
// one number at most once a second and re-reads the tenants and tokens
// only when it moved. So a token added or revoked through any node is
// honoured by every node from its first request one second later at most
// (plus the time of one query). Authentication answers from memory.
// Once reads of the database have failed for kStaleLimit, Refresh returns
// kUnavailable and the server refuses requests (503) until one succeeds: a
// revoked token must not pass for long because the database is down.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "vault/state/pg_client.h"
#include "vault/tenant/registry.h"

namespace coffre::vault {

class PgRegistry final : public Registry {
 public:
  static constexpr int64_t kRefreshIntervalNs = 1'000'000'000;
  static constexpr int64_t kStaleLimitNs = 30'000'000'000;

  // Reads the tenants and tokens of `db` (whose schema is ensured), which
  // outlives the registry. `stale_limit_ns` is kStaleLimitNs but in tests.
  static Result<std::unique_ptr<PgRegistry>> Open(PgClient* db,
                                                  int64_t stale_limit_ns = kStaleLimitNs);

  Status AddTenant(const std::string& name, uint64_t quota_bytes) override;
  Status SetQuota(const std::string& name, uint64_t quota_bytes) override;
  Status SetPlacement(const std::string& name, const Placement& placement) override;
  Status SetHold(const std::string& name, int hold_days) override;
  Result<std::string> AddToken(const std::string& tenant, Role role,
                               const std::string& repo = "") override;
  Status RevokeToken(const std::string& id) override;
  Status Refresh() override;

 private:
  PgRegistry(PgClient* db, int64_t stale_limit_ns) : db_(db), stale_limit_ns_(stale_limit_ns) {}
  // Reads everything in one snapshot of the database and installs it.
  Status Load();
  // Reads the generation (at most once per kRefreshIntervalNs) and loads
  // if it moved; between reads, the last read's error.
  Status Check();
  // Runs `change` in a transaction that bumps the generation, then loads.
  Status Modify(const std::function<Status(PgSession&)>& change);

  PgClient* const db_;
  const int64_t stale_limit_ns_;
  std::mutex load_mu_;     // one Load at a time, so the last one installed is the newest
  std::mutex refresh_mu_;  // one Check at a time; guards the two fields below
  int64_t last_check_ns_ = 0;
  Status last_error_;
  std::atomic<int64_t> generation_{-1};
  // When reads began to fail (monotonic), 0 while they succeed; Refresh
  // reads it without a lock.
  std::atomic<int64_t> failing_since_ns_{0};
};

}  // namespace coffre::vault
