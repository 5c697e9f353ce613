// RepoStore: every tenant's repositories, under DATA/repos/TENANT/REPO, each
// a storage::LocalBackend (the embedded default storage) handed out as a
// storage::Backend, so what uses them works over any storage; and the bytes each
// tenant stores, kept up to date for quotas and metrics. At Open it removes
// the temporary files of uploads cut by a crash and counts what is stored.
// Names are validated (ValidateTenantName/ValidateRepoName) before any path
// is built, so no request can reach outside DATA/repos.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "core/storage/local_backend.h"

namespace coffre::vault {

class RepoStore {
 public:
  // Opens (creating if needed) DATA/repos.
  static Result<std::unique_ptr<RepoStore>> Open(const std::string& repos_dir);

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

 private:
  explicit RepoStore(std::string root) : root_(std::move(root)) {}
  std::string RepoPath(const std::string& tenant, const std::string& repo) const;
  Status ScanUsage();
  Result<storage::LocalBackend*> FindLocal(const std::string& tenant, const std::string& repo);

  const std::string root_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<storage::LocalBackend>> open_;
  std::map<std::string, uint64_t> usage_;
};

}  // namespace coffre::vault
