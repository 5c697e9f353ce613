#include "vault/store/repo_store.h"

#include <algorithm>
#include <tuple>

#include "vault/tenant/registry.h"

namespace coffre::vault {

namespace {

Status ValidateNames(const std::string& tenant, const std::string& repo) {
  RETURN_IF_ERROR(ValidateTenantName(tenant));
  return ValidateRepoName(repo);
}

Status ValidateDay(const std::string& day) {
  if (ParseHeldName(HeldName("r", day))) return Status::Ok();
  return InvalidArgumentError("bad day '" + day + "' (YYYYMMDD)");
}

}  // namespace

std::string HeldName(const std::string& repo, const std::string& day) {
  return repo + "~held~" + day;
}

std::optional<HeldAreaName> ParseHeldName(const std::string& name) {
  constexpr std::string_view kMark = "~held~";
  const size_t at = name.find(kMark);
  if (at == std::string::npos) return std::nullopt;
  HeldAreaName parsed{name.substr(0, at), name.substr(at + kMark.size())};
  if (!ValidateRepoName(parsed.repo).ok() || parsed.day.size() != 8 ||
      !std::all_of(parsed.day.begin(), parsed.day.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return parsed;
}

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

Result<std::vector<std::string>> RepoStore::Repos(const std::string& tenant) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, space_->Names(tenant));
  std::vector<std::string> repos;
  for (std::string& name : names)
    if (ValidateRepoName(name).ok()) repos.push_back(std::move(name));
  return repos;
}

Result<std::unique_ptr<storage::Backend>> RepoStore::OpenHeld(const std::string& tenant,
                                                              const std::string& repo,
                                                              const std::string& day) {
  RETURN_IF_ERROR(ValidateNames(tenant, repo));
  RETURN_IF_ERROR(ValidateDay(day));
  const std::string name = HeldName(repo, day);
  auto opened = space_->Open(tenant, name);
  if (!opened && opened.error().code() == ErrorCode::kNotFound) {
    Status made = space_->Create(tenant, name);
    if (!made.ok() && made.code() != ErrorCode::kAlreadyExists) return Err(made);
    opened = space_->Open(tenant, name);
  }
  return opened;
}

Result<std::vector<HeldAreaName>> RepoStore::HeldAreas(const std::string& tenant) {
  RETURN_IF_ERROR(ValidateTenantName(tenant));
  ASSIGN_OR_RETURN(std::vector<std::string> names, space_->Names(tenant));
  std::vector<HeldAreaName> areas;
  for (const std::string& name : names)
    if (auto area = ParseHeldName(name)) areas.push_back(*area);
  std::sort(areas.begin(), areas.end(), [](const HeldAreaName& a, const HeldAreaName& b) {
    return std::tie(a.repo, a.day) < std::tie(b.repo, b.day);
  });
  return areas;
}

Status RepoStore::RemoveHeld(const std::string& tenant, const std::string& repo,
                             const std::string& day) {
  RETURN_IF_ERROR(ValidateNames(tenant, repo));
  RETURN_IF_ERROR(ValidateDay(day));
  return space_->Remove(tenant, HeldName(repo, day));
}

}  // namespace coffre::vault
