#include "core/storage/retry_backend.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <thread>
#include <utility>

namespace coffre::storage {

namespace {

bool IsTransient(const Status& status) {
  return status.code() == ErrorCode::kUnavailable;
}

}  // namespace

RetryingBackend::RetryingBackend(std::shared_ptr<Backend> base,
                                 RetryOptions options)
    : BackendWrapper(std::move(base)), options_(std::move(options)) {}

RetryingBackend::TimePoint RetryingBackend::Now() const {
  return options_.now ? options_.now() : std::chrono::steady_clock::now();
}

Status RetryingBackend::GaveUp(const Status& status, int attempts, TimePoint start) const {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Now() - start).count();
  char over[32];
  std::snprintf(over, sizeof over, "%.1f s", static_cast<double>(ms) / 1000.0);
  return Status(status.code(), status.message() + " (gave up after " + std::to_string(attempts) +
                                   " attempts over " + over + ")");
}

bool RetryingBackend::WaitToRetry(int attempt, TimePoint start, const Status& why) const {
  if (options_.max_attempts > 0 && attempt >= options_.max_attempts) return false;
  std::chrono::microseconds delay = options_.base_delay;
  for (int i = 1; i < attempt && delay < options_.max_delay; ++i) delay *= 2;
  delay = std::min(delay, options_.max_delay);
  thread_local std::minstd_rand rng(std::random_device{}());
  const auto count = static_cast<uint64_t>(std::max<int64_t>(delay.count(), 0));
  std::uniform_int_distribution<uint64_t> jitter(count / 2, count);
  const std::chrono::microseconds wait(static_cast<int64_t>(jitter(rng)));
  if (options_.give_up_after.count() > 0 && Now() + wait - start > options_.give_up_after)
    return false;
  if (options_.on_retry) options_.on_retry(why, wait);
  if (options_.sleep) {
    options_.sleep(wait);
  } else {
    std::this_thread::sleep_for(wait);
  }
  return true;
}

template <typename Call>
auto RetryingBackend::Run(bool* retried, const Call& call) const -> decltype(call()) {
  const TimePoint start = Now();
  for (int attempt = 1;; ++attempt) {
    auto result = call();
    if (!IsTransient(StatusOf(result))) return result;
    if (!WaitToRetry(attempt, start, StatusOf(result))) {
      if (attempt == 1) return result;
      return Err(GaveUp(StatusOf(result), attempt, start));
    }
    *retried = true;
  }
}

Result<std::unique_ptr<ObjectWriter>> RetryingBackend::NewWriter(const ObjectName& object, uint64_t size) {
  bool retried = false;
  return Run(&retried, [&] { return base().NewWriter(object, size); });
}

Status RetryingBackend::Save(const ObjectName& object, ByteView data) {
  bool retried = false;
  Status status = Run(&retried, [&] { return base().Save(object, data); });
  // The attempt that timed out stored the object after all.
  if (retried && status.code() == ErrorCode::kAlreadyExists) return Status::Ok();
  return status;
}

Result<Bytes> RetryingBackend::Load(const ObjectName& object, uint64_t offset,
                                    uint64_t length) {
  bool retried = false;
  return Run(&retried, [&] { return base().Load(object, offset, length); });
}

Result<uint64_t> RetryingBackend::Stat(const ObjectName& object) {
  bool retried = false;
  return Run(&retried, [&] { return base().Stat(object); });
}

Status RetryingBackend::Remove(const ObjectName& object) {
  bool retried = false;
  Status status = Run(&retried, [&] { return base().Remove(object); });
  // The attempt that timed out removed the object after all.
  if (retried && status.code() == ErrorCode::kNotFound) return Status::Ok();
  return status;
}

Status RetryingBackend::List(
    ObjectKind kind, const std::function<Status(const ObjectInfo&)>& fn) {
  const TimePoint start = Now();
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
    if (!WaitToRetry(attempt, start, status)) return attempt > 1 ? GaveUp(status, attempt, start) : status;
  }
}

}  // namespace coffre::storage
