#include "vault/tenant/registry.h"

#include <algorithm>
#include <tuple>

#include "core/storage/vault_name.h"
#include "vault/tenant/token.h"

namespace coffre::vault {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kBackup:
      return "backup";
    case Role::kRestore:
      return "restore";
    case Role::kAdmin:
      return "admin";
    case Role::kMaintain:
      return "maintain";
  }
  return "unknown";
}

Result<Role> ParseRole(std::string_view name) {
  if (name == "backup") return Role::kBackup;
  if (name == "restore") return Role::kRestore;
  if (name == "admin") return Role::kAdmin;
  if (name == "maintain") return Role::kMaintain;
  return Err(InvalidArgumentError("unknown role '" + std::string(name) +
                                  "' (expected backup, restore, maintain or admin)"));
}

Status ValidateHoldDays(int64_t days) {
  if (days >= 0 && days <= kMaxHoldDays) return Status::Ok();
  return InvalidArgumentError("a deletion hold is 0 to " + std::to_string(kMaxHoldDays) +
                              " days, not " + std::to_string(days));
}

Status ValidateTenantName(std::string_view name) {
  return storage::ValidateVaultName("tenant", name);
}
Status ValidateRepoName(std::string_view name) {
  return storage::ValidateVaultName("repository", name);
}

bool Placement::Allows(const std::string& location) const {
  return locations.empty() ||
         std::find(locations.begin(), locations.end(), location) != locations.end();
}

std::string Placement::Describe() const {
  if (locations.empty()) return "any";
  std::string out;
  for (const std::string& l : locations) out += (out.empty() ? "" : ",") + l;
  return out;
}

Status ValidateLocation(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 32 && name[0] >= 'a' && name[0] <= 'z' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                  });
  if (ok) return Status::Ok();
  return InvalidArgumentError("bad location '" + std::string(name) +
                              "' (1 to 32 of a-z, 0-9, '-', starting with a letter)");
}

Result<Placement> ParsePlacement(const std::string& locations, int copies) {
  Placement p;
  if (locations != "any") {
    size_t start = 0;
    while (start <= locations.size()) {
      const size_t comma = std::min(locations.find(',', start), locations.size());
      const std::string name = locations.substr(start, comma - start);
      RETURN_IF_ERROR(ValidateLocation(name));
      p.locations.push_back(name);
      start = comma + 1;
    }
    std::sort(p.locations.begin(), p.locations.end());
    if (std::adjacent_find(p.locations.begin(), p.locations.end()) != p.locations.end())
      return Err(InvalidArgumentError("a location is named twice in '" + locations + "'"));
  }
  const int most = p.locations.empty() ? 1 : static_cast<int>(p.locations.size());
  if (copies < 1 || copies > most) {
    return Err(InvalidArgumentError("copies must be from 1 to " + std::to_string(most) +
                                    " (one per location at most)"));
  }
  p.copies = copies;
  return p;
}

void Registry::Install(std::shared_ptr<const RegistryState> state) {
  std::lock_guard<std::mutex> guard(mu_);
  state_ = std::move(state);
}

std::shared_ptr<const RegistryState> Registry::Current() const {
  std::lock_guard<std::mutex> guard(mu_);
  return state_;
}

Result<Tenant> Registry::FindTenant(const std::string& name) const {
  auto state = Current();
  auto it = state->tenants.find(name);
  if (it == state->tenants.end()) return Err(NotFoundError("no tenant '" + name + "'"));
  return it->second;
}

std::vector<Tenant> Registry::Tenants() const {
  auto state = Current();
  std::vector<Tenant> out;
  for (const auto& [name, t] : state->tenants) out.push_back(t);  // map order: by name
  return out;
}

std::vector<TokenInfo> Registry::Tokens() const {
  auto state = Current();
  std::vector<TokenInfo> out;
  for (const auto& [id, t] : state->tokens) out.push_back(t.info);
  std::sort(out.begin(), out.end(), [](const TokenInfo& a, const TokenInfo& b) {
    return std::tie(a.tenant, a.id) < std::tie(b.tenant, b.id);
  });
  return out;
}

Result<Principal> Registry::Authenticate(std::string_view token) const {
  // One message for every failure: the caller answers 401 with it.
  ASSIGN_OR_RETURN(PresentedToken presented, ParseToken(token));
  auto state = Current();
  auto it = state->tokens.find(presented.id);
  if (it == state->tokens.end()) return Err(AuthFailedError("invalid token"));
  const RegistryState::StoredToken& stored = it->second;
  if (!crypto::ConstantTimeEqual(presented.secret_hash, stored.secret_hash) ||
      stored.info.revoked) {
    return Err(AuthFailedError("invalid token"));
  }
  return Principal{stored.info.tenant, stored.info.role, stored.info.id, stored.info.repo};
}

}  // namespace coffre::vault
