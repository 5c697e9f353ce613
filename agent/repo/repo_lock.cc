#include "agent/repo/repo_lock.h"

#include <unistd.h>

#include <algorithm>
#include <variant>

#include "agent/util/process_identity.h"
#include "core/crypto/random.h"

namespace coffre::repo {

using storage::ObjectKind;

namespace {

// Session bytes 8..11 and 12..15 carry the writer's machine and process
// tags (docs/format/lock.md); random where /proc does not give them.
constexpr size_t kMachineTagAt = 8;
constexpr size_t kProcessTagAt = 12;

format::SessionId NewSession() {
  format::SessionId session;
  crypto::RandomFill(session.data(), session.size());
  auto machine = MachineTag();
  auto process = ProcessTag(getpid());
  if (machine && process) {
    std::copy(machine->begin(), machine->end(), session.begin() + kMachineTagAt);
    std::copy(process->begin(), process->end(), session.begin() + kProcessTagAt);
  }
  return session;
}

IdentityTag TagAt(const format::SessionId& session, size_t at) {
  IdentityTag tag;
  std::copy_n(session.begin() + static_cast<ptrdiff_t>(at), tag.size(), tag.begin());
  return tag;
}

}  // namespace

bool WriterGone(const format::Lock& lock) {
  if (lock.host != HostName()) return false;
  return ProcessGone(TagAt(lock.session, kMachineTagAt), static_cast<pid_t>(lock.pid),
                     TagAt(lock.session, kProcessTagAt));
}

bool IsLive(const format::Lock& lock, int64_t now_ns, const LockTiming& timing) {
  if (WriterGone(lock)) return false;
  const int64_t stale_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(timing.stale_after).count();
  return now_ns - lock.refreshed_ns < stale_ns;
}

Result<std::unique_ptr<RepoLock>> RepoLock::Acquire(Repository& repo, format::LockKind kind,
                                                    const LockTiming& timing) {
  format::Lock lock;
  lock.kind = kind;
  lock.session = NewSession();
  lock.created_ns = NowNs();
  lock.refreshed_ns = lock.created_ns;
  lock.host = HostName();
  lock.pid = static_cast<uint32_t>(getpid());
  ASSIGN_OR_RETURN(ObjectId id, repo.SaveLockRecord(lock));
  std::unique_ptr<RepoLock> held(new RepoLock(repo, lock, id, timing));

  std::vector<std::string> warnings;
  auto records =
      repo.ListLockRecords([&](const std::string& line) { warnings.push_back(line); });
  if (!records) {
    // Only a prune needs to know the others; for any other run, the
    // cleanup below is a courtesy.
    if (kind == format::LockKind::kPrune) return Err(records.error());
    return held;
  }
  const int64_t now = NowNs();
  for (const LockListing& listing : *records) {
    const auto* other = std::get_if<format::Lock>(&listing.record);
    if (!other || other->session == lock.session) continue;
    // A run killed on this machine left its lock: nobody will ever remove
    // it but us, and it holds nothing up. Refused removals (a restore
    // token) leave it to age out.
    if (WriterGone(*other)) {
      (void)repo.backend().Remove({ObjectKind::kLock, listing.id.Hex()});
      continue;
    }
    if (kind != format::LockKind::kPrune || other->kind != format::LockKind::kPrune ||
        !IsLive(*other, now, timing))
      continue;
    held.reset();  // removes our object, so the other prune is not held up
    return Err(LockedError("another prune is running (host " + other->host + ", pid " +
                           std::to_string(other->pid) + "): try again when it is done"));
  }
  // Listed after our lock was saved: the index load that follows may read
  // its plans from here (Repository::KeepLockListing).
  repo.KeepLockListing(std::move(*records), std::move(warnings));
  return held;
}

Result<std::unique_ptr<RepoLock>> RepoLock::AcquireForReading(
    Repository& repo, const std::function<void(const std::string&)>& warn) {
  auto lock = Acquire(repo, format::LockKind::kRead);
  if (lock) return lock;
  const ErrorCode code = lock.error().code();
  if (code == ErrorCode::kUnavailable || code == ErrorCode::kCancelled) return Err(lock.error());
  if (code != ErrorCode::kAuthFailed && code != ErrorCode::kPermissionDenied && warn)
    warn("reading without a read lock (" + lock.error().message() +
         "): a prune started meanwhile could remove data this run reads");
  return std::unique_ptr<RepoLock>();
}

RepoLock::RepoLock(Repository& repo, format::Lock lock, ObjectId id, const LockTiming& timing)
    : repo_(repo), timing_(timing), lock_(std::move(lock)), current_(id) {
  refresher_ = std::thread([this] { RefreshLoop(); });
}

RepoLock::~RepoLock() {
  {
    std::lock_guard<std::mutex> guard(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  refresher_.join();
  repo_.DropLockListing();
  (void)repo_.backend().Remove({ObjectKind::kLock, current_.Hex()});
}

Status RepoLock::Check() {
  ObjectId id;
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (lost_) return LockedError("this run's lock was removed as stale; nothing was committed");
    id = current_;
  }
  auto info = repo_.backend().Stat({ObjectKind::kLock, id.Hex()});
  if (!info && info.error().code() == ErrorCode::kNotFound) {
    std::lock_guard<std::mutex> guard(mu_);
    // A refresh may have replaced the object between the copy and the Stat.
    if (current_ == id) {
      lost_ = true;
      return LockedError("this run's lock was removed as stale; nothing was committed");
    }
    return Status::Ok();
  }
  return info ? Status::Ok() : info.error();
}

void RepoLock::RefreshLoop() {
  std::unique_lock<std::mutex> guard(mu_);
  while (!stopping_) {
    if (cv_.wait_for(guard, timing_.refresh_every, [this] { return stopping_; })) break;
    const ObjectId old = current_;
    guard.unlock();
    // Gone already: a prune saw it stale. Writing a new one would hide that.
    auto still = repo_.backend().Stat({ObjectKind::kLock, old.Hex()});
    bool lost = !still && still.error().code() == ErrorCode::kNotFound;
    std::optional<ObjectId> fresh;
    if (!lost) {
      format::Lock next = lock_;
      next.refreshed_ns = NowNs();
      if (auto saved = repo_.SaveLockRecord(next)) fresh = *saved;
      // A failed save is retried at the next round; the old object stays.
    }
    guard.lock();
    if (lost) lost_ = true;
    if (fresh) {
      current_ = *fresh;
      guard.unlock();
      (void)repo_.backend().Remove({ObjectKind::kLock, old.Hex()});
      guard.lock();
    }
  }
}

}  // namespace coffre::repo
