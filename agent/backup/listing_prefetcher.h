// ListingPrefetcher: reads the directories of a backup ahead of the walk,
// depth first in walk order, on threads of its own. It needs no key, so it
// starts while the repository's key is still being derived; on a cold disk
// its threads keep several directories' inode reads in flight at once.
//
// Memory is bounded: reading pauses while `max_entries` entries of listings
// wait to be taken (`head_start` entries until the walk takes its first one:
// while the key is derived, a longer lead costs nothing, whereas during a
// long first backup the lead would sit in memory for the whole run), and no
// more than that many directories are known ahead; past that the walk reads
// directories itself (DirScanner's threads), so it only loses the head start. A listing is handed out only if the directory
// at that path is still the one that was read (device and inode).
// Thread-safety: Take may be called from any thread; the destructor stops
// the threads and drops what was not taken.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "agent/backup/dir_listing.h"

namespace coffre::backup {

class ListingPrefetcher {
 public:
  static constexpr size_t kDefaultThreads = 4;
  static constexpr size_t kDefaultMaxEntries = 8192;
  static constexpr size_t kDefaultHeadStart = 32768;

  // `roots`: absolute, normalized paths in walk order (OutermostPaths);
  // those that are directories are read with everything below them, but for
  // what `excludes` (may be null) leaves out: excluded entries are not
  // listed, excluded directories and (one_file_system) directories of
  // another device than their parent's are not read.
  explicit ListingPrefetcher(const std::vector<std::string>& roots,
                             size_t threads = kDefaultThreads,
                             size_t max_entries = kDefaultMaxEntries,
                             size_t head_start = kDefaultHeadStart,
                             std::shared_ptr<const ExcludeFilter> excludes = nullptr);
  ~ListingPrefetcher();
  ListingPrefetcher(const ListingPrefetcher&) = delete;
  ListingPrefetcher& operator=(const ListingPrefetcher&) = delete;

  // The listing of the directory at `path`, read ahead (waiting for it, or
  // reading it here if no thread has begun), if it is still the directory
  // (`device`, `inode`) the walk found there. nullopt otherwise: the caller
  // reads it itself.
  std::optional<DirListing> Take(const std::string& path, uint64_t device, uint64_t inode);

  // What the listings leave out (null: nothing), as given.
  const ExcludeFilter* excludes() const { return excludes_.get(); }

 private:
  struct Job {
    enum class State { kQueued, kRunning, kDone };
    std::vector<uint32_t> order;  // position in the walk: the child indices from a root
    std::string path;
    SharedDirFd parent;  // null for a root: `name` is then its absolute path
    std::string name;
    State state = State::kQueued;
    DirListing result;
  };
  using JobPtr = std::shared_ptr<Job>;
  struct WalkOrder {
    bool operator()(const JobPtr& a, const JobPtr& b) const { return a->order < b->order; }
  };

  void RunThread();
  // Reads `job` (unlocked), then publishes it and queues its sub-directories.
  void Read(const JobPtr& job, std::unique_lock<std::mutex>& lock, bool on_own_thread);

  // Entries that may wait to be taken now: head_start_ until the first
  // Take, max_entries_ after.
  size_t Limit() const { return walking_ ? max_entries_ : head_start_; }

  const std::shared_ptr<const ExcludeFilter> excludes_;
  const size_t max_entries_;
  const size_t head_start_;
  bool walking_ = false;  // Take was called
  std::mutex mu_;
  std::condition_variable has_work_;
  std::condition_variable done_;
  std::set<JobPtr, WalkOrder> queued_;
  std::unordered_map<std::string, JobPtr> by_path_;  // queued, running or done, not taken
  size_t held_entries_ = 0;  // entries of done listings not yet taken
  size_t takers_waiting_ = 0;  // Take calls waiting for a listing
  bool stopping_ = false;
  // Set before the first thread starts, read by them: threads_ itself grows
  // while the first ones already run, so they must not read its size.
  size_t thread_count_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace coffre::backup
