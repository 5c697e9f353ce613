#include "agent/repo/open_backend.h"

#include "core/storage/local_backend.h"

namespace coffre::repo {

static Status CheckLocation(const std::string& location) {
  if (location.empty())
    return InvalidArgumentError("no repository given: use --repo or COFFRE_REPO");
  if (location.find("://") != std::string::npos)
    return InvalidArgumentError("'" + location + "': only local folders are supported so far");
  return Status::Ok();
}

Result<std::unique_ptr<storage::Backend>> CreateBackend(const std::string& location) {
  RETURN_IF_ERROR(CheckLocation(location));
  ASSIGN_OR_RETURN(auto backend, storage::LocalBackend::Create(location));
  return std::unique_ptr<storage::Backend>(std::move(backend));
}

Result<std::unique_ptr<storage::Backend>> OpenBackend(const std::string& location) {
  RETURN_IF_ERROR(CheckLocation(location));
  ASSIGN_OR_RETURN(auto backend, storage::LocalBackend::Open(location));
  return std::unique_ptr<storage::Backend>(std::move(backend));
}

}  // namespace coffre::repo
