#include "vault/store/repo_store.h"

#include "vault/tenant/registry.h"

namespace coffre::vault {

namespace {

Status ValidateNames(const std::string& tenant, const std::string& repo) {
  RETURN_IF_ERROR(ValidateTenantName(tenant));
  return ValidateRepoName(repo);
}

}  // namespace

Result<std::unique_ptr<RepoStore>> RepoStore::Open(std::unique_ptr<RepoSpace> space) {
  return std::unique_ptr<RepoStore>(new RepoStore(std::move(space)));
}

Result<std::unique_ptr<RepoStore>> RepoStore::Open(const std::string& repos_dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<RepoSpace> space, OpenLocalRepoSpace(repos_dir));
  return Open(std::move(space));
}

Result<std::unique_ptr<RepoStore>> RepoStore::Open(const VaultConfig& config) {
  const StorageConfig& storage = config.storage;
  if (storage.type == StorageConfig::Type::kLocal) return Open(config.data_dir + "/repos");
  storage::s3::S3Options options;
  options.endpoint = storage.endpoint;
  options.region = storage.region;
  options.bucket = storage.bucket;
  options.virtual_hosted = storage.virtual_hosted;
  options.ca_file = storage.ca_file;
  options.max_connections = static_cast<size_t>(std::max(1, config.threads));
  ASSIGN_OR_RETURN(auto credentials, S3Credentials(storage));
  options.credentials.access_key_id = credentials.first;
  options.credentials.secret_access_key = credentials.second;
  ASSIGN_OR_RETURN(std::shared_ptr<storage::s3::S3Bucket> bucket,
                   storage::s3::S3Bucket::Open(options));
  return Open(NewS3RepoSpace(std::move(bucket), storage.prefix));
}

Status RepoStore::CreateRepo(const std::string& tenant, const std::string& repo) {
  RETURN_IF_ERROR(ValidateNames(tenant, repo));
  std::lock_guard lock(mu_);
  return space_->Create(tenant, repo);
}

Result<storage::Backend*> RepoStore::Find(const std::string& tenant, const std::string& repo) {
  RETURN_IF_ERROR(ValidateNames(tenant, repo));
  std::lock_guard lock(mu_);
  auto it = open_.find({tenant, repo});
  if (it != open_.end()) return it->second.get();
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Backend> opened, space_->Open(tenant, repo));
  storage::Backend* backend = opened.get();
  open_[{tenant, repo}] = std::move(opened);
  return backend;
}

}  // namespace coffre::vault
