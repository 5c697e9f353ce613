// S3RepoSpace (repo_space.h): the repositories as prefixes of one S3
// bucket, PREFIX + "repos/TENANT/REPO/", so that every vault node sees
// the same ones.
#include <algorithm>

#include "core/storage/s3/s3_backend.h"
#include "vault/store/repo_space.h"
#include "vault/tenant/registry.h"

namespace coffre::vault {

namespace {

// A repository's marker: its existence is the repository's.
constexpr char kMarker[] = "repository";

class S3RepoSpace : public RepoSpace {
 public:
  S3RepoSpace(std::shared_ptr<storage::s3::S3Bucket> bucket, std::string prefix)
      : bucket_(std::move(bucket)), prefix_(std::move(prefix)) {
    if (!prefix_.empty() && prefix_.back() != '/') prefix_ += '/';
  }

  Status Create(const std::string& tenant, const std::string& repo) override {
    Status s = bucket_->PutIfAbsent(RepoPrefix(tenant, repo) + kMarker, {},
                                    "repository " + tenant + "/" + repo);
    if (s.code() == ErrorCode::kAlreadyExists)
      return AlreadyExistsError("repository " + tenant + "/" + repo + " already exists");
    return s;
  }

  Result<std::unique_ptr<storage::Backend>> Open(const std::string& tenant,
                                                 const std::string& repo) override {
    auto marker = bucket_->Head(RepoPrefix(tenant, repo) + kMarker, "repository " + tenant + "/" + repo);
    if (!marker) {
      if (marker.error().code() == ErrorCode::kNotFound)
        return Err(NotFoundError("no repository " + tenant + "/" + repo));
      return Err(marker.error());
    }
    return std::unique_ptr<storage::Backend>(
        std::make_unique<storage::s3::S3Backend>(bucket_, RepoPrefix(tenant, repo)));
  }

  Status Scan(const std::function<void(const std::string&, uint64_t)>& fn) override {
    // One listing of every repository's keys, a page at a time: memory
    // does not grow with the bucket. Uploads cut by a crash left nothing.
    const std::string repos = prefix_ + "repos/";
    return bucket_->List(repos, [&](const std::string& key, uint64_t size) {
      const std::string rest = key.substr(repos.size());
      const size_t slash = rest.find('/');
      if (slash == std::string::npos) return Status::Ok();
      const std::string tenant = rest.substr(0, slash);
      if (!ValidateTenantName(tenant).ok()) return Status::Ok();
      // TENANT/REPO/repository is a marker: it holds nothing of the tenant's.
      const bool marker = std::count(rest.begin(), rest.end(), '/') == 2 &&
                          rest.substr(rest.rfind('/') + 1) == kMarker;
      if (marker) return Status::Ok();
      fn(tenant, size);
      return Status::Ok();
    });
  }

  Result<std::vector<std::string>> Names(const std::string& tenant) override {
    // Its keys a page at a time; only the markers' names are kept.
    const std::string base = prefix_ + "repos/" + tenant + "/";
    std::vector<std::string> out;
    RETURN_IF_ERROR(bucket_->List(base, [&](const std::string& key, uint64_t) {
      const std::string rest = key.substr(base.size());
      const size_t slash = rest.find('/');
      if (slash == std::string::npos) return Status::Ok();
      // A held area is named by any of its keys: one whose marker went
      // while an object was moved in must not be lost from sight.
      const std::string name = rest.substr(0, slash);
      if (rest.substr(slash + 1) == kMarker || ParseHeldName(name)) out.push_back(name);
      return Status::Ok();
    }));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  Status Remove(const std::string& tenant, const std::string& name) override {
    // Its objects are gone (the caller removed them): only the marker is left.
    return bucket_->Delete(RepoPrefix(tenant, name) + kMarker, "held area " + tenant + "/" + name);
  }

  std::string Location() const override { return bucket_->Location() + prefix_; }

 private:
  std::string RepoPrefix(const std::string& tenant, const std::string& repo) const {
    return prefix_ + "repos/" + tenant + "/" + repo + "/";
  }

  const std::shared_ptr<storage::s3::S3Bucket> bucket_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<RepoSpace> NewS3RepoSpace(std::shared_ptr<storage::s3::S3Bucket> bucket,
                                          std::string prefix) {
  return std::make_unique<S3RepoSpace>(std::move(bucket), std::move(prefix));
}

}  // namespace coffre::vault
