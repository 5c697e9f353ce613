#include "core/storage/retry_backend.h"

#include <algorithm>
#include <random>
#include <thread>
#include <utility>

namespace coffre::storage {

namespace {

bool IsTransient(const Status& status) {
  return status.code() == ErrorCode::kUnavailable;
}

// Says in the message that this was not a first failure; the code is kept.
Status GaveUp(const Status& status, int attempts) {
  return Status(status.code(), status.message() + " (gave up after " +
                                   std::to_string(attempts) + " attempts)");
}

}  // namespace

RetryingBackend::RetryingBackend(std::shared_ptr<Backend> base,
                                 RetryOptions options)
    : BackendWrapper(std::move(base)), options_(std::move(options)) {}

void RetryingBackend::Backoff(int retry) const {
  std::chrono::microseconds delay = options_.base_delay;
  for (int i = 1; i < retry && delay < options_.max_delay; ++i) delay *= 2;
  delay = std::min(delay, options_.max_delay);
  thread_local std::minstd_rand rng(std::random_device{}());
  const auto count = static_cast<uint64_t>(std::max<int64_t>(delay.count(), 0));
  std::uniform_int_distribution<uint64_t> jitter(count / 2, count);
  const std::chrono::microseconds wait(static_cast<int64_t>(jitter(rng)));
  if (options_.sleep) {
    options_.sleep(wait);
  } else {
    std::this_thread::sleep_for(wait);
  }
}

namespace {

// Runs `call` until it returns something other than kUnavailable or the
// attempts run out; sets *retried when a call was repeated.
template <typename Call>
auto RunWithRetries(int max_attempts, const std::function<void(int)>& backoff,
                    bool* retried, const Call& call) -> decltype(call()) {
  for (int attempt = 1;; ++attempt) {
    auto result = call();
    if (!IsTransient(StatusOf(result))) return result;
    if (attempt >= max_attempts) {
      if (attempt == 1) return result;
      return Err(GaveUp(StatusOf(result), attempt));
    }
    backoff(attempt);
    *retried = true;
  }
}

}  // namespace

Result<std::unique_ptr<ObjectWriter>> RetryingBackend::NewWriter(const ObjectName& object, uint64_t size) {
  bool retried = false;
  return RunWithRetries(
      options_.max_attempts, [this](int retry) { Backoff(retry); }, &retried,
      [&] { return base().NewWriter(object, size); });
}

Status RetryingBackend::Save(const ObjectName& object, ByteView data) {
  bool retried = false;
  Status status = RunWithRetries(
      options_.max_attempts, [this](int retry) { Backoff(retry); }, &retried,
      [&] { return base().Save(object, data); });
  // The attempt that timed out stored the object after all.
  if (retried && status.code() == ErrorCode::kAlreadyExists) return Status::Ok();
  return status;
}

Result<Bytes> RetryingBackend::Load(const ObjectName& object, uint64_t offset,
                                    uint64_t length) {
  bool retried = false;
  return RunWithRetries(
      options_.max_attempts, [this](int retry) { Backoff(retry); }, &retried,
      [&] { return base().Load(object, offset, length); });
}

Result<uint64_t> RetryingBackend::Stat(const ObjectName& object) {
  bool retried = false;
  return RunWithRetries(
      options_.max_attempts, [this](int retry) { Backoff(retry); }, &retried,
      [&] { return base().Stat(object); });
}

Status RetryingBackend::Remove(const ObjectName& object) {
  bool retried = false;
  Status status = RunWithRetries(
      options_.max_attempts, [this](int retry) { Backoff(retry); }, &retried,
      [&] { return base().Remove(object); });
  // The attempt that timed out removed the object after all.
  if (retried && status.code() == ErrorCode::kNotFound) return Status::Ok();
  return status;
}

Status RetryingBackend::List(
    ObjectKind kind, const std::function<Status(const ObjectInfo&)>& fn) {
  for (int attempt = 1;; ++attempt) {
    bool delivered = false;
    bool fn_failed = false;
    Status status = base().List(kind, [&](const ObjectInfo& info) {
      delivered = true;
      Status s = fn(info);
      fn_failed = !s.ok();
      return s;
    });
    if (!IsTransient(status) || fn_failed || delivered) return status;
    if (attempt >= options_.max_attempts) {
      return attempt > 1 ? GaveUp(status, attempt) : status;
    }
    Backoff(attempt);
  }
}

}  // namespace coffre::storage
