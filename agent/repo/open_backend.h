// Opening the storage a --repo value names: a local folder, or a repository
// on a vault (https://HOST:PORT/TENANT/REPO), wrapped so transient network
// errors are retried with exponential backoff, uploads and downloads paced
// when a limit is set (--limit-upload, --limit-download), and, for a vault, metadata kept in a local cache
// (CachedBackend; --cache-dir, --no-cache). Callers never see which.
// The stack, outermost first: cache, retries, pacing, the vault.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/base/rate_limiter.h"
#include "core/storage/backend.h"
#include "core/storage/transfer_counter.h"

namespace coffre::repo {

// What a vault needs beyond the URL; unused for a local folder.
struct BackendOptions {
  std::string token;    // --token-file / COFFRE_TOKEN
  std::string ca_file;  // --cacert: the vault's certificate, if self-signed
  uint64_t limit_upload = 0;  // bytes/s for all uploads, 0 = none
  // When set, uploads take their bytes from this limiter instead, and
  // limit_upload is ignored: backends opened with the same limiter (the
  // agent's jobs running in parallel) share one rate.
  std::shared_ptr<RateLimiter> upload_limiter;
  uint64_t limit_download = 0;  // bytes/s for all downloads, 0 = none
  // The metadata cache of a vault repository (a local folder needs none):
  // below cache_dir, unless no_cache. Empty cache_dir: DefaultCacheDir().
  std::string cache_dir;
  bool no_cache = false;
  uint64_t cache_max_bytes = uint64_t{4} << 30;
  std::function<void(const std::string&)> warn;  // problems with the cache, a vault not answering
  // How long one request to a vault keeps being retried while the vault
  // does not answer (a restart, a line down) before the run fails.
  std::chrono::seconds retry_for{300};
  // Counts what crosses the network to a vault, if set (nothing for a
  // local folder).
  std::shared_ptr<storage::TransferCounter> transfer;
};

// For `init`: creates the layout or asks the vault to create the repository
// (kAlreadyExists if there is one).
Result<std::unique_ptr<storage::Backend>> CreateBackend(const std::string& location,
                                                        const BackendOptions& options = {});
// For every other command: kNotFound "… is not a coffre repository".
Result<std::unique_ptr<storage::Backend>> OpenBackend(const std::string& location,
                                                      const BackendOptions& options = {});

}  // namespace coffre::repo
