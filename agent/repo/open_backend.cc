#include "agent/repo/open_backend.h"

#include "core/storage/vault/vault_backend.h"
#include "agent/repo/cached_backend.h"
#include "core/storage/backend_wrapper.h"
#include "core/storage/local_backend.h"
#include "core/storage/retry_backend.h"
#include "core/storage/throttled_backend.h"

namespace coffre::repo {

namespace {

bool IsVault(const std::string& location) { return location.rfind("https://", 0) == 0; }

Status CheckLocation(const std::string& location, const BackendOptions& options) {
  if (location.empty())
    return InvalidArgumentError("no repository given: use --repo or COFFRE_REPO");
  if (IsVault(location)) {
    if (options.token.empty())
      return AuthFailedError("no vault token: give --token-file or COFFRE_TOKEN");
    return Status::Ok();
  }
  if (location.find("://") != std::string::npos)
    return InvalidArgumentError("'" + location +
                                "': a repository is a local folder or https://HOST:PORT/TENANT/REPO");
  return Status::Ok();
}

// Paces uploads and downloads when a limit is set. The pacing sits under the
// retries: a retried call moves its bytes again, and they count against the
// rate too; the backoff sleeps spend no budget.
std::unique_ptr<storage::Backend> Throttled(std::unique_ptr<storage::Backend> base,
                                            const BackendOptions& options) {
  std::shared_ptr<RateLimiter> upload = options.upload_limiter;
  if (!upload && options.limit_upload) upload = std::make_shared<RateLimiter>(options.limit_upload);
  std::shared_ptr<RateLimiter> download;
  if (options.limit_download) download = std::make_shared<RateLimiter>(options.limit_download);
  if (!upload && !download) return base;
  return std::make_unique<storage::ThrottledBackend>(std::move(base), std::move(upload),
                                                     std::move(download));
}

// Network hiccups (resets, timeouts, a vault restarting) are retried; every
// other error goes straight to the caller.
std::unique_ptr<storage::Backend> WithRetries(std::unique_ptr<storage::vault::VaultBackend> vault,
                                              const BackendOptions& options) {
  return std::make_unique<storage::RetryingBackend>(
      std::shared_ptr<storage::Backend>(Throttled(std::move(vault), options)));
}

storage::vault::VaultOptions VaultOptionsOf(const BackendOptions& options) {
  storage::vault::VaultOptions out;
  out.token = options.token;
  out.ca_file = options.ca_file;
  out.transfer = options.transfer;
  return out;
}

}  // namespace

Result<std::unique_ptr<storage::Backend>> CreateBackend(const std::string& location,
                                                        const BackendOptions& options) {
  RETURN_IF_ERROR(CheckLocation(location, options));
  if (IsVault(location)) {
    ASSIGN_OR_RETURN(storage::vault::VaultUrl url, storage::vault::ParseVaultUrl(location));
    ASSIGN_OR_RETURN(auto vault, storage::vault::VaultBackend::Create(url, VaultOptionsOf(options)));
    return WithRetries(std::move(vault), options);
  }
  ASSIGN_OR_RETURN(auto backend, storage::LocalBackend::Create(location));
  return Throttled(std::move(backend), options);
}

Result<std::unique_ptr<storage::Backend>> OpenBackend(const std::string& location,
                                                      const BackendOptions& options) {
  RETURN_IF_ERROR(CheckLocation(location, options));
  if (IsVault(location)) {
    ASSIGN_OR_RETURN(storage::vault::VaultUrl url, storage::vault::ParseVaultUrl(location));
    ASSIGN_OR_RETURN(auto vault, storage::vault::VaultBackend::Open(url, VaultOptionsOf(options)));
    std::shared_ptr<storage::Backend> remote = WithRetries(std::move(vault), options);
    if (options.no_cache) return std::unique_ptr<storage::Backend>(
        std::make_unique<storage::BackendWrapper>(std::move(remote)));
    CacheOptions cache;
    cache.dir = options.cache_dir.empty() ? DefaultCacheDir() : options.cache_dir;
    cache.max_bytes = options.cache_max_bytes;
    cache.warn = options.warn;
    return CachedBackend::Wrap(std::move(remote), cache);
  }
  ASSIGN_OR_RETURN(auto backend, storage::LocalBackend::Open(location));
  return Throttled(std::move(backend), options);
}

}  // namespace coffre::repo
