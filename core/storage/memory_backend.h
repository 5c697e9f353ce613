// MemoryBackend: a Backend that keeps its objects in RAM, for unit tests of
// the layers above storage (repository, backup, prune) and for dry runs. It
// honours the whole Backend contract (the conformance suite runs it), except
// durability: everything is gone when the object dies.
// Thread-safety: all methods may be called concurrently; one mutex guards the
// map, and List calls `fn` without holding it, so `fn` may use the backend.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "core/storage/backend.h"

namespace coffre::storage {

class MemoryBackend : public Backend {
 public:
  MemoryBackend() = default;
  MemoryBackend(const MemoryBackend&) = delete;
  MemoryBackend& operator=(const MemoryBackend&) = delete;

  Status Save(const ObjectName& object, ByteView data) override;
  Result<Bytes> Load(const ObjectName& object, uint64_t offset = 0,
                     uint64_t length = 0) override;
  Result<uint64_t> Stat(const ObjectName& object) override;
  Status Remove(const ObjectName& object) override;
  Status List(ObjectKind kind,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  std::string Location() const override { return "memory"; }

  // Test hook: replaces the bytes of an existing object, as a disk fault or
  // an attacker on the vault would; kNotFound if it does not exist. Objects
  // saved through the contract are never changed otherwise.
  Status Overwrite(const ObjectName& object, ByteView data);

 private:
  using Key = std::pair<ObjectKind, std::string>;
  // Shared so Load can copy the bytes after releasing the lock.
  using Value = std::shared_ptr<const Bytes>;

  std::shared_ptr<const Bytes> Find(const ObjectName& object);

  std::mutex mu_;
  std::map<Key, Value> objects_;
};

}  // namespace coffre::storage
