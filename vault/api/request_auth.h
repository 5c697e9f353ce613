// Who may do what on the vault's API: the bearer token of a request turned
// into a Principal, and the rule that keeps it inside its tenant and role
// (docs/vault-api.md, "Authentication and roles"). Kept apart from the HTTP
// code so the rules are tested on their own.
// Thread-safety: free functions.
#pragma once

#include <string>
#include <string_view>

#include "vault/tenant/registry.h"

namespace coffre::vault {

// What a request needs: read (GET, HEAD, list), create (a repository or an
// object), delete, or delete a lock object. Backup tokens may delete locks:
// a backup removes its own lock when it ends (docs/prune.md). A lock holds
// no data, so this opens no way to destroy a backup.
enum class Need { kRead, kCreate, kDelete, kDeleteLock };

// The principal of an "Authorization: Bearer TOKEN" header value;
// kAuthFailed "invalid token" for anything else (missing, another scheme,
// unknown, revoked), the same for each.
Result<Principal> Authenticate(const Registry& registry, std::string_view authorization);

// OK if `who` may do `need` in repository `repo` of `tenant`: its tenant,
// its one repository if it is limited to one, and its role. A maintain
// token may delete only if `held` (the tenant has a deletion hold, so a
// delete only hides). kPermissionDenied otherwise, with a message that
// says nothing about the other tenant or repository (not even whether it
// exists).
Status CheckAccess(const Principal& who, const std::string& tenant, const std::string& repo,
                   Need need, bool held = false);

}  // namespace coffre::vault
