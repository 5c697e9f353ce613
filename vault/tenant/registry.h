// The tenants of a vault and their API tokens: names, roles, the
// principal a request acts as, and the Registry interface with its
// in-memory reads. Where they are kept is each implementation's own
// (vault/tenant/file_registry.h, vault/state/pg_registry.h); the token
// format is in vault/tenant/token.h.
// Thread-safety: all Registry methods may be called concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/crypto/hash.h"

namespace coffre::vault {

// kMaintain is kBackup plus deleting, and deletes only where the tenant
// has a deletion hold (a delete then only hides the object: held_store.h),
// so an agent that runs its own retention needs no admin token.
enum class Role { kBackup, kRestore, kAdmin, kMaintain };

// "backup", "restore", "admin", "maintain".
const char* RoleName(Role role);
// kInvalidArgument for anything else.
Result<Role> ParseRole(std::string_view name);

// Tenant and repository names: 1 to 63 characters of [a-z0-9_-], starting
// with a letter or a digit; kInvalidArgument otherwise.
Status ValidateTenantName(std::string_view name);
Status ValidateRepoName(std::string_view name);

// Where a tenant's data may be stored (docs/sovereignty.md): the locations
// ("fr-par", "fr-rbx" ...) a vault must be in to accept it or to be sent a
// replica of it, and how many copies it must have. No locations: anywhere.
struct Placement {
  std::vector<std::string> locations;  // sorted, no repeats
  int copies = 1;                      // 1 to locations.size() (1 without locations)

  bool Allows(const std::string& location) const;
  // "fr-par,fr-rbx" ("any" when unrestricted), for messages and listings.
  std::string Describe() const;
  bool operator==(const Placement& other) const {
    return locations == other.locations && copies == other.copies;
  }
};

// Location names: 1 to 32 characters of [a-z0-9-], starting with a letter.
Status ValidateLocation(std::string_view name);
// "fr-par,fr-rbx" (or "any" for no restriction) and a number of copies,
// checked: kInvalidArgument for a bad name or copies outside 1..locations.
Result<Placement> ParsePlacement(const std::string& locations, int copies);

struct Tenant {
  std::string name;
  uint64_t quota_bytes = 0;  // 0: no quota
  int64_t created_ns = 0;
  Placement placement;
  // Days a deleted object is kept, hidden, before it is really removed
  // (docs/vault.md, "Deletion hold"); 0: deletes remove at once.
  int hold_days = 0;
};

// The longest deletion hold a tenant may be given (ten years).
inline constexpr int kMaxHoldDays = 3650;
// kInvalidArgument outside 0..kMaxHoldDays.
Status ValidateHoldDays(int64_t days);

struct TokenInfo {
  std::string id;
  std::string tenant;
  Role role = Role::kRestore;
  std::string repo;  // the one repository it may reach; "": all of the tenant's
  int64_t created_ns = 0;
  bool revoked = false;
};

// Who a request is from, once its token is checked.
struct Principal {
  std::string tenant;
  Role role = Role::kRestore;
  std::string token_id;
  std::string repo;  // "": every repository of the tenant
};

// What a registry knows at one moment: every tenant and every token (with
// the SHA-256 of its secret), read whole from where it is kept.
struct RegistryState {
  struct StoredToken {
    TokenInfo info;
    crypto::Digest secret_hash{};
  };
  std::map<std::string, Tenant> tenants;      // by name
  std::map<std::string, StoredToken> tokens;  // by id
};

// Registry: the tenants and tokens a vault serves. The reads (FindTenant,
// Tenants, Tokens, Authenticate) answer from the state last installed, in
// memory, so authenticating a request costs no I/O; the writes and Refresh
// are each kind's own: FileRegistry (DATA/tenants.json, one node) or
// PgRegistry (a PostgreSQL database every node of a fleet shares).
class Registry {
 public:
  virtual ~Registry() = default;

  // kAlreadyExists if the tenant exists; kInvalidArgument for a bad name.
  virtual Status AddTenant(const std::string& name, uint64_t quota_bytes) = 0;
  // kNotFound if there is no such tenant.
  virtual Status SetQuota(const std::string& name, uint64_t quota_bytes) = 0;
  // Sets where the tenant's data may be stored (ParsePlacement checked it).
  // kNotFound if there is no such tenant.
  virtual Status SetPlacement(const std::string& name, const Placement& placement) = 0;
  // Sets the tenant's deletion hold (ValidateHoldDays checked); kNotFound
  // if there is no such tenant.
  virtual Status SetHold(const std::string& name, int hold_days) = 0;
  // Creates a token for an existing tenant (kNotFound otherwise), limited
  // to repository `repo` unless it is empty, and returns it whole: the only
  // time the secret is ever shown. kInvalidArgument for a bad repo name.
  virtual Result<std::string> AddToken(const std::string& tenant, Role role,
                                       const std::string& repo = "") = 0;
  // Marks the token revoked (kept, so its id stays meaningful in the audit
  // log). kNotFound if no token has that id.
  virtual Status RevokeToken(const std::string& id) = 0;
  // Re-reads the tenants and tokens if they may have changed since they
  // were last read, at most once per the kind's interval. Errors keep the
  // registry as it was, except kUnavailable: the state could not be read
  // for so long that a revoked token might still pass, and the caller must
  // refuse requests until it can.
  virtual Status Refresh() = 0;

  Result<Tenant> FindTenant(const std::string& name) const;
  std::vector<Tenant> Tenants() const;    // sorted by name
  std::vector<TokenInfo> Tokens() const;  // sorted by tenant, then id
  // The principal of a token; kAuthFailed "invalid token" for a malformed,
  // unknown or revoked one (the same message for each).
  Result<Principal> Authenticate(std::string_view token) const;

 protected:
  Registry() : state_(std::make_shared<const RegistryState>()) {}
  // Makes `state` the one the reads answer from.
  void Install(std::shared_ptr<const RegistryState> state);
  std::shared_ptr<const RegistryState> Current() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const RegistryState> state_;
};

}  // namespace coffre::vault
