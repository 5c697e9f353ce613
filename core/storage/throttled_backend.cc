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
                                   std::shared_ptr<RateLimiter> limiter)
    : base_(std::move(base)), limiter_(std::move(limiter)) {}

ThrottledBackend::ThrottledBackend(std::shared_ptr<Backend> base, uint64_t bytes_per_second)
    : ThrottledBackend(std::move(base), std::make_shared<RateLimiter>(bytes_per_second)) {}

Result<std::unique_ptr<ObjectWriter>> ThrottledBackend::NewWriter(const ObjectName& object) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, base_->NewWriter(object));
  return std::unique_ptr<ObjectWriter>(
      std::make_unique<ThrottledWriter>(std::move(writer), *limiter_));
}

Status ThrottledBackend::Save(const ObjectName& object, ByteView data) {
  limiter_->Acquire(data.size());
  return base_->Save(object, data);
}

}  // namespace coffre::storage
