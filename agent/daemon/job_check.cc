#include "agent/daemon/job_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/repo/open_backend.h"
#include "agent/util/secret_file.h"

namespace coffre::daemon {

namespace {

// An error naming `what` and `path` if the file cannot be opened to read.
Status Readable(const std::string& what, const std::string& path) {
  if (::access(path.c_str(), R_OK) == 0) return Status::Ok();
  const int err = errno;
  return ErrnoStatus(err, "cannot read " + what + " " + path);
}

}  // namespace

std::vector<Status> CheckJobFiles(const JobConfig& job) {
  std::vector<Status> problems;
  auto note = [&](Status s) {
    if (!s.ok()) problems.push_back(std::move(s));
  };
  note(StatusOf(ReadSecretFile(job.password_file, "password")));
  if (!job.token_file.empty()) note(StatusOf(ReadSecretFile(job.token_file, "token")));
  if (!job.cacert.empty()) note(Readable("cacert", job.cacert));
  for (const std::string& file : job.exclude_file) note(Readable("exclude file", file));
  for (const std::string& path : job.paths) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) note(ErrnoStatus(errno, "backup path " + path));
  }
  if (job.repo.rfind("https://", 0) != 0) {
    // A local repository: its config file is there to read, offline.
    note(Readable("repository config", job.repo + "/config"));
  }
  return problems;
}

Result<std::unique_ptr<repo::Repository>> OpenJobRepository(const JobConfig& job,
                                                            const AgentSettings& settings,
                                                            std::shared_ptr<RateLimiter> shared,
                                                            std::shared_ptr<storage::TransferCounter> transfer,
                                                            UnlockedKeys* unlocked) {
  repo::BackendOptions options;
  if (!job.token_file.empty()) {
    ASSIGN_OR_RETURN(options.token, ReadSecretFile(job.token_file, "token"));
  }
  options.ca_file = job.cacert;
  options.cache_dir = settings.cache_dir;
  options.transfer = std::move(transfer);
  if (job.limit_upload) {
    options.limit_upload = *job.limit_upload;  // this job's own pace
  } else if (shared) {
    options.upload_limiter = std::move(shared);
  } else {
    options.limit_upload = settings.limit_upload;
  }
  ASSIGN_OR_RETURN(std::string passphrase, ReadSecretFile(job.password_file, "password"));
  if (unlocked) {
    return unlocked->Open(
        job.repo, [&] { return repo::OpenBackend(job.repo, options); }, AsBytes(passphrase));
  }
  ASSIGN_OR_RETURN(auto backend, repo::OpenBackend(job.repo, options));
  return repo::Repository::Open(std::move(backend), AsBytes(passphrase));
}

}  // namespace coffre::daemon
