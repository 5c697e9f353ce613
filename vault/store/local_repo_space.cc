// LocalRepoSpace (repo_space.h): the repositories as folders under
// DATA/repos/TENANT/REPO, the embedded default storage.
#include <sys/stat.h>

#include <algorithm>

#include <filesystem>

#include "core/storage/local_backend.h"
#include "vault/store/repo_space.h"
#include "vault/tenant/registry.h"

namespace coffre::vault {

namespace {

namespace fs = std::filesystem;
using storage::ObjectKind;

class LocalRepoSpace : public RepoSpace {
 public:
  explicit LocalRepoSpace(std::string root) : root_(std::move(root)) {}

  Status Create(const std::string& tenant, const std::string& repo) override {
    std::error_code ec;
    fs::create_directories(root_ + "/" + tenant, ec);
    if (ec) return ErrnoStatus(ec.value(), "create the folder of tenant " + tenant);
    auto created = storage::LocalBackend::Create(PathOf(tenant, repo));
    if (created) return Status::Ok();
    if (created.error().code() == ErrorCode::kAlreadyExists)
      return AlreadyExistsError("repository " + tenant + "/" + repo + " already exists");
    return created.error();
  }

  Result<std::unique_ptr<storage::Backend>> Open(const std::string& tenant,
                                                 const std::string& repo) override {
    auto opened = storage::LocalBackend::Open(PathOf(tenant, repo));
    if (!opened) {
      if (opened.error().code() == ErrorCode::kNotFound)
        return Err(NotFoundError("no repository " + tenant + "/" + repo));
      return Err(opened.error());
    }
    return std::unique_ptr<storage::Backend>(std::move(*opened));
  }

  Status Scan(const std::function<void(const std::string&, uint64_t)>& fn) override {
    return ForEachRepo([&](const std::string& tenant, storage::LocalBackend& repo) -> Status {
      auto config = repo.Stat({ObjectKind::kConfig, std::string(storage::kConfigName)});
      if (config) fn(tenant, *config);
      for (auto kind : {ObjectKind::kKey, ObjectKind::kData, ObjectKind::kIndex,
                        ObjectKind::kSnapshot, ObjectKind::kLock}) {
        RETURN_IF_ERROR(repo.List(kind, [&](const storage::ObjectInfo& info) {
          fn(tenant, info.size);
          return Status::Ok();
        }));
      }
      return Status::Ok();
    });
  }

  Result<std::vector<std::string>> Names(const std::string& tenant) override {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& repo_dir : fs::directory_iterator(root_ + "/" + tenant, ec)) {
      const std::string repo = repo_dir.path().filename().string();
      if (IsStoredName(repo) && storage::LocalBackend::Open(PathOf(tenant, repo)))
        out.push_back(repo);
    }
    if (ec && ec != std::errc::no_such_file_or_directory)
      return Err(ErrnoStatus(ec.value(), "list " + root_ + "/" + tenant));
    std::sort(out.begin(), out.end());
    return out;
  }

  Status Remove(const std::string& tenant, const std::string& name) override {
    std::error_code ec;
    fs::remove_all(PathOf(tenant, name), ec);
    if (ec) return ErrnoStatus(ec.value(), "remove " + PathOf(tenant, name));
    return Status::Ok();
  }

  Status RemoveTemporaries() override {
    return ForEachRepo([](const std::string&, storage::LocalBackend& opened) {
      opened.RemoveTemporaries();
      return Status::Ok();
    });
  }

  std::string Location() const override { return root_; }

 private:
  // Calls `fn` with each repository under the root and its tenant.
  Status ForEachRepo(
      const std::function<Status(const std::string& tenant, storage::LocalBackend&)>& fn) {
    std::error_code ec;
    for (const auto& tenant_dir : fs::directory_iterator(root_, ec)) {
      const std::string tenant = tenant_dir.path().filename().string();
      if (!ValidateTenantName(tenant).ok() || !tenant_dir.is_directory()) continue;
      for (const auto& repo_dir : fs::directory_iterator(tenant_dir.path(), ec)) {
        const std::string repo = repo_dir.path().filename().string();
        if (!IsStoredName(repo)) continue;
        auto opened = storage::LocalBackend::Open(PathOf(tenant, repo));
        if (!opened) continue;
        RETURN_IF_ERROR(fn(tenant, **opened));
      }
    }
    if (ec) return ErrnoStatus(ec.value(), "list " + root_);
    return Status::Ok();
  }

  // A repository's name or a held area's: what a folder here may be.
  static bool IsStoredName(const std::string& name) {
    return ValidateRepoName(name).ok() || ParseHeldName(name).has_value();
  }

  std::string PathOf(const std::string& tenant, const std::string& repo) const {
    return root_ + "/" + tenant + "/" + repo;
  }

  const std::string root_;
};

}  // namespace

Result<std::unique_ptr<RepoSpace>> OpenLocalRepoSpace(const std::string& repos_dir) {
  std::error_code ec;
  fs::create_directories(repos_dir, ec);
  if (ec) return Err(ErrnoStatus(ec.value(), "create " + repos_dir));
  ::chmod(repos_dir.c_str(), 0700);
  return std::unique_ptr<RepoSpace>(new LocalRepoSpace(repos_dir));
}

}  // namespace coffre::vault
