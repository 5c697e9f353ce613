#include "vault/store/held_store.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <optional>

namespace coffre::vault {

namespace {

using storage::ObjectKind;
using storage::ObjectName;

// The piece CopyObject moves at a time.
constexpr uint64_t kCopyPiece = 4 << 20;

constexpr int64_t kNsPerDay = 86'400'000'000'000;

// Days since 1970-01-01 of a "YYYYMMDD"; nullopt if malformed.
std::optional<int64_t> DayNumber(const std::string& day) {
  if (day.size() != 8 || !std::all_of(day.begin(), day.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  struct tm t = {};
  t.tm_year = std::stoi(day.substr(0, 4)) - 1900;
  t.tm_mon = std::stoi(day.substr(4, 2)) - 1;
  t.tm_mday = std::stoi(day.substr(6, 2));
  const time_t seconds = timegm(&t);
  // timegm normalizes 20261340; a day that does not come back the same is no day.
  if (UtcDay(static_cast<int64_t>(seconds) * 1'000'000'000) != day) return std::nullopt;
  return static_cast<int64_t>(seconds) / 86'400;
}

}  // namespace

std::string UtcDay(int64_t wall_ns) {
  const time_t seconds = static_cast<time_t>(wall_ns / 1'000'000'000);
  struct tm t = {};
  gmtime_r(&seconds, &t);
  char out[40];
  std::snprintf(out, sizeof out, "%04d%02d%02d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday);
  return out;
}

std::string PurgeDay(const std::string& day, int hold_days) {
  const std::optional<int64_t> number = DayNumber(day);
  if (!number) return "";
  return UtcDay((*number + hold_days + 1) * kNsPerDay);
}

Status CopyObject(storage::Backend& from, storage::Backend& to, const ObjectName& object,
                  uint64_t size) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::ObjectWriter> writer, to.NewWriter(object, size));
  for (uint64_t offset = 0; offset < size;) {
    const uint64_t length = std::min(kCopyPiece, size - offset);
    ASSIGN_OR_RETURN(Bytes piece, from.Load(object, offset, length));
    if (piece.size() != length)
      return CorruptionError(object.ToString() + ": read " + std::to_string(piece.size()) +
                             " bytes at " + std::to_string(offset) + ", expected " +
                             std::to_string(length));
    RETURN_IF_ERROR(writer->Write(piece));
    offset += length;
  }
  return writer->Commit();
}

Status HeldStore::Hide(const std::string& tenant, storage::Backend& repo_backend,
                       const std::string& repo, const ObjectName& object, uint64_t size,
                       int64_t wall_ns) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Backend> area,
                   store_->OpenHeld(tenant, repo, UtcDay(wall_ns)));
  Status copied = CopyObject(repo_backend, *area, object, size);
  // Held already today: names are the SHA-256 of the bytes, so it is this
  // very object, and the repository's copy is one too many.
  const bool held_before = copied.code() == ErrorCode::kAlreadyExists;
  if (!copied.ok() && !held_before) return copied;
  RETURN_IF_ERROR(repo_backend.Remove(object));
  if (held_before) Release(tenant, size);
  return Status::Ok();
}

Result<std::vector<HeldStore::Held>> HeldStore::ListObjects(storage::Backend& backend) {
  std::vector<Held> held;
  const ObjectName config{ObjectKind::kConfig, std::string(storage::kConfigName)};
  auto config_size = backend.Stat(config);
  if (config_size) {
    held.emplace_back(config, *config_size);
  } else if (config_size.error().code() != ErrorCode::kNotFound) {
    return Err(config_size.error());
  }
  for (ObjectKind kind : {ObjectKind::kKey, ObjectKind::kData, ObjectKind::kIndex,
                          ObjectKind::kSnapshot, ObjectKind::kLock}) {
    RETURN_IF_ERROR(backend.List(kind, [&](const storage::ObjectInfo& info) {
      held.emplace_back(ObjectName{kind, info.name}, info.size);
      return Status::Ok();
    }));
  }
  return held;
}

Result<std::vector<HeldArea>> HeldStore::List(const std::string& tenant) {
  ASSIGN_OR_RETURN(std::vector<HeldAreaName> names, store_->HeldAreas(tenant));
  std::vector<HeldArea> areas;
  for (const HeldAreaName& name : names) {
    ASSIGN_OR_RETURN(std::unique_ptr<storage::Backend> area,
                     store_->OpenHeld(tenant, name.repo, name.day));
    ASSIGN_OR_RETURN(std::vector<Held> held, ListObjects(*area));
    HeldArea listed{name.repo, name.day, held.size(), 0};
    for (const auto& [object, size] : held) listed.bytes += size;
    areas.push_back(listed);
  }
  return areas;
}

Result<HeldCounts> HeldStore::Restore(const std::string& tenant, const std::string& repo,
                                      const std::string& since_day) {
  ASSIGN_OR_RETURN(storage::Backend * target, store_->Find(tenant, repo));
  ASSIGN_OR_RETURN(std::vector<HeldAreaName> names, store_->HeldAreas(tenant));
  HeldCounts moved;
  for (const HeldAreaName& name : names) {
    if (name.repo != repo || name.day < since_day) continue;
    ASSIGN_OR_RETURN(std::unique_ptr<storage::Backend> area,
                     store_->OpenHeld(tenant, name.repo, name.day));
    // Listed first, moved after: a listing is not changed under its feet.
    ASSIGN_OR_RETURN(std::vector<Held> held, ListObjects(*area));
    for (const auto& [object, size] : held) {
      Status copied = CopyObject(*area, *target, object, size);
      const bool there_again = copied.code() == ErrorCode::kAlreadyExists;
      if (!copied.ok() && !there_again) return Err(copied);
      RETURN_IF_ERROR(area->Remove(object));
      if (there_again) {
        Release(tenant, size);
      } else {
        ++moved.objects;
        moved.bytes += size;
      }
    }
    RETURN_IF_ERROR(store_->RemoveHeld(tenant, name.repo, name.day));
  }
  return moved;
}

Result<HeldCounts> HeldStore::Drop(const std::string& tenant, const HeldAreaName& name) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Backend> area,
                   store_->OpenHeld(tenant, name.repo, name.day));
  ASSIGN_OR_RETURN(std::vector<Held> held, ListObjects(*area));
  HeldCounts dropped;
  for (const auto& [object, size] : held) {
    Status removed = area->Remove(object);
    if (removed.code() == ErrorCode::kNotFound) continue;  // another node's purge
    RETURN_IF_ERROR(removed);
    Release(tenant, size);
    ++dropped.objects;
    dropped.bytes += size;
  }
  RETURN_IF_ERROR(store_->RemoveHeld(tenant, name.repo, name.day));
  return dropped;
}

Result<HeldCounts> HeldStore::Purge(const std::string& tenant, int hold_days, int64_t wall_ns) {
  const std::string today = UtcDay(wall_ns);
  ASSIGN_OR_RETURN(std::vector<HeldAreaName> names, store_->HeldAreas(tenant));
  HeldCounts purged;
  for (const HeldAreaName& name : names) {
    if (PurgeDay(name.day, hold_days) > today) continue;
    ASSIGN_OR_RETURN(HeldCounts dropped, Drop(tenant, name));
    purged.objects += dropped.objects;
    purged.bytes += dropped.bytes;
  }
  return purged;
}

Result<HeldCounts> HeldStore::PurgeAll(const Registry& registry, int64_t wall_ns) {
  HeldCounts purged;
  Status first = Status::Ok();
  for (const Tenant& tenant : registry.Tenants()) {
    auto done = Purge(tenant.name, tenant.hold_days, wall_ns);
    if (done) {
      purged.objects += done->objects;
      purged.bytes += done->bytes;
    } else if (first.ok()) {
      first = Status(done.error().code(), "tenant " + tenant.name + ": " + done.error().message());
    }
  }
  if (!first.ok()) return Err(first);
  return purged;
}

void HeldStore::Release(const std::string& tenant, uint64_t bytes) {
  if (!usage_->Release(tenant, bytes).ok() && metrics_) metrics_->CountError("usage");
}

}  // namespace coffre::vault
