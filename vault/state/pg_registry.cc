#include "vault/state/pg_registry.h"

#include <cinttypes>
#include <optional>
#include <limits>

#include "core/base/bytes.h"
#include "core/base/clock.h"
#include "vault/tenant/token.h"

namespace coffre::vault {
namespace {

Result<int64_t> ParseInt(const std::string& text, const char* what) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return static_cast<int64_t>(v);
  } catch (const std::exception&) {
  }
  return Err(CorruptionError(std::string("shared state: bad ") + what + " '" + text + "'"));
}

// Quotas are bigint in the database.
Status CheckQuota(uint64_t quota_bytes) {
  if (quota_bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return InvalidArgumentError("quota too large");
  return Status::Ok();
}

const char kBumpGeneration[] =
    "UPDATE coffre_meta SET value = value + 1 WHERE key = 'generation'";

}  // namespace

Result<std::unique_ptr<PgRegistry>> PgRegistry::Open(PgClient* db, int64_t stale_limit_ns) {
  std::unique_ptr<PgRegistry> registry(new PgRegistry(db, stale_limit_ns));
  RETURN_IF_ERROR(registry->Load());
  return registry;
}

Status PgRegistry::Load() {
  std::lock_guard load(load_mu_);
  auto fresh = std::make_shared<RegistryState>();
  int64_t generation = 0;
  RETURN_IF_ERROR(db_->Transaction([&](PgSession& s) -> Status {
    // One snapshot: the generation read is that of the rows read.
    RETURN_IF_ERROR(StatusOf(s.Query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")));
    ASSIGN_OR_RETURN(PgRows gen, s.Query("SELECT value FROM coffre_meta WHERE key = 'generation'"));
    if (gen.empty()) return CorruptionError("shared state: no generation in coffre_meta");
    ASSIGN_OR_RETURN(generation, ParseInt(gen[0][0], "generation"));
    ASSIGN_OR_RETURN(PgRows tenants,
                     s.Query("SELECT name, quota_bytes, created_ns, locations, copies, "
                             "hold_days FROM coffre_tenants"));
    for (const auto& row : tenants) {
      Tenant t;
      t.name = row[0];
      ASSIGN_OR_RETURN(int64_t quota, ParseInt(row[1], "quota"));
      ASSIGN_OR_RETURN(t.created_ns, ParseInt(row[2], "time"));
      ASSIGN_OR_RETURN(int64_t copies, ParseInt(row[4], "copies"));
      ASSIGN_OR_RETURN(int64_t hold_days, ParseInt(row[5], "hold_days"));
      if (!ValidateHoldDays(hold_days).ok())
        return CorruptionError("shared state: tenant '" + row[0] + "': bad hold_days " + row[5]);
      t.hold_days = static_cast<int>(hold_days);
      t.quota_bytes = static_cast<uint64_t>(quota);
      if (!ValidateTenantName(t.name).ok())
        return CorruptionError("shared state: bad tenant name '" + t.name + "'");
      auto placement = ParsePlacement(row[3].empty() ? "any" : row[3], static_cast<int>(copies));
      if (!placement)
        return CorruptionError("shared state: tenant '" + t.name + "': " + placement.error().message());
      t.placement = *placement;
      fresh->tenants[t.name] = t;
    }
    ASSIGN_OR_RETURN(PgRows tokens,
                     s.Query("SELECT id, tenant, role, repo, created_ns, revoked, secret_sha256 "
                             "FROM coffre_tokens"));
    for (const auto& row : tokens) {
      RegistryState::StoredToken t;
      t.info.id = row[0];
      t.info.tenant = row[1];
      auto role = ParseRole(row[2]);
      t.info.repo = row[3];
      ASSIGN_OR_RETURN(t.info.created_ns, ParseInt(row[4], "time"));
      t.info.revoked = row[5] == "t";
      if (!role || !IsTokenId(t.info.id) || !IsSecretHashHex(row[6]) ||
          (!t.info.repo.empty() && !ValidateRepoName(t.info.repo).ok())) {
        return CorruptionError("shared state: bad token entry '" + t.info.id + "'");
      }
      t.info.role = *role;
      const Bytes hash = *HexDecode(row[6]);
      std::copy(hash.begin(), hash.end(), t.secret_hash.begin());
      fresh->tokens[t.info.id] = t;
    }
    return Status::Ok();
  }));
  // Loads run one at a time (load_mu_), so the last one read the latest
  // snapshot: it is installed even if its generation is lower (a database
  // restored from a dump counts from an older number).
  Install(std::move(fresh));
  generation_ = generation;
  failing_since_ns_ = 0;
  return Status::Ok();
}

Status PgRegistry::Refresh() {
  Status read = Check();
  // Until the state is read again, a token revoked elsewhere may still
  // pass here: once reads have failed for the limit, every request is
  // refused, not just this one.
  const int64_t failing_since = failing_since_ns_.load();
  if (failing_since != 0 && MonotonicNs() - failing_since >= stale_limit_ns_) {
    return UnavailableError("the shared state cannot be read (" +
                            (read.ok() ? std::string("still failing") : read.message()) +
                            "), so tokens cannot be checked");
  }
  // Within the limit, an unreachable database is an error the server
  // outlives (kUnavailable means "refuse requests").
  if (read.code() == ErrorCode::kUnavailable) return IoError(read.message());
  return read;
}

Status PgRegistry::Check() {
  std::unique_lock lock(refresh_mu_, std::try_to_lock);
  // Another thread is checking: answer from what is known.
  if (!lock.owns_lock()) return Status::Ok();
  const int64_t now = MonotonicNs();
  if (now - last_check_ns_ < kRefreshIntervalNs) return last_error_;
  last_check_ns_ = now;
  auto gen = db_->Query("SELECT value FROM coffre_meta WHERE key = 'generation'");
  Status read = StatusOf(gen);
  if (read.ok() && gen->empty()) read = CorruptionError("shared state: no generation");
  std::optional<int64_t> value;
  if (read.ok()) {
    auto parsed = ParseInt((*gen)[0][0], "generation");
    if (parsed) value = *parsed;
    else read = parsed.error();
  }
  if (read.ok() && *value != generation_.load()) read = Load();
  last_error_ = read;
  if (read.ok()) {
    failing_since_ns_ = 0;
  } else {
    int64_t none = 0;
    failing_since_ns_.compare_exchange_strong(none, now);
  }
  return read;
}

Status PgRegistry::Modify(const std::function<Status(PgSession&)>& change) {
  RETURN_IF_ERROR(db_->Transaction([&](PgSession& s) -> Status {
    RETURN_IF_ERROR(change(s));
    return StatusOf(s.Query(kBumpGeneration));
  }));
  // The change is made: a failed re-read only delays seeing it here, so
  // the next Check reads again instead of waiting out its interval.
  if (!Load().ok()) {
    std::lock_guard lock(refresh_mu_);
    last_check_ns_ = 0;
  }
  return Status::Ok();
}

Status PgRegistry::AddTenant(const std::string& name, uint64_t quota_bytes) {
  RETURN_IF_ERROR(ValidateTenantName(name));
  RETURN_IF_ERROR(CheckQuota(quota_bytes));
  Status s = Modify([&](PgSession& s) -> Status {
    RETURN_IF_ERROR(StatusOf(s.Query(
        "INSERT INTO coffre_tenants (name, quota_bytes, created_ns) VALUES ($1, $2, $3)",
        {name, std::to_string(quota_bytes), std::to_string(WallNs())})));
    return StatusOf(s.Query("INSERT INTO coffre_usage (tenant, bytes) VALUES ($1, 0) "
                            "ON CONFLICT (tenant) DO NOTHING",
                            {name}));
  });
  if (s.code() == ErrorCode::kAlreadyExists) return AlreadyExistsError("tenant '" + name + "' exists");
  return s;
}

Status PgRegistry::SetQuota(const std::string& name, uint64_t quota_bytes) {
  RETURN_IF_ERROR(CheckQuota(quota_bytes));
  return Modify([&](PgSession& s) -> Status {
    ASSIGN_OR_RETURN(PgRows rows,
                     s.Query("UPDATE coffre_tenants SET quota_bytes = $2 WHERE name = $1 "
                             "RETURNING name",
                             {name, std::to_string(quota_bytes)}));
    if (rows.empty()) return NotFoundError("no tenant '" + name + "'");
    return Status::Ok();
  });
}

Status PgRegistry::SetPlacement(const std::string& name, const Placement& placement) {
  const std::string locations = placement.locations.empty() ? "" : placement.Describe();
  return Modify([&](PgSession& s) -> Status {
    ASSIGN_OR_RETURN(PgRows rows,
                     s.Query("UPDATE coffre_tenants SET locations = $2, copies = $3::integer "
                             "WHERE name = $1 RETURNING name",
                             {name, locations, std::to_string(placement.copies)}));
    if (rows.empty()) return NotFoundError("no tenant '" + name + "'");
    return Status::Ok();
  });
}

Status PgRegistry::SetHold(const std::string& name, int hold_days) {
  RETURN_IF_ERROR(ValidateHoldDays(hold_days));
  return Modify([&](PgSession& s) -> Status {
    ASSIGN_OR_RETURN(PgRows rows,
                     s.Query("UPDATE coffre_tenants SET hold_days = $2::integer WHERE name = $1 "
                             "RETURNING name",
                             {name, std::to_string(hold_days)}));
    if (rows.empty()) return NotFoundError("no tenant '" + name + "'");
    return Status::Ok();
  });
}

Result<std::string> PgRegistry::AddToken(const std::string& tenant, Role role,
                                         const std::string& repo) {
  if (!repo.empty()) RETURN_IF_ERROR(ValidateRepoName(repo));
  // A repeated id (64 random bits) fails the primary key and is retried.
  for (int attempt = 0;; ++attempt) {
    const NewToken made = MakeToken();
    Status s = Modify([&](PgSession& s) -> Status {
      return StatusOf(s.Query(
          "INSERT INTO coffre_tokens (id, tenant, role, repo, created_ns, secret_sha256) "
          "VALUES ($1, $2, $3, $4, $5, $6)",
          {made.id, tenant, RoleName(role), repo, std::to_string(WallNs()),
           HexEncode(made.secret_hash)}));
    });
    if (s.ok()) return made.token;
    if (s.code() == ErrorCode::kNotFound) return Err(NotFoundError("no tenant '" + tenant + "'"));
    if (s.code() != ErrorCode::kAlreadyExists || attempt == 3) return Err(s);
  }
}

Status PgRegistry::RevokeToken(const std::string& id) {
  return Modify([&](PgSession& s) -> Status {
    ASSIGN_OR_RETURN(PgRows rows,
                     s.Query("UPDATE coffre_tokens SET revoked = true WHERE id = $1 RETURNING id",
                             {id}));
    if (rows.empty()) return NotFoundError("no token with id '" + id + "'");
    return Status::Ok();
  });
}

}  // namespace coffre::vault
