#include "vault/state/pg_usage_ledger.h"

#include <limits>

namespace coffre::vault {
namespace {

constexpr uint64_t kMaxBigint = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

}  // namespace

Status PgUsageLedger::Reserve(const std::string& tenant, uint64_t bytes, uint64_t quota) {
  if (!FitsQuota(0, bytes, quota) || bytes > kMaxBigint) return NoSpaceError("quota exceeded");
  // The row is made with the tenant; the insert covers one made before.
  ASSIGN_OR_RETURN(
      PgRows rows,
      db_->Query("INSERT INTO coffre_usage AS u (tenant, bytes) SELECT $1, $2::bigint "
                 "WHERE $3::bigint = 0 OR $2::bigint <= $3::bigint "
                 "ON CONFLICT (tenant) DO UPDATE SET bytes = u.bytes + EXCLUDED.bytes "
                 "WHERE $3::bigint = 0 OR u.bytes <= $3::bigint - EXCLUDED.bytes "
                 "RETURNING bytes",
                 {tenant, std::to_string(bytes), std::to_string(std::min(quota, kMaxBigint))}));
  if (rows.empty()) return NoSpaceError("quota exceeded");
  return Status::Ok();
}

Status PgUsageLedger::Release(const std::string& tenant, uint64_t bytes) {
  return StatusOf(db_->Query(
      "UPDATE coffre_usage SET bytes = GREATEST(bytes - $2::bigint, 0) WHERE tenant = $1",
      {tenant, std::to_string(std::min(bytes, kMaxBigint))}));
}

Result<std::map<std::string, uint64_t>> PgUsageLedger::All() const {
  ASSIGN_OR_RETURN(PgRows rows, db_->Query("SELECT tenant, bytes FROM coffre_usage"));
  std::map<std::string, uint64_t> out;
  for (const auto& row : rows) out[row[0]] = std::stoull(row[1]);
  return out;
}

Status PgUsageLedger::Replace(const std::map<std::string, uint64_t>& counted) {
  return db_->Transaction([&](PgSession& s) -> Status {
    RETURN_IF_ERROR(StatusOf(s.Query("UPDATE coffre_usage SET bytes = 0")));
    for (const auto& [tenant, bytes] : counted) {
      // Objects of a tenant the registry does not know count for nobody.
      RETURN_IF_ERROR(StatusOf(s.Query(
          "INSERT INTO coffre_usage (tenant, bytes) SELECT $1, $2::bigint "
          "WHERE EXISTS (SELECT 1 FROM coffre_tenants WHERE name = $1) "
          "ON CONFLICT (tenant) DO UPDATE SET bytes = EXCLUDED.bytes",
          {tenant, std::to_string(std::min(bytes, kMaxBigint))})));
    }
    return Status::Ok();
  });
}

}  // namespace coffre::vault
