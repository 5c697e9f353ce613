// UsageLedger: the bytes each tenant stores, as quotas and metrics see
// them. An upload reserves its size before its first byte is written, so a
// quota holds however many uploads run at once; a failed upload or a
// delete gives its bytes back. Where the count lives is each kind's own:
// NodeUsageLedger (this node's memory, counted from the storage at start:
// one node) or PgUsageLedger (vault/state/: one row per tenant that every
// node of a fleet updates).
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/base/status.h"
#include "vault/store/repo_store.h"

namespace coffre::vault {

class UsageLedger {
 public:
  virtual ~UsageLedger() = default;
  // Counts `bytes` more for the tenant if they fit in `quota` (0: no
  // quota); kNoSpace "quota exceeded" if not.
  virtual Status Reserve(const std::string& tenant, uint64_t bytes, uint64_t quota) = 0;
  // Counts `bytes` fewer (never below zero).
  virtual Status Release(const std::string& tenant, uint64_t bytes) = 0;
  // Every tenant's bytes; a tenant absent stores none.
  virtual Result<std::map<std::string, uint64_t>> All() const = 0;
};

class NodeUsageLedger final : public UsageLedger {
 public:
  // Counts every object in `store` (one listing of the storage).
  static Result<std::unique_ptr<NodeUsageLedger>> Count(RepoStore& store);

  Status Reserve(const std::string& tenant, uint64_t bytes, uint64_t quota) override;
  Status Release(const std::string& tenant, uint64_t bytes) override;
  Result<std::map<std::string, uint64_t>> All() const override;

 private:
  NodeUsageLedger() = default;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> usage_;
};

// Whether `bytes` more fit beside `used` in `quota` (0: no quota), without
// overflow: the one rule every ledger applies.
inline bool FitsQuota(uint64_t used, uint64_t bytes, uint64_t quota) {
  return quota == 0 || (bytes <= quota && used <= quota - bytes);
}

}  // namespace coffre::vault
