// ThrottledBackend: wraps another Backend and paces what it uploads and what
// it downloads, each to a rate of its own (--limit-upload, the agent's
// limit_upload; --limit-download), so a backup or a restore does not fill an
// SME's line. Save and ObjectWriter::Write take their bytes from the upload
// limiter before forwarding; Load takes them from the download limiter,
// before the call when the length asked for is known, after it otherwise
// (the next call then waits for the debt); List pays for its listing after.
// Stat and Remove pass at once. Everything else forwards to the wrapped
// backend, whose contract is kept unchanged.
// Pacing happens before each call: a Save of a 64 MiB pack at 10 MiB/s waits
// about 6.4 s, then sends at full speed (see core/base/rate_limiter.h).
// Thread-safety: as the wrapped backend; the limiter may be shared by several
// backends so one rate holds for all of them.
#pragma once

#include <memory>

#include "core/base/rate_limiter.h"
#include "core/storage/backend_wrapper.h"

namespace coffre::storage {

class ThrottledBackend : public BackendWrapper {
 public:
  // Shares the limiters with whoever else holds them; a null one does not
  // limit that direction.
  ThrottledBackend(std::shared_ptr<Backend> base, std::shared_ptr<RateLimiter> upload,
                   std::shared_ptr<RateLimiter> download = nullptr);
  // An upload limiter of its own at `bytes_per_second` (0: no limit).
  ThrottledBackend(std::shared_ptr<Backend> base, uint64_t bytes_per_second);

  Result<std::unique_ptr<ObjectWriter>> NewWriter(const ObjectName& object, uint64_t size) override;
  Status Save(const ObjectName& object, ByteView data) override;
  Result<Bytes> Load(const ObjectName& object, uint64_t offset = 0, uint64_t length = 0) override;
  Status List(ObjectKind kind, const std::function<Status(const ObjectInfo&)>& fn) override;

  const std::shared_ptr<RateLimiter>& limiter() const { return upload_; }
  const std::shared_ptr<RateLimiter>& download_limiter() const { return download_; }

 private:
  const std::shared_ptr<RateLimiter> upload_;
  const std::shared_ptr<RateLimiter> download_;
};

}  // namespace coffre::storage
