#include "vault/state/pg_audit_log.h"

#include <chrono>
#include <iostream>
#include <vector>

#include "core/base/clock.h"

namespace coffre::vault {
namespace {

constexpr size_t kRowsPerInsert = 500;
constexpr int kColumns = 8;

// Names reach the trail from request paths that may be refused precisely
// for being bad; valid ones are ASCII. Anything else (a NUL, bytes that are
// not UTF-8, which the database would refuse and so block the queue)
// becomes '?'.
std::string Printable(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

}  // namespace

PgAuditLog::PgAuditLog(PgClient* db, std::string node) : db_(db), node_(std::move(node)) {
  flusher_ = std::thread([this] { FlushLoop(); });
}

PgAuditLog::~PgAuditLog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  flusher_.join();
  if (Status last = Flush(); !last.ok()) {
    std::lock_guard lock(mu_);
    std::cerr << "coffre-vault: audit: " << queue_.size()
              << " event(s) not recorded at shutdown: " << last.message() << std::endl;
  }
}

Status PgAuditLog::Record(const AuditEvent& event) {
  std::lock_guard lock(mu_);
  if (queue_.size() >= kMaxQueued)
    return UnavailableError("audit trail: the shared state is unreachable and the queue is full");
  queue_.push_back({Rfc3339Ms(WallNs()), event});
  return Status::Ok();
}

Status PgAuditLog::Insert(const std::vector<Queued>& rows) {
  std::string sql =
      "INSERT INTO coffre_audit (time, node, tenant, token, action, repo, object, status) VALUES ";
  std::vector<std::string> params;
  params.reserve(rows.size() * kColumns);
  for (size_t i = 0; i < rows.size(); ++i) {
    const size_t p = i * kColumns;
    sql += (i ? ", (" : "(");
    for (int c = 1; c <= kColumns; ++c) {
      sql += "$" + std::to_string(p + c);
      if (c == 1) sql += "::timestamptz";
      if (c == kColumns) sql += "::integer";
      sql += c < kColumns ? ", " : ")";
    }
    const AuditEvent& e = rows[i].event;
    const std::string* columns[] = {&rows[i].time, &node_,  &e.tenant, &e.token_id,
                                    &e.action,     &e.repo, &e.object};
    for (const std::string* v : columns) params.push_back(Printable(*v));
    params.push_back(std::to_string(e.status));
  }
  return StatusOf(db_->Query(sql, params));
}

Status PgAuditLog::Flush() {
  std::lock_guard flushing(flush_mu_);
  for (;;) {
    std::vector<Queued> batch;
    {
      std::lock_guard lock(mu_);
      while (!queue_.empty() && batch.size() < kRowsPerInsert) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (batch.empty()) return Status::Ok();
    Status s = Insert(batch);
    if (s.ok()) continue;
    // The database refused the batch for something in it, not for being
    // away: row by row, only what it refuses alone is dropped, and said.
    size_t sent = 0;
    if (s.code() != ErrorCode::kUnavailable) {
      for (; sent < batch.size(); ++sent) {
        Status one = Insert({batch[sent]});
        if (one.code() == ErrorCode::kUnavailable) {
          s = one;
          break;
        }
        if (!one.ok()) {
          std::cerr << "coffre-vault: audit: an event was refused: " << one.message() << std::endl;
          dropped_.fetch_add(1);
        }
      }
      if (sent == batch.size()) continue;
    }
    // Put what is left back in front, in order, for the next try.
    std::lock_guard lock(mu_);
    for (size_t i = batch.size(); i-- > sent;) queue_.push_front(std::move(batch[i]));
    return s;
  }
}

void PgAuditLog::FlushLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(kFlushIntervalMs));
    if (queue_.empty()) continue;
    lock.unlock();
    (void)Flush();  // a failure keeps the events queued for the next round
    lock.lock();
  }
}

}  // namespace coffre::vault
