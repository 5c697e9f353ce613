#include "core/storage/memory_backend.h"

#include <vector>

namespace coffre::storage {

namespace {

Status Missing(const ObjectName& object) {
  return NotFoundError(object.ToString() + " does not exist");
}

}  // namespace

std::shared_ptr<const Bytes> MemoryBackend::Find(const ObjectName& object) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(Key(object.kind, object.name));
  return it == objects_.end() ? nullptr : it->second;
}

Status MemoryBackend::Save(const ObjectName& object, ByteView data) {
  RETURN_IF_ERROR(ValidateObject(object));
  // Copy outside the lock: packs are tens of MiB.
  auto value = std::make_shared<const Bytes>(data.begin(), data.end());
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = objects_.emplace(Key(object.kind, object.name), value);
  if (!inserted) {
    return AlreadyExistsError(object.ToString() + " already exists")
        .WithContext("save " + object.ToString());
  }
  return Status::Ok();
}

Result<Bytes> MemoryBackend::Load(const ObjectName& object, uint64_t offset,
                                  uint64_t length) {
  RETURN_IF_ERROR(ValidateObject(object));
  std::shared_ptr<const Bytes> value = Find(object);
  if (!value) return Err(Missing(object));
  const uint64_t size = value->size();
  if (offset > size || length > size - offset) {
    return Err(CorruptionError("object " + object.ToString() + " is " +
                               std::to_string(size) + " bytes, range " +
                               std::to_string(offset) + "+" +
                               std::to_string(length) + " runs past its end"));
  }
  const uint64_t end = length == 0 ? size : offset + length;
  return Bytes(value->begin() + static_cast<ptrdiff_t>(offset),
               value->begin() + static_cast<ptrdiff_t>(end));
}

Result<uint64_t> MemoryBackend::Stat(const ObjectName& object) {
  RETURN_IF_ERROR(ValidateObject(object));
  std::shared_ptr<const Bytes> value = Find(object);
  if (!value) return Err(Missing(object));
  return value->size();
}

Status MemoryBackend::Remove(const ObjectName& object) {
  RETURN_IF_ERROR(ValidateObject(object));
  std::lock_guard<std::mutex> lock(mu_);
  if (objects_.erase(Key(object.kind, object.name)) == 0) return Missing(object);
  return Status::Ok();
}

Status MemoryBackend::List(ObjectKind kind,
                           const std::function<Status(const ObjectInfo&)>& fn) {
  RETURN_IF_ERROR(ValidateObjectKind(kind));
  // Snapshot under the lock, call back without it: `fn` may Save or Remove.
  std::vector<ObjectInfo> infos;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = objects_.lower_bound(Key(kind, ""));
         it != objects_.end() && it->first.first == kind; ++it) {
      infos.push_back(ObjectInfo{it->first.second, it->second->size()});
    }
  }
  for (const ObjectInfo& info : infos) RETURN_IF_ERROR(fn(info));
  return Status::Ok();
}

Status MemoryBackend::Overwrite(const ObjectName& object, ByteView data) {
  RETURN_IF_ERROR(ValidateObject(object));
  auto value = std::make_shared<const Bytes>(data.begin(), data.end());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(Key(object.kind, object.name));
  if (it == objects_.end()) return Missing(object);
  it->second = std::move(value);
  return Status::Ok();
}

}  // namespace coffre::storage
