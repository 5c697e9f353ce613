#include "core/storage/s3/s3_backend.h"

#include <utility>

namespace coffre::storage::s3 {

namespace {

std::string WithSlash(std::string prefix) {
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  return prefix;
}

}  // namespace

S3Backend::S3Backend(std::shared_ptr<S3Bucket> bucket, std::string prefix)
    : bucket_(std::move(bucket)), prefix_(WithSlash(std::move(prefix))) {}

Result<std::unique_ptr<S3Backend>> S3Backend::Open(const S3Options& options,
                                                   const std::string& prefix) {
  ASSIGN_OR_RETURN(std::shared_ptr<S3Bucket> bucket, S3Bucket::Open(options));
  return std::make_unique<S3Backend>(std::move(bucket), prefix);
}

std::string S3Backend::KeyOf(const ObjectName& object) const {
  if (object.kind == ObjectKind::kConfig) return prefix_ + "config";
  return prefix_ + ObjectKindName(object.kind) + "/" + object.name;
}

Result<std::unique_ptr<ObjectWriter>> S3Backend::NewWriter(const ObjectName& object,
                                                           uint64_t size) {
  RETURN_IF_ERROR(ValidateObject(object));
  return bucket_->StreamPut(KeyOf(object), size, object.ToString());
}

Status S3Backend::Save(const ObjectName& object, ByteView data) {
  RETURN_IF_ERROR(ValidateObject(object));
  return bucket_->PutIfAbsent(KeyOf(object), data, object.ToString());
}

Result<Bytes> S3Backend::Load(const ObjectName& object, uint64_t offset, uint64_t length) {
  RETURN_IF_ERROR(ValidateObject(object));
  return bucket_->Get(KeyOf(object), offset, length, object.ToString());
}

Result<uint64_t> S3Backend::Stat(const ObjectName& object) {
  RETURN_IF_ERROR(ValidateObject(object));
  return bucket_->Head(KeyOf(object), object.ToString());
}

Status S3Backend::Remove(const ObjectName& object) {
  // S3's DELETE answers 204 for a key that is not there.
  auto size = Stat(object);
  if (!size) return size.error();
  return bucket_->Delete(KeyOf(object), object.ToString());
}

Status S3Backend::List(ObjectKind kind, const std::function<Status(const ObjectInfo&)>& fn) {
  RETURN_IF_ERROR(ValidateObjectKind(kind));
  if (kind == ObjectKind::kConfig) {
    auto size = Stat({kind, std::string(kConfigName)});
    if (!size) return size.error().code() == ErrorCode::kNotFound ? Status::Ok() : size.error();
    return fn({std::string(kConfigName), *size});
  }
  const std::string prefix = prefix_ + ObjectKindName(kind) + "/";
  return bucket_->List(prefix, [&](const std::string& key, uint64_t size) {
    ObjectInfo info{key.substr(prefix.size()), size};
    // Keys this layout never writes (another tool's) are not objects.
    if (!ValidateObjectName(info.name).ok()) return Status::Ok();
    return fn(info);
  });
}

}  // namespace coffre::storage::s3
