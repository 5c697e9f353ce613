#include "vault/api/request_auth.h"

namespace coffre::vault {

Result<Principal> Authenticate(const Registry& registry, std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.substr(0, kScheme.size()) != kScheme)
    return Err(AuthFailedError("invalid token"));
  authorization.remove_prefix(kScheme.size());
  return registry.Authenticate(authorization);
}

Status CheckAccess(const Principal& who, const std::string& tenant, const std::string& repo,
                   Need need, bool held) {
  if (who.tenant != tenant || (!who.repo.empty() && who.repo != repo))
    return PermissionDeniedError("this token is not valid for that path");
  switch (need) {
    case Need::kRead:
      return Status::Ok();
    case Need::kCreate:
    case Need::kDeleteLock:
      if (who.role != Role::kRestore) return Status::Ok();
      return PermissionDeniedError(need == Need::kCreate ? "a restore token cannot write"
                                                         : "a restore token cannot delete");
    case Need::kDelete:
      if (who.role == Role::kAdmin) return Status::Ok();
      if (who.role == Role::kMaintain && held) return Status::Ok();
      if (who.role == Role::kMaintain)
        return PermissionDeniedError(
            "a maintain token deletes only under a deletion hold, and this tenant has none");
      return PermissionDeniedError(
          "only an admin or maintain token can delete (backup tokens are append-only)");
  }
  return PermissionDeniedError("unknown operation");
}

}  // namespace coffre::vault
