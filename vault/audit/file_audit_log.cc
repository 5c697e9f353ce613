#include "vault/audit/file_audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "core/base/clock.h"

namespace coffre::vault {
namespace {

constexpr int64_t kSyncIntervalNs = 1'000'000'000;

}  // namespace

Result<std::unique_ptr<FileAuditLog>> FileAuditLog::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Err(ErrnoStatus(errno, "open audit log " + path));
  return std::unique_ptr<FileAuditLog>(new FileAuditLog(fd, path));
}

FileAuditLog::~FileAuditLog() {
  ::fdatasync(fd_);
  ::close(fd_);
}

Status FileAuditLog::Record(const AuditEvent& event) {
  // ordered_json keeps the documented key order, which makes the log easier
  // to read by eye; the names are the contract, not the order.
  nlohmann::ordered_json j;
  j["time"] = Rfc3339Ms(WallNs());
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
