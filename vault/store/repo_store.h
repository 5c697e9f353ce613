// RepoStore: every tenant's repositories, in a RepoSpace (folders under
// DATA/repos, the embedded default, or prefixes of one S3 bucket), handed
// out as storage::Backends so that what uses them works over any storage.
// Names are validated (ValidateTenantName/ValidateRepoName) before any path
// or key is built, so no request can reach outside its repository. Usage
// and quotas are the UsageLedger's (vault/store/usage_ledger.h).
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "core/storage/backend.h"
#include "vault/config/vault_config.h"
#include "vault/store/repo_space.h"

namespace coffre::vault {

class RepoStore {
 public:
  // The repositories in `space`.
  static Result<std::unique_ptr<RepoStore>> Open(std::unique_ptr<RepoSpace> space);
  // Folders under `repos_dir` (created if needed).
  static Result<std::unique_ptr<RepoStore>> Open(const std::string& repos_dir);
  // What `config` says: DATA/repos, or its [storage] S3 bucket (opened and
  // checked: credentials, bucket, clock).
  static Result<std::unique_ptr<RepoStore>> Open(const VaultConfig& config);

  // Creates an empty repository; kAlreadyExists if there is one.
  Status CreateRepo(const std::string& tenant, const std::string& repo);
  // The repository's storage; kNotFound if it does not exist. The backend
  // lives as long as the store.
  Result<storage::Backend*> Find(const std::string& tenant, const std::string& repo);

  // The tenant's repositories, sorted (held areas are not repositories).
  Result<std::vector<std::string>> Repos(const std::string& tenant);

  // The held area of repository `repo` for `day` ("YYYYMMDD"), created if
  // it does not exist yet. Only the deletion hold (held_store.h) uses
  // these, and requests never reach them. Not kept open, unlike a
  // repository: an area is removed once emptied, and may come back.
  Result<std::unique_ptr<storage::Backend>> OpenHeld(const std::string& tenant,
                                                     const std::string& repo,
                                                     const std::string& day);
  // The tenant's held areas, sorted by repository, then day.
  Result<std::vector<HeldAreaName>> HeldAreas(const std::string& tenant);
  // Removes a held area the caller emptied.
  Status RemoveHeld(const std::string& tenant, const std::string& repo, const std::string& day);
  // Calls `fn` once per stored object with its tenant and size.
  Status Scan(const std::function<void(const std::string& tenant, uint64_t bytes)>& fn) {
    return space_->Scan(fn);
  }
  // Removes what uploads cut by a crash left (RepoSpace::RemoveTemporaries:
  // only the serving process may).
  Status RemoveTemporaries() { return space_->RemoveTemporaries(); }
  // Where the repositories are, for messages.
  std::string Location() const { return space_->Location(); }

 private:
  explicit RepoStore(std::unique_ptr<RepoSpace> space) : space_(std::move(space)) {}

  const std::unique_ptr<RepoSpace> space_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<storage::Backend>> open_;
};

}  // namespace coffre::vault
