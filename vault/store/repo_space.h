// RepoSpace: where a vault's repositories live, as storage::Backends: the
// folders under DATA/repos (LocalRepoSpace, the embedded default) or the
// prefixes of one S3 bucket that every vault node shares (S3RepoSpace).
// Usage and quotas are kept above it (UsageLedger), which knows neither.
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/storage/backend.h"
#include "core/storage/s3/s3_bucket.h"

namespace coffre::vault {

// A held area keeps the objects deleted from repository `repo` on one UTC
// day (`day`, "YYYYMMDD") under a deletion hold (held_store.h). It is
// stored beside the repository as "REPO~held~YYYYMMDD": '~' is in no
// repository name, so no request can name one.
std::string HeldName(const std::string& repo, const std::string& day);
struct HeldAreaName {
  std::string repo;
  std::string day;
};
// The repository and day of a held area's name; nullopt for anything else.
std::optional<HeldAreaName> ParseHeldName(const std::string& name);

class RepoSpace {
 public:
  virtual ~RepoSpace() = default;
  // Creates an empty repository; kAlreadyExists if there is one. Names are
  // checked by the caller (ValidateTenantName/ValidateRepoName).
  virtual Status Create(const std::string& tenant, const std::string& repo) = 0;
  // The repository's storage; kNotFound if there is none.
  virtual Result<std::unique_ptr<storage::Backend>> Open(const std::string& tenant,
                                                         const std::string& repo) = 0;
  // The names of everything stored for the tenant as a repository, sorted:
  // its repositories and the held areas of their deleted objects
  // ("REPO~held~YYYYMMDD", repo_store.h), which RepoStore tells apart.
  virtual Result<std::vector<std::string>> Names(const std::string& tenant) = 0;
  // Removes `name` (a held area, emptied by the caller) and what it
  // leaves of itself (a folder, a marker); OK if it is gone already.
  virtual Status Remove(const std::string& tenant, const std::string& name) = 0;
  // Calls `fn` once per stored object with its tenant and size (what
  // usage is counted from), held areas included.
  virtual Status Scan(const std::function<void(const std::string& tenant, uint64_t bytes)>& fn) = 0;
  // Removes what uploads cut by a crash or a kill left behind. Only the
  // one process serving this space may call it (`serve`, at start): an
  // upload in progress looks just like one cut.
  virtual Status RemoveTemporaries() { return Status::Ok(); }
  // "/srv/vault/repos", "http://127.0.0.1:7480/coffre/vault/", for messages.
  virtual std::string Location() const = 0;
};

// DATA/repos/TENANT/REPO, each a storage::LocalBackend.
Result<std::unique_ptr<RepoSpace>> OpenLocalRepoSpace(const std::string& repos_dir);

// PREFIX + "repos/TENANT/REPO/" in `bucket`, each an S3Backend; a
// repository exists once its marker PREFIX + "repos/TENANT/REPO/repository"
// does (written by Create, create-only).
std::unique_ptr<RepoSpace> NewS3RepoSpace(std::shared_ptr<storage::s3::S3Bucket> bucket,
                                          std::string prefix);

}  // namespace coffre::vault
