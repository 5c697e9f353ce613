// BackendWrapper: a Backend that forwards every call, NewWriter included, to
// the backend it wraps, as LevelDB's EnvWrapper does. A storage layer (a
// cache, a counter) derives from it and overrides only what it changes, so
// a method added to Backend later, or a streaming write, is never silently
// handled by Backend's defaults instead of the wrapped backend.
// Thread-safety: as the wrapped backend.
#pragma once

#include <memory>
#include <utility>

#include "core/storage/backend.h"

namespace coffre::storage {

class BackendWrapper : public Backend {
 public:
  explicit BackendWrapper(std::shared_ptr<Backend> base) : base_(std::move(base)) {}

  Result<std::unique_ptr<ObjectWriter>> NewWriter(const ObjectName& object, uint64_t size) override {
    return base_->NewWriter(object, size);
  }
  Status Save(const ObjectName& object, ByteView data) override {
    return base_->Save(object, data);
  }
  Result<Bytes> Load(const ObjectName& object, uint64_t offset = 0, uint64_t length = 0) override {
    return base_->Load(object, offset, length);
  }
  Result<uint64_t> Stat(const ObjectName& object) override { return base_->Stat(object); }
  Status Remove(const ObjectName& object) override { return base_->Remove(object); }
  Status List(ObjectKind kind, const std::function<Status(const ObjectInfo&)>& fn) override {
    return base_->List(kind, fn);
  }
  size_t ParallelWrites() const override { return base_->ParallelWrites(); }
  size_t ParallelReads() const override { return base_->ParallelReads(); }
  uint64_t ReadAheadBytes() const override { return base_->ReadAheadBytes(); }
  std::string Location() const override { return base_->Location(); }

 protected:
  Backend& base() const { return *base_; }

 private:
  const std::shared_ptr<Backend> base_;
};

}  // namespace coffre::storage
