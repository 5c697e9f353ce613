// RepoLock: the lock object one run (a backup, a restore, a check, a prune)
// keeps under locks/ while it works, so that prune knows which runs might
// still use the packs it has condemned (docs/prune.md). The object is
// rewritten every `refresh_every` by a background thread; a lock whose last
// refresh is older than `stale_after` belongs to a run that died, and prune
// removes it; so does one whose process is gone from this very machine
// (same host name, boot and pid namespace), at once: a killed prune does not
// block the next one for half an hour. Locks never stop a backup: only a second prune is refused.
// Thread-safety: Check may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/repo/repository.h"
#include "core/format/lock.h"

namespace coffre::repo {

struct LockTiming {
  std::chrono::milliseconds refresh_every{std::chrono::minutes(5)};
  std::chrono::milliseconds stale_after{std::chrono::minutes(30)};
};

// True if the lock was written on this machine by a process that no longer
// runs (its pid is gone, or now belongs to a later process). False whenever
// that cannot be known: another host, boot or pid namespace.
bool WriterGone(const format::Lock& lock);
// Whether a lock refreshed at `lock.refreshed_ns` still counts at `now_ns`:
// refreshed within `stale_after`, and not WriterGone.
bool IsLive(const format::Lock& lock, int64_t now_ns, const LockTiming& timing);

class RepoLock {
 public:
  // Saves the first lock object and starts refreshing it. For kPrune, then
  // lists the locks and refuses (kLocked, naming the other's host and pid)
  // if another live prune lock exists, removing its own object first.
  // Any kind also removes the locks of runs killed on this machine
  // (WriterGone), so dead runs leave nothing behind.
  static Result<std::unique_ptr<RepoLock>> Acquire(Repository& repo, format::LockKind kind,
                                                   const LockTiming& timing = {});
  // For runs that only read (restore, check): a read lock, or null where
  // none can be written (a token that may only read, a full disk, a
  // read-only mount), so that reading never depends on writing; `warn` is
  // told why, except for a token that may only read. Only an unavailable
  // storage or a cancel is an error.
  static Result<std::unique_ptr<RepoLock>> AcquireForReading(
      Repository& repo, const std::function<void(const std::string&)>& warn);
  // Stops refreshing and deletes the lock object. A deletion the storage
  // refuses is ignored: the lock then goes stale by itself.
  ~RepoLock();
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;

  const format::Lock& lock() const { return lock_; }
  // kLocked if the lock object is gone (a prune judged it stale, e.g. after
  // the process was suspended for longer than stale_after): the data this
  // run deduplicated against may have been deleted, so it must not commit.
  // Storage errors are returned as they are.
  Status Check();

 private:
  RepoLock(Repository& repo, format::Lock lock, ObjectId id, const LockTiming& timing);
  void RefreshLoop();

  Repository& repo_;
  const LockTiming timing_;
  format::Lock lock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool lost_ = false;
  ObjectId current_;
  std::thread refresher_;
};

}  // namespace coffre::repo
