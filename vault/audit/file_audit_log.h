// FileAuditLog: the audit trail of a single vault node, one JSON line per
// event appended to a file (format in docs/vault-api.md). Each line is
// written with a single write(2) on an O_APPEND descriptor, so lines from
// concurrent requests never interleave, and flushed to disk by fdatasync
// at most once a second (and on destruction).
// Thread-safety: Record may be called concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "vault/audit/audit_log.h"

namespace coffre::vault {

class FileAuditLog final : public AuditLog {
 public:
  // Opens (creating, mode 0600) `path` for appending.
  static Result<std::unique_ptr<FileAuditLog>> Open(const std::string& path);
  ~FileAuditLog() override;

  // Appends the event with the current time (RFC 3339, UTC, milliseconds).
  Status Record(const AuditEvent& event) override;

 private:
  FileAuditLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
  std::mutex mu_;
  int64_t last_sync_ns_ = 0;
};

}  // namespace coffre::vault
