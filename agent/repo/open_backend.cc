#include "agent/repo/open_backend.h"

#include <atomic>

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
// A wait of a second or more is said, once every 30 s at most (several
// requests in flight wait for the same vault).
std::unique_ptr<storage::Backend> WithRetries(std::unique_ptr<storage::vault::VaultBackend> vault,
                                              const BackendOptions& options) {
  storage::RetryOptions retry;
  retry.give_up_after = options.retry_for;
  if (options.retry_for.count() == 0) retry.max_attempts = 1;  // no time: no retry
  if (options.warn) {
    auto last_said = std::make_shared<std::atomic<int64_t>>(0);
    const int64_t give_up_s = options.retry_for.count();
    retry.on_retry = [warn = options.warn, last_said, give_up_s](const Status& why,
                                                                std::chrono::microseconds wait) {
      if (wait < std::chrono::seconds(1)) return;
      const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::steady_clock::now().time_since_epoch())
                              .count();
      int64_t said = last_said->load();
      if (said != 0 && now - said < 30) return;
      if (!last_said->compare_exchange_strong(said, now)) return;
      warn(why.message() + ": retrying (for up to " + std::to_string(give_up_s) +
           " s per request, --retry-for)");
    };
  }
  return std::make_unique<storage::RetryingBackend>(
      std::shared_ptr<storage::Backend>(Throttled(std::move(vault), options)), std::move(retry));
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
