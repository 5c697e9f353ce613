// PgUsageLedger: the bytes each tenant stores, one row per tenant in the
// PostgreSQL database a fleet shares (docs/state.md). A reservation is one
// statement that adds the bytes only if they fit, under the row's lock, so
// however many nodes upload for a tenant at once, the bytes reserved never
// pass its quota: an upload is refused before its first byte is stored.
// The one slack is a quota lowered through another node, seen here within
// the registry's refresh (a second).
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "vault/state/pg_client.h"
#include "vault/store/usage_ledger.h"

namespace coffre::vault {

class PgUsageLedger final : public UsageLedger {
 public:
  // `db` (whose schema is ensured) outlives the ledger.
  explicit PgUsageLedger(PgClient* db) : db_(db) {}

  Status Reserve(const std::string& tenant, uint64_t bytes, uint64_t quota) override;
  Status Release(const std::string& tenant, uint64_t bytes) override;
  Result<std::map<std::string, uint64_t>> All() const override;
  // Sets every tenant's count to what `counted` says (absent: 0), in one
  // transaction: `coffre-vault usage recount`, after a scan of the storage.
  Status Replace(const std::map<std::string, uint64_t>& counted);

 private:
  PgClient* const db_;
};

}  // namespace coffre::vault
