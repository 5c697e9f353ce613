#include "core/storage/throttled_backend.h"

#include <utility>

namespace coffre::storage {

namespace {

// Paces each piece; Commit sends nothing new (the pieces went out already,
// or, for a writer that gathers them, were paid for as they came).
class ThrottledWriter : public ObjectWriter {
 public:
  ThrottledWriter(std::unique_ptr<ObjectWriter> base, RateLimiter& limiter)
      : base_(std::move(base)), limiter_(limiter) {}

  Status Write(ByteView data) override {
    limiter_.Acquire(data.size());
    return base_->Write(data);
  }
  Status Commit() override { return base_->Commit(); }

 private:
  const std::unique_ptr<ObjectWriter> base_;
  RateLimiter& limiter_;
};

}  // namespace

ThrottledBackend::ThrottledBackend(std::shared_ptr<Backend> base,
                                   std::shared_ptr<RateLimiter> upload,
                                   std::shared_ptr<RateLimiter> download)
    : BackendWrapper(std::move(base)), upload_(std::move(upload)), download_(std::move(download)) {}

ThrottledBackend::ThrottledBackend(std::shared_ptr<Backend> base, uint64_t bytes_per_second)
    : ThrottledBackend(std::move(base), std::make_shared<RateLimiter>(bytes_per_second)) {}

Result<std::unique_ptr<ObjectWriter>> ThrottledBackend::NewWriter(const ObjectName& object, uint64_t size) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, base().NewWriter(object, size));
  if (!upload_) return writer;
  return std::unique_ptr<ObjectWriter>(
      std::make_unique<ThrottledWriter>(std::move(writer), *upload_));
}

Status ThrottledBackend::Save(const ObjectName& object, ByteView data) {
  if (upload_) upload_->Acquire(data.size());
  return base().Save(object, data);
}

Result<Bytes> ThrottledBackend::Load(const ObjectName& object, uint64_t offset, uint64_t length) {
  if (download_ && length) download_->Acquire(length);
  auto bytes = base().Load(object, offset, length);
  if (download_ && !length && bytes) download_->Acquire(bytes->size());
  return bytes;
}

Status ThrottledBackend::List(ObjectKind kind, const std::function<Status(const ObjectInfo&)>& fn) {
  uint64_t listed = 0;
  Status s = base().List(kind, [&](const ObjectInfo& info) {
    listed += info.name.size() + 32;  // about what one entry of a listing costs
    return fn(info);
  });
  if (download_) download_->Acquire(listed);
  return s;
}

}  // namespace coffre::storage
