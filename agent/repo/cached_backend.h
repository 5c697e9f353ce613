// CachedBackend: the agent's local cache of a remote repository's metadata,
// a layer of the storage stack (open_backend.cc puts it outermost, over the
// retries), as restic's cache wraps its backend. The engine above does not
// know whether an object came from the cache.
//
// What it keeps, in a LocalBackend folder CACHE_DIR/<repository id>/:
// key slots, index objects, snapshots, and tree packs (Loads and Saves of
// data/ objects marked ObjectName::metadata), each whole and under its own
// name. Every name is the SHA-256 of the object's bytes, so the cache is
// never trusted blindly: a cached object is hashed before its first use in
// this process, and one that does not match is dropped and fetched again.
// A tree pack fetched for one tree is fetched whole (one request) and its
// hash checked before it is kept; file data is never cached.
//
// Kept in step with the repository: every List of a cached kind also drops
// the cached objects of that kind that the repository no longer lists (a
// prune or forget elsewhere), so the cache never grows with dead objects.
// Saves are written through, so a backup's own trees and index are cached
// for the next one. The folder holds a copy of the repository's config: a
// folder whose copy differs (another repository with a colliding id, a
// re-created repository) is emptied, not used.
//
// Bounded: when it grows past `max_bytes`, objects this process has not
// used are removed until it is under 90% of the bound.
// Failures of the cache itself (full disk, permissions) never fail a call:
// the call goes to the repository, so a missing cache only costs time.
// Two processes may share one cache folder: writes are atomic and
// create-only (LocalBackend), and an object removed under a reader is
// simply fetched again.
// Thread-safety: every method may be called from many threads.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "core/storage/backend_wrapper.h"
#include "core/storage/local_backend.h"

namespace coffre::repo {

struct CacheOptions {
  std::string dir;  // the cache root; the repository's folder goes below it
  uint64_t max_bytes = uint64_t{4} << 30;
  // One line per problem with the cache (it is then bypassed, not fatal).
  std::function<void(const std::string&)> warn;
};

struct CacheStats {
  uint64_t hits = 0;    // objects served from the cache
  uint64_t misses = 0;  // fetched from the repository (and kept)
  uint64_t dropped = 0;  // cached objects that did not match their name
};

class CachedBackend : public storage::BackendWrapper {
 public:
  // Reads the repository's config through `base` to find its id, and opens
  // (or creates) the cache folder. Returns `base` itself, unwrapped, when
  // the cache cannot be used (no config yet, an unreadable folder: said
  // through options.warn); errors of `base` are returned.
  static Result<std::unique_ptr<storage::Backend>> Wrap(std::shared_ptr<storage::Backend> base,
                                                        const CacheOptions& options);

  Status Save(const storage::ObjectName& object, ByteView data) override;
  Result<Bytes> Load(const storage::ObjectName& object, uint64_t offset = 0,
                     uint64_t length = 0) override;
  Status Remove(const storage::ObjectName& object) override;
  Status List(storage::ObjectKind kind,
              const std::function<Status(const storage::ObjectInfo&)>& fn) override;

  CacheStats stats() const;
  const std::string& folder() const { return folder_; }

 private:
  CachedBackend(std::shared_ptr<storage::Backend> base, std::unique_ptr<storage::LocalBackend> cache,
                std::string folder, Bytes config, const CacheOptions& options);

  static bool Cacheable(const storage::ObjectName& object);
  // The whole object from the cache if it is there and matches its name.
  std::optional<Bytes> FromCache(const storage::ObjectName& object);
  // Keeps `bytes` (already checked against the name), then trims the cache.
  void Keep(const storage::ObjectName& object, ByteView bytes);
  void TrimLocked();
  std::shared_ptr<std::mutex> FetchLock(const std::string& key);
  void Warn(const std::string& line);

  std::unique_ptr<storage::LocalBackend> cache_;
  const std::string folder_;
  const Bytes config_;  // as fetched at Wrap: served to Load(config)
  const CacheOptions options_;

  mutable std::mutex mu_;
  std::set<std::string> verified_;  // "kind/name" checked in this process
  std::unordered_map<std::string, std::shared_ptr<std::mutex>> fetching_;
  uint64_t bytes_ = 0;  // cached bytes, as far as this process knows
  CacheStats stats_;
  bool warned_ = false;
};

// Where the cache lives when --cache-dir is not given: COFFRE_CACHE_DIR,
// then CACHE_DIRECTORY (systemd's CacheDirectory=), then /var/cache/coffre
// for root, then $XDG_CACHE_HOME/coffre or ~/.cache/coffre.
std::string DefaultCacheDir();

}  // namespace coffre::repo
