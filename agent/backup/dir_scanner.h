// DirScanner: prepares directories for the backup walk ahead of it, on a few
// threads of its own. Preparing a directory means taking its listing from
// the ListingPrefetcher (or reading it, DirListing), loading the parent
// snapshot's tree of that directory and deciding with the change cache which
// files must be read. The walk itself stays on one thread and in order; it
// asks for its next sub-directories before it needs them, so the trees are
// decrypted and the index consulted on the other cores meanwhile.
//
// The number of scans started and not yet finished is bounded (each holds an
// open directory fd and its entries in memory); past the bound Start declines
// and the walk scans that directory itself when it gets there.
// Thread-safety: Start, Finish and Scan may be called from any thread; every
// ticket is finished at most once. The destructor drops unfinished scans.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/backup/dir_listing.h"
#include "agent/backup/listing_prefetcher.h"
#include "agent/repo/repository.h"

namespace coffre::backup {

// A directory's listing with the change cache applied (none when it was
// excluded by a marker: see DirListing::excluded_by).
struct ScannedDir : DirListing {
  // For each node: the change cache found the file unchanged since the parent
  // snapshot (it will not be read).
  std::vector<bool> unchanged;
  // For each node: its position in `parent`, or -1.
  std::vector<int> parent_index;
  std::optional<format::Tree> parent;  // the parent snapshot's tree, if any

  format::Node* ParentOf(size_t i) {
    return parent_index[i] < 0 ? nullptr : &parent->nodes[parent_index[i]];
  }
};

class DirScanner {
 public:
  // Decides whether a file can reuse its parent snapshot's node unread.
  using UnchangedFn = std::function<bool(const format::Node& node, const format::Node* parent)>;

  // `listings` (may be null) is asked first for every directory; it must
  // have been started with the same `excludes` (null: nothing left out),
  // which directories read here apply too.
  DirScanner(repo::Repository& repo, UnchangedFn unchanged, ListingPrefetcher* listings,
             size_t threads, size_t max_pending,
             std::shared_ptr<const ExcludeFilter> excludes = nullptr);
  ~DirScanner();
  DirScanner(const DirScanner&) = delete;
  DirScanner& operator=(const DirScanner&) = delete;

  struct Job;
  using Ticket = std::shared_ptr<Job>;

  // What to scan: directory `name` of `dir` ("." for `dir` itself), found
  // at `path` as `node` (its device and inode), whose tree in the parent
  // snapshot is `parent_tree`.
  struct Request {
    SharedDirFd dir;
    std::string name;
    std::string path;
    uint64_t device = 0;
    uint64_t inode = 0;
    std::optional<BlobId> parent_tree;
    // A backup path: never excluded by a marker inside it.
    bool is_target = false;
  };

  // Starts a scan on a scanner thread; nullptr when max_pending scans are
  // already unfinished.
  Ticket Start(Request request);
  // The result of a started scan: waits for it, or runs it on this thread if
  // no scanner thread has begun it.
  ScannedDir Finish(const Ticket& ticket);
  // Scans on this thread, now.
  ScannedDir Scan(const Request& request);

 private:
  void RunThread();

  repo::Repository& repo_;
  UnchangedFn unchanged_;
  ListingPrefetcher* listings_;
  std::shared_ptr<const ExcludeFilter> excludes_;
  size_t max_pending_;
  std::mutex mu_;
  std::condition_variable has_work_;
  std::condition_variable done_;
  std::deque<Ticket> queue_;
  size_t pending_ = 0;  // started, not finished
  size_t waiting_ = 0;  // Finish calls waiting for a scan
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace coffre::backup
