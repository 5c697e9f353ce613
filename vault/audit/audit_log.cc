#include "vault/audit/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace coffre::vault {
namespace {

constexpr int64_t kSyncIntervalNs = 1'000'000'000;

int64_t MonotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// "2024-05-01T12:34:56.789Z": RFC 3339, UTC, milliseconds.
std::string NowRfc3339() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  ::gmtime_r(&ts.tv_sec, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03ldZ", ts.tv_nsec / 1'000'000);
  return buf;
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Err(ErrnoStatus(errno, "open audit log " + path));
  return std::unique_ptr<AuditLog>(new AuditLog(fd, path));
}

AuditLog::~AuditLog() {
  ::fdatasync(fd_);
  ::close(fd_);
}

Status AuditLog::Record(const AuditEvent& event) {
  // ordered_json keeps the documented key order, which makes the log easier
  // to read by eye; the names are the contract, not the order.
  nlohmann::ordered_json j;
  j["time"] = NowRfc3339();
  j["tenant"] = event.tenant;
  j["token"] = event.token_id;
  j["action"] = event.action;
  j["repo"] = event.repo;
  j["object"] = event.object;
  j["status"] = event.status;
  // Names reach here from request paths that may be refused precisely for
  // being bad, so they may not be UTF-8: replace such bytes rather than let
  // dump() throw.
  std::string line =
      j.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace) + "\n";

  // One write(2) on an O_APPEND descriptor: the kernel places the whole
  // line at the end atomically with respect to other appenders. A retry
  // after a short write would not be, so a short write is an error.
  ssize_t n;
  do {
    n = ::write(fd_, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(errno, "write audit log " + path_);
  if (static_cast<size_t>(n) != line.size()) {
    return IoError("write audit log " + path_ + ": short write (disk full?)");
  }

  // fdatasync bounds what a crash can lose to about a second of records
  // without paying a disk flush per request. The slot is claimed under the
  // lock and the flush runs outside it, so other requests do not wait.
  {
    std::lock_guard<std::mutex> guard(mu_);
    int64_t now = MonotonicNs();
    if (last_sync_ns_ != 0 && now - last_sync_ns_ < kSyncIntervalNs) return Status::Ok();
    last_sync_ns_ = now;
  }
  if (::fdatasync(fd_) != 0) return ErrnoStatus(errno, "fdatasync audit log " + path_);
  return Status::Ok();
}

}  // namespace coffre::vault
