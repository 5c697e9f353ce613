// RetryingBackend: wraps another Backend and retries the calls that failed
// with kUnavailable (a vault restarting, a network blip), with exponential
// backoff. Every other error passes through at once: kNotFound is an answer,
// kCorruption and kAuthFailed must never be retried (DESIGN.md, Errors), and
// a full disk does not empty itself in a second.
//
// What a retry must not get wrong:
// - Save: an attempt that failed with kUnavailable may still have landed (the
//   answer was lost). A retry that then finds kAlreadyExists reports success:
//   names are content addresses, so the object there holds the same bytes.
// - Remove: likewise, kNotFound on a retry means the first attempt removed it.
// - List: retried only while `fn` has not been called yet, so `fn` still sees
//   each object once; an error returned by `fn` itself is never retried.
// Backoff: before retry k (1-based) it sleeps a random time in
// [d/2, d] with d = min(base_delay * 2^(k-1), max_delay); the jitter keeps
// many agents that lost the same vault from coming back in lockstep.
// Thread-safety: as the wrapped backend; the wrapper itself keeps no state
// besides its options. Calls block while sleeping.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "core/storage/backend_wrapper.h"

namespace coffre::storage {

struct RetryOptions {
  // Total tries of one call, the first included (1 = no retry).
  int max_attempts = 6;
  std::chrono::microseconds base_delay = std::chrono::milliseconds(200);
  std::chrono::microseconds max_delay = std::chrono::seconds(15);
  // How to wait; tests record the delays instead. Default: sleep_for.
  std::function<void(std::chrono::microseconds)> sleep;
};

class RetryingBackend : public BackendWrapper {
 public:
  RetryingBackend(std::shared_ptr<Backend> base, RetryOptions options = {});

  // Opening a stream is retried; its pieces are not (they cannot be sent
  // again from here): a streamed save that breaks fails as it broke.
  Result<std::unique_ptr<ObjectWriter>> NewWriter(const ObjectName& object, uint64_t size) override;
  Status Save(const ObjectName& object, ByteView data) override;
  Result<Bytes> Load(const ObjectName& object, uint64_t offset = 0,
                     uint64_t length = 0) override;
  Result<uint64_t> Stat(const ObjectName& object) override;
  Status Remove(const ObjectName& object) override;
  Status List(ObjectKind kind,
              const std::function<Status(const ObjectInfo&)>& fn) override;

 private:
  // Sleeps before retry number `retry` (1 = the first retry).
  void Backoff(int retry) const;

  const RetryOptions options_;
};

}  // namespace coffre::storage
