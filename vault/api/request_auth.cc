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
                   Need need) {
  if (who.tenant != tenant || (!who.repo.empty() && who.repo != repo))
    return PermissionDeniedError("this token is not valid for that path");
  switch (need) {
    case Need::kRead:
      return Status::Ok();
    case Need::kCreate:
      if (who.role == Role::kBackup || who.role == Role::kAdmin) return Status::Ok();
      return PermissionDeniedError("a restore token cannot write");
    case Need::kDeleteLock:
      if (who.role == Role::kBackup || who.role == Role::kAdmin) return Status::Ok();
      return PermissionDeniedError("a restore token cannot delete");
    case Need::kDelete:
      if (who.role == Role::kAdmin) return Status::Ok();
      return PermissionDeniedError("only an admin token can delete (backup tokens are append-only)");
  }
  return PermissionDeniedError("unknown operation");
}

}  // namespace coffre::vault
