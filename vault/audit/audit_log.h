// AuditLog: one JSON line per write or delete the vault is asked for,
// accepted or refused, appended to a file (format in docs/vault-api.md).
// Each line is written with a single write(2) on an O_APPEND descriptor, so
// lines from concurrent requests never interleave, and flushed to disk by
// fdatasync at most once a second (and on Close).
// Thread-safety: Record may be called concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/base/status.h"

namespace coffre::vault {

struct AuditEvent {
  std::string tenant;
  std::string token_id;  // "" when the token was not valid
  std::string action;    // "put", "delete", "create_repo"
  std::string repo;
  std::string object;  // "data/3af0..." or "" for repository actions
  int status = 0;      // the HTTP status answered
};

class AuditLog {
 public:
  // Opens (creating, mode 0600) `path` for appending.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();

  // Appends the event with the current time (RFC 3339, UTC, milliseconds).
  // A failed write is returned, never thrown; the caller counts it.
  Status Record(const AuditEvent& event);

 private:
  AuditLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
  std::mutex mu_;
  int64_t last_sync_ns_ = 0;
};

}  // namespace coffre::vault
