#include "agent/backup/listing_prefetcher.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "agent/backup/backup_paths.h"

namespace coffre::backup {

ListingPrefetcher::ListingPrefetcher(const std::vector<std::string>& roots, size_t threads,
                                     size_t max_entries, size_t head_start,
                                     std::shared_ptr<const ExcludeFilter> excludes)
    : excludes_(std::move(excludes)), max_entries_(max_entries),
      head_start_(std::max(head_start, max_entries)) {
  for (size_t i = 0; i < roots.size() && by_path_.size() < Limit(); ++i) {
    auto job = std::make_shared<Job>();
    job->order = {static_cast<uint32_t>(i)};
    job->path = roots[i];
    job->name = roots[i];
    if (by_path_.emplace(job->path, job).second) queued_.insert(job);
  }
  thread_count_ = threads;
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { RunThread(); });
}

ListingPrefetcher::~ListingPrefetcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queued_.clear();
  }
  has_work_.notify_all();
  for (auto& t : threads_) t.join();
}

void ListingPrefetcher::RunThread() {
  // Reading ahead must not slow what it runs ahead of: on a warm cache these
  // threads are busy with system calls, and at nice 0 they would take most
  // of the key derivation's core. (On Linux a thread's nice value is its
  // own; failure just leaves the default.)
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  std::unique_lock lock(mu_);
  for (;;) {
    has_work_.wait(lock, [this] {
      return stopping_ || (!queued_.empty() && held_entries_ < Limit());
    });
    if (stopping_) return;
    JobPtr job = *queued_.begin();
    queued_.erase(queued_.begin());
    Read(job, lock, /*on_own_thread=*/true);
  }
}

void ListingPrefetcher::Read(const JobPtr& job, std::unique_lock<std::mutex>& lock,
                             bool on_own_thread) {
  job->state = Job::State::kRunning;
  lock.unlock();
  // A root is a backup path: its own markers do not exclude it.
  DirListing listing =
      ReadDirectory(job->parent, job->name, excludes_.get(), job->path, !job->parent);
  lock.lock();
  if (stopping_) return;
  const bool one_fs = excludes_ && excludes_->one_file_system();
  size_t queued = 0;
  for (size_t i = 0; i < listing.nodes.size() && by_path_.size() < Limit(); ++i) {
    const format::Node& node = listing.nodes[i];
    if (node.type != format::NodeType::kDir) continue;
    if (one_fs && node.device != listing.device) continue;  // a mount point: not descended
    auto child = std::make_shared<Job>();
    child->order = job->order;
    child->order.push_back(static_cast<uint32_t>(i));
    child->path = JoinPath(job->path, node.name);
    child->parent = listing.fd;
    child->name = node.name;
    if (by_path_.emplace(child->path, child).second) {
      queued_.insert(child);
      ++queued;
    }
  }
  held_entries_ += listing.nodes.size();
  job->result = std::move(listing);
  job->parent.reset();
  job->state = Job::State::kDone;
  // Wake only who has something to do: waking every thread for every
  // directory costs more than reading it when the cache is warm.
  if (takers_waiting_ > 0) done_.notify_all();
  // A prefetch thread goes on to the next job itself.
  for (size_t i = on_own_thread ? 1 : 0; i < queued && i < thread_count_; ++i)
    has_work_.notify_one();
}

std::optional<DirListing> ListingPrefetcher::Take(const std::string& path, uint64_t device,
                                                  uint64_t inode) {
  std::unique_lock lock(mu_);
  walking_ = true;
  auto it = by_path_.find(path);
  if (it == by_path_.end() || stopping_) return std::nullopt;
  JobPtr job = it->second;
  by_path_.erase(it);
  if (job->state == Job::State::kQueued) {  // nobody has begun it: read it here
    queued_.erase(job);
    Read(job, lock, /*on_own_thread=*/false);
  }
  ++takers_waiting_;
  done_.wait(lock, [&] { return job->state == Job::State::kDone || stopping_; });
  --takers_waiting_;
  if (stopping_) return std::nullopt;
  const bool was_full = held_entries_ >= Limit();
  held_entries_ -= job->result.nodes.size();
  if (was_full && held_entries_ < Limit()) has_work_.notify_all();
  // A directory replaced since (or one that could not be read ahead: the
  // caller's own attempt gives its own error) is read again by the caller.
  if (!job->result.error.ok() || job->result.device != device || job->result.inode != inode)
    return std::nullopt;
  return std::move(job->result);
}

}  // namespace coffre::backup
