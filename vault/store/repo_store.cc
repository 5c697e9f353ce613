#include "vault/store/repo_store.h"

#include <sys/stat.h>

#include <filesystem>

#include "vault/tenant/registry.h"

namespace coffre::vault {

namespace fs = std::filesystem;

namespace {

Status ValidateNames(const std::string& tenant, const std::string& repo) {
  RETURN_IF_ERROR(ValidateTenantName(tenant));
  return ValidateRepoName(repo);
}

}  // namespace

Result<std::unique_ptr<RepoStore>> RepoStore::Open(const std::string& repos_dir) {
  std::error_code ec;
  fs::create_directories(repos_dir, ec);
  if (ec) return Err(ErrnoStatus(ec.value(), "create " + repos_dir));
  ::chmod(repos_dir.c_str(), 0700);
  std::unique_ptr<RepoStore> store(new RepoStore(repos_dir));
  RETURN_IF_ERROR(store->ScanUsage());
  return store;
}

std::string RepoStore::RepoPath(const std::string& tenant, const std::string& repo) const {
  return root_ + "/" + tenant + "/" + repo;
}

Status RepoStore::ScanUsage() {
  std::error_code ec;
  for (const auto& tenant_dir : fs::directory_iterator(root_, ec)) {
    const std::string tenant = tenant_dir.path().filename().string();
    if (!ValidateTenantName(tenant).ok() || !tenant_dir.is_directory()) continue;
    uint64_t bytes = 0;
    for (const auto& repo_dir : fs::directory_iterator(tenant_dir.path(), ec)) {
      const std::string repo = repo_dir.path().filename().string();
      if (!ValidateRepoName(repo).ok()) continue;
      auto found = FindLocal(tenant, repo);
      if (!found) continue;
      (*found)->RemoveTemporaries();  // uploads cut by a crash or a kill
      for (auto kind : {storage::ObjectKind::kConfig, storage::ObjectKind::kKey,
                        storage::ObjectKind::kData, storage::ObjectKind::kIndex,
                        storage::ObjectKind::kSnapshot, storage::ObjectKind::kLock}) {
        if (kind == storage::ObjectKind::kConfig) {
          auto size = (*found)->Stat({kind, std::string(storage::kConfigName)});
          if (size) bytes += *size;
          continue;
        }
        RETURN_IF_ERROR((*found)->List(kind, [&](const storage::ObjectInfo& info) {
          bytes += info.size;
          return Status::Ok();
        }));
      }
    }
    std::lock_guard lock(mu_);
    usage_[tenant] = bytes;
  }
  if (ec) return ErrnoStatus(ec.value(), "list " + root_);
  return Status::Ok();
}

Status RepoStore::CreateRepo(const std::string& tenant, const std::string& repo) {
  RETURN_IF_ERROR(ValidateNames(tenant, repo));
  std::error_code ec;
  fs::create_directories(root_ + "/" + tenant, ec);
  if (ec) return ErrnoStatus(ec.value(), "create the folder of tenant " + tenant);
  std::lock_guard lock(mu_);
  auto created = storage::LocalBackend::Create(RepoPath(tenant, repo));
  if (!created) {
    if (created.error().code() == ErrorCode::kAlreadyExists)
      return AlreadyExistsError("repository " + tenant + "/" + repo + " already exists");
    return created.error();
  }
  open_[{tenant, repo}] = std::move(*created);
  return Status::Ok();
}

Result<storage::Backend*> RepoStore::Find(const std::string& tenant, const std::string& repo) {
  ASSIGN_OR_RETURN(storage::LocalBackend * backend, FindLocal(tenant, repo));
  return backend;
}

Result<storage::LocalBackend*> RepoStore::FindLocal(const std::string& tenant,
                                                    const std::string& repo) {
  RETURN_IF_ERROR(ValidateNames(tenant, repo));
  std::lock_guard lock(mu_);
  auto it = open_.find({tenant, repo});
  if (it != open_.end()) return it->second.get();
  auto opened = storage::LocalBackend::Open(RepoPath(tenant, repo));
  if (!opened) {
    if (opened.error().code() == ErrorCode::kNotFound)
      return Err(NotFoundError("no repository " + tenant + "/" + repo));
    return Err(opened.error());
  }
  storage::LocalBackend* backend = opened->get();
  open_[{tenant, repo}] = std::move(*opened);
  return backend;
}

uint64_t RepoStore::Usage(const std::string& tenant) const {
  std::lock_guard lock(mu_);
  auto it = usage_.find(tenant);
  return it == usage_.end() ? 0 : it->second;
}

Status RepoStore::Reserve(const std::string& tenant, uint64_t bytes, uint64_t quota) {
  std::lock_guard lock(mu_);
  uint64_t& used = usage_[tenant];
  if (quota != 0 && (bytes > quota || used > quota - bytes))
    return NoSpaceError("quota exceeded");
  used += bytes;
  return Status::Ok();
}

void RepoStore::Release(const std::string& tenant, uint64_t bytes) {
  std::lock_guard lock(mu_);
  uint64_t& used = usage_[tenant];
  used -= std::min(used, bytes);
}

std::map<std::string, uint64_t> RepoStore::AllUsage() const {
  std::lock_guard lock(mu_);
  return usage_;
}

}  // namespace coffre::vault
