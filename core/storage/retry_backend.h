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
// many agents that lost the same vault from coming back in lockstep. A call
// gives up when its attempts run out or when the next wait would end more
// than `give_up_after` after its first attempt began: by default a vault
// that restarts, or a line that drops for a few minutes, costs a nightly
// backup time, not its run.
// Thread-safety: as the wrapped backend; the wrapper itself keeps no state
// besides its options. Calls block while sleeping.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "core/storage/backend_wrapper.h"

namespace coffre::storage {

struct RetryOptions {
  // Total tries of one call, the first included (1 = no retry; 0 = as many
  // as `give_up_after` allows).
  int max_attempts = 0;
  // How long one call may keep retrying (0 = no time limit; then
  // max_attempts must be set).
  std::chrono::microseconds give_up_after = std::chrono::minutes(5);
  std::chrono::microseconds base_delay = std::chrono::milliseconds(200);
  std::chrono::microseconds max_delay = std::chrono::seconds(30);
  // Told before each wait, with the error that caused it (to say on a
  // terminal that the vault is being waited for).
  std::function<void(const Status&, std::chrono::microseconds)> on_retry;
  // How to wait and what time it is; tests record the delays and move a
  // clock of their own instead. Default: sleep_for and steady_clock.
  std::function<void(std::chrono::microseconds)> sleep;
  std::function<std::chrono::steady_clock::time_point()> now;
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
  using TimePoint = std::chrono::steady_clock::time_point;
  // Runs `call` until it returns something other than kUnavailable or the
  // attempts or the time run out; sets *retried when a call was repeated.
  template <typename Call>
  auto Run(bool* retried, const Call& call) const -> decltype(call());
  // After failed attempt `attempt` (1-based) of a call begun at `start`:
  // false when its attempts or its time are spent; else waits and says true.
  bool WaitToRetry(int attempt, TimePoint start, const Status& why) const;
  // `status` with how long it was retried said in its message.
  Status GaveUp(const Status& status, int attempts, TimePoint start) const;
  TimePoint Now() const;

  const RetryOptions options_;
};

}  // namespace coffre::storage
