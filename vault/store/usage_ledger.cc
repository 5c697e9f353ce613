#include "vault/store/usage_ledger.h"

#include <algorithm>

namespace coffre::vault {

Result<std::unique_ptr<NodeUsageLedger>> NodeUsageLedger::Count(RepoStore& store) {
  std::unique_ptr<NodeUsageLedger> ledger(new NodeUsageLedger());
  RETURN_IF_ERROR(
      store.Scan([&](const std::string& tenant, uint64_t bytes) { ledger->usage_[tenant] += bytes; }));
  return ledger;
}

Status NodeUsageLedger::Reserve(const std::string& tenant, uint64_t bytes, uint64_t quota) {
  std::lock_guard lock(mu_);
  uint64_t& used = usage_[tenant];
  if (!FitsQuota(used, bytes, quota)) return NoSpaceError("quota exceeded");
  used += bytes;
  return Status::Ok();
}

Status NodeUsageLedger::Release(const std::string& tenant, uint64_t bytes) {
  std::lock_guard lock(mu_);
  uint64_t& used = usage_[tenant];
  used -= std::min(used, bytes);
  return Status::Ok();
}

Result<std::map<std::string, uint64_t>> NodeUsageLedger::All() const {
  std::lock_guard lock(mu_);
  return usage_;
}

}  // namespace coffre::vault
