// RepoStore: every tenant's repositories, in a RepoSpace (folders under
// DATA/repos, the embedded default, or prefixes of one S3 bucket), handed
// out as storage::Backends so that what uses them works over any storage;
// and the bytes each tenant stores, counted at Open and kept up to date for
// quotas and metrics. Names are validated (ValidateTenantName/
// ValidateRepoName) before any path or key is built, so no request can
// reach outside its repository.
// With S3, usage is counted by this node: nodes sharing a bucket do not yet
// see each other's uploads until they restart (docs/vault.md, "Storage").
// Thread-safety: all methods may be called concurrently.
#pragma once

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
  // The repositories in `space`; counts every tenant's usage.
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

  // Bytes stored by a tenant in all its repositories.
  uint64_t Usage(const std::string& tenant) const;
  // Reserves `bytes` of the tenant's quota before an upload (0: no quota):
  // kNoSpace "quota exceeded" if it would not fit. The reservation counts as
  // used until Release (upload failed) or it stays (object stored).
  Status Reserve(const std::string& tenant, uint64_t bytes, uint64_t quota);
  void Release(const std::string& tenant, uint64_t bytes);
  std::map<std::string, uint64_t> AllUsage() const;
  // Where the repositories are, for messages.
  std::string Location() const { return space_->Location(); }

 private:
  explicit RepoStore(std::unique_ptr<RepoSpace> space) : space_(std::move(space)) {}

  const std::unique_ptr<RepoSpace> space_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<storage::Backend>> open_;
  std::map<std::string, uint64_t> usage_;
};

}  // namespace coffre::vault
