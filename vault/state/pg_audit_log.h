// PgAuditLog: the audit trail of a fleet, rows of coffre_audit in the
// PostgreSQL database the nodes share (docs/state.md), each naming the node
// that served the request. Record only queues the event, stamped with the
// node's clock; a background thread inserts what is queued every
// kFlushIntervalMs, many rows per statement, so a request never waits for
// the database. A crash loses at most that interval of events, as the file
// log's once-a-second fdatasync does. While the database is unreachable
// events wait in memory, up to kMaxQueued; past that Record refuses (the
// caller counts an audit error).
// Thread-safety: Record may be called concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vault/audit/audit_log.h"
#include "vault/state/pg_client.h"

namespace coffre::vault {

class PgAuditLog final : public AuditLog {
 public:
  static constexpr int kFlushIntervalMs = 200;
  static constexpr size_t kMaxQueued = 100'000;

  // `db` (whose schema is ensured) outlives the log; `node` names this node.
  PgAuditLog(PgClient* db, std::string node);
  // Inserts what is still queued (one last try), then stops.
  ~PgAuditLog() override;

  Status Record(const AuditEvent& event) override;
  // Inserts everything queued now. Events the database refuses one by one
  // (never for being unreachable) are dropped, each said on stderr and
  // counted in dropped(); an unreachable database keeps the rest queued and
  // is returned.
  Status Flush();
  uint64_t dropped() const { return dropped_.load(); }

 private:
  struct Queued {
    std::string time;  // RFC 3339 with milliseconds, the node's clock
    AuditEvent event;
  };
  void FlushLoop();
  // One INSERT of `rows`.
  Status Insert(const std::vector<Queued>& rows);

  PgClient* const db_;
  const std::string node_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Queued> queue_;
  bool stopping_ = false;
  std::mutex flush_mu_;  // one insert at a time, so rows keep their order
  std::atomic<uint64_t> dropped_{0};
  std::thread flusher_;
};

}  // namespace coffre::vault
