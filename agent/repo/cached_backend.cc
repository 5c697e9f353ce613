#include "agent/repo/cached_backend.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/crypto/hash.h"
#include "core/format/config.h"
#include "core/id/id.h"

namespace coffre::repo {

using storage::ObjectInfo;
using storage::ObjectKind;
using storage::ObjectName;

namespace {

constexpr ObjectKind kCachedKinds[] = {ObjectKind::kData, ObjectKind::kSnapshot, ObjectKind::kIndex,
                                       ObjectKind::kKey};

bool MatchesName(const ObjectName& object, ByteView bytes) {
  return ObjectId(crypto::Sha256(bytes)).Hex() == object.name;
}

// The `length` bytes at `offset` of a whole object (length 0: to its end),
// with Backend::Load's contract for a range past the end.
Result<Bytes> Slice(Bytes whole, uint64_t offset, uint64_t length, const ObjectName& object) {
  if (offset == 0 && length == 0) return whole;
  if (offset > whole.size() || (length && length > whole.size() - offset))
    return Err(CorruptionError(object.ToString() + ": range past the end of the object"));
  const uint64_t end = length ? offset + length : whole.size();
  return Bytes(whole.begin() + static_cast<ptrdiff_t>(offset),
               whole.begin() + static_cast<ptrdiff_t>(end));
}

// Marks the cache root for backup tools (coffre's --exclude-caches too).
void TagCacheRoot(const std::string& dir) {
  const std::string tag = dir + "/CACHEDIR.TAG";
  if (::access(tag.c_str(), F_OK) == 0) return;
  std::ofstream out(tag);
  out << "Signature: 8a477f597d28d172789f06886806bc55\n"
         "# This folder is coffre's cache of repository metadata; it can be deleted.\n";
}

}  // namespace

std::string DefaultCacheDir() {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value && *value ? value : "";
  };
  if (std::string dir = env("COFFRE_CACHE_DIR"); !dir.empty()) return dir;
  // systemd's CacheDirectory= may list several folders, separated by ':'.
  if (std::string dir = env("CACHE_DIRECTORY"); !dir.empty()) return dir.substr(0, dir.find(':'));
  if (::geteuid() == 0) return "/var/cache/coffre";
  if (std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/coffre";
  if (std::string home = env("HOME"); !home.empty()) return home + "/.cache/coffre";
  return "";
}

Result<std::unique_ptr<storage::Backend>> CachedBackend::Wrap(
    std::shared_ptr<storage::Backend> base, const CacheOptions& options) {
  auto unwrapped = [&](const std::string& why) -> Result<std::unique_ptr<storage::Backend>> {
    if (!why.empty() && options.warn) options.warn("cache not used: " + why);
    return std::unique_ptr<storage::Backend>(
        std::make_unique<storage::BackendWrapper>(std::move(base)));
  };
  if (options.dir.empty()) return unwrapped("no cache folder (set --cache-dir)");
  auto config = base->Load({ObjectKind::kConfig, std::string(storage::kConfigName)});
  // No repository there, or one this coffre cannot read: the repository's
  // own open says so, with the right error.
  if (!config && config.error().code() != ErrorCode::kNotFound) return Err(config.error());
  if (!config) return unwrapped("");
  auto decoded = format::DecodeConfig(*config);
  if (!decoded) return unwrapped("");

  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return unwrapped("cannot create " + options.dir + ": " + ec.message());
  TagCacheRoot(options.dir);
  const std::string folder =
      options.dir + "/" + HexEncode(ByteView(decoded->repo_id.data(), decoded->repo_id.size()));
  auto open = [&]() -> Result<std::unique_ptr<storage::LocalBackend>> {
    auto cache = storage::LocalBackend::Open(folder);
    if (!cache && cache.error().code() == ErrorCode::kNotFound) {
      std::filesystem::remove_all(folder, ec);  // a half-made folder
      return storage::LocalBackend::Create(folder);
    }
    return cache;
  };
  auto cache = open();
  if (!cache) return unwrapped(cache.error().message());
  const ObjectName config_name{ObjectKind::kConfig, std::string(storage::kConfigName)};
  auto copy = (*cache)->Load(config_name, 0, 0);
  if (copy && *copy != *config) {
    // Another repository's cache under this id: never used, emptied.
    cache->reset();
    std::filesystem::remove_all(folder, ec);
    cache = open();
    if (!cache) return unwrapped(cache.error().message());
    copy = Err(NotFoundError("config"));
  }
  if (!copy) {
    Status saved = (*cache)->Save(config_name, *config);
    if (!saved.ok() && saved.code() != ErrorCode::kAlreadyExists)
      return unwrapped(saved.message());
  }
  return std::unique_ptr<storage::Backend>(
      new CachedBackend(std::move(base), std::move(*cache), folder, std::move(*config), options));
}

CachedBackend::CachedBackend(std::shared_ptr<storage::Backend> base,
                             std::unique_ptr<storage::LocalBackend> cache, std::string folder,
                             Bytes config, const CacheOptions& options)
    : BackendWrapper(std::move(base)),
      cache_(std::move(cache)),
      folder_(std::move(folder)),
      config_(std::move(config)),
      options_(options) {
  for (ObjectKind kind : kCachedKinds) {
    (void)cache_->List(kind, [&](const ObjectInfo& info) {
      bytes_ += info.size;
      return Status::Ok();
    });
  }
}

bool CachedBackend::Cacheable(const ObjectName& object) {
  switch (object.kind) {
    case ObjectKind::kKey:
    case ObjectKind::kIndex:
    case ObjectKind::kSnapshot:
      return true;
    case ObjectKind::kData:
      return object.metadata;
    default:
      return false;
  }
}

CacheStats CachedBackend::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void CachedBackend::Warn(const std::string& line) {
  {
    std::lock_guard lock(mu_);
    if (warned_) return;  // once per run: the cache is an optimisation
    warned_ = true;
  }
  if (options_.warn) options_.warn("cache " + folder_ + ": " + line);
}

std::shared_ptr<std::mutex> CachedBackend::FetchLock(const std::string& key) {
  std::lock_guard lock(mu_);
  auto& m = fetching_[key];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

std::optional<Bytes> CachedBackend::FromCache(const ObjectName& object) {
  auto bytes = cache_->Load(object, 0, 0);
  if (!bytes) return std::nullopt;
  const std::string key = object.ToString();
  if (!MatchesName(object, *bytes)) {
    (void)cache_->Remove(object);
    std::lock_guard lock(mu_);
    ++stats_.dropped;
    verified_.erase(key);
    return std::nullopt;
  }
  std::lock_guard lock(mu_);
  verified_.insert(key);
  ++stats_.hits;
  return std::move(*bytes);
}

void CachedBackend::Keep(const ObjectName& object, ByteView bytes) {
  Status s = cache_->Save(object, bytes);
  if (!s.ok() && s.code() != ErrorCode::kAlreadyExists) {
    Warn(s.message());
    return;
  }
  std::lock_guard lock(mu_);
  verified_.insert(object.ToString());
  if (s.ok()) bytes_ += bytes.size();
  if (bytes_ > options_.max_bytes) TrimLocked();
}

void CachedBackend::TrimLocked() {
  // Tree packs first, the bulk of a cache; what this run used stays.
  uint64_t total = 0;
  std::vector<std::pair<ObjectName, uint64_t>> unused;
  for (ObjectKind kind : kCachedKinds) {
    (void)cache_->List(kind, [&](const ObjectInfo& info) {
      total += info.size;
      ObjectName name{kind, info.name};
      if (!verified_.count(name.ToString())) unused.emplace_back(std::move(name), info.size);
      return Status::Ok();
    });
  }
  const uint64_t goal = options_.max_bytes / 10 * 9;
  for (const auto& [name, size] : unused) {
    if (total <= goal) break;
    if (cache_->Remove(name).ok()) total -= size;
  }
  bytes_ = total;
}

Result<Bytes> CachedBackend::Load(const ObjectName& object, uint64_t offset, uint64_t length) {
  if (object.kind == ObjectKind::kConfig) return Slice(config_, offset, length, object);
  if (!Cacheable(object)) return base().Load(object, offset, length);
  const std::string key = object.ToString();
  bool verified;
  {
    std::lock_guard lock(mu_);
    verified = verified_.count(key) > 0;
  }
  if (verified) {
    // Checked once in this process: ranges come straight from the file.
    auto part = cache_->Load(object, offset, length);
    if (part) {
      std::lock_guard lock(mu_);
      ++stats_.hits;
      return part;
    }
    std::lock_guard lock(mu_);
    verified_.erase(key);  // removed meanwhile (another process trimmed it)
  }
  // One fetch per object, however many threads want it at once.
  auto fetch_lock = FetchLock(key);
  std::lock_guard fetching(*fetch_lock);
  if (auto cached = FromCache(object)) return Slice(std::move(*cached), offset, length, object);
  ASSIGN_OR_RETURN(Bytes whole, base().Load(object));
  {
    std::lock_guard lock(mu_);
    ++stats_.misses;
  }
  // Damaged in the repository: given as it is (the reader reports it), and
  // never kept.
  if (MatchesName(object, whole)) Keep(object, whole);
  return Slice(std::move(whole), offset, length, object);
}

Status CachedBackend::Save(const ObjectName& object, ByteView data) {
  Status s = base().Save(object, data);
  if ((s.ok() || s.code() == ErrorCode::kAlreadyExists) && Cacheable(object) &&
      MatchesName(object, data))
    Keep(object, data);
  return s;
}

Status CachedBackend::Remove(const ObjectName& object) {
  Status s = base().Remove(object);
  // A pack removed by prune may be a tree pack, hint or not.
  if (object.kind == ObjectKind::kData || Cacheable(object)) {
    (void)cache_->Remove(object);
    std::lock_guard lock(mu_);
    verified_.erase(object.ToString());
  }
  return s;
}

Status CachedBackend::List(ObjectKind kind, const std::function<Status(const ObjectInfo&)>& fn) {
  const bool cached_kind = std::find(std::begin(kCachedKinds), std::end(kCachedKinds), kind) !=
                           std::end(kCachedKinds);
  if (!cached_kind) return base().List(kind, fn);
  std::set<std::string> listed;
  RETURN_IF_ERROR(base().List(kind, [&](const ObjectInfo& info) {
    listed.insert(info.name);
    return fn(info);
  }));
  // Whatever the repository no longer has (pruned, forgotten) leaves the
  // cache too. Only after a complete listing.
  std::vector<std::string> gone;
  (void)cache_->List(kind, [&](const ObjectInfo& info) {
    if (!listed.count(info.name)) gone.push_back(info.name);
    return Status::Ok();
  });
  for (const std::string& name : gone) {
    ObjectName object{kind, name};
    (void)cache_->Remove(object);
    std::lock_guard lock(mu_);
    verified_.erase(object.ToString());
  }
  return Status::Ok();
}

}  // namespace coffre::repo
