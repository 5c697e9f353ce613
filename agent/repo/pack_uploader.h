// PackUploader: collects sealed blobs into packs, saves full packs to storage
// on a background thread, and writes index objects for the saved packs.
//
// Dedup: Reserve(id) says whether a blob must be stored: false if the index
// or this uploader already has it, so two threads never store one blob twice.
// Durability order: a pack is saved before any index names it, an index is
// saved before a snapshot refers to its blobs (the caller calls Flush before
// saving the snapshot). A crash leaves at worst packs that no index names,
// which Repository::IndexOrphanPacks picks up on the next run.
// Uploads: `max_queued` packs are saved at once, each by a thread of its
// own (1 for a local folder, where one writer keeps the disk busy; several
// for a vault, where each upload waits on the network).
// Packs hold one type of blob: trees go to tree packs (at most
// kTreePackSize), file data to data packs, so that reading metadata never
// downloads file data (docs/format/repository.md, version 2).
// Memory: at most two open packs (data, tree) plus `max_queued` finished
// packs waiting or being saved (with 1, the next pack fills while one is
// saved).
// Thread-safety: all methods may be called from many threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "agent/repo/repository.h"
#include "core/format/pack.h"

namespace coffre::repo {

class PackUploader {
 public:
  static constexpr size_t kDefaultPackSize = 8 << 20;
  static constexpr size_t kTreePackSize = 4 << 20;
  PackUploader(Repository* repo, size_t target_pack_size = kDefaultPackSize,
               size_t max_queued = 1);
  ~PackUploader();  // Flushes; errors are lost: call Flush() first.

  // True if the caller must store the blob: no index nor earlier call has it.
  bool Reserve(const BlobId& id);

  // Seals and appends a blob; starts an upload when the pack is full.
  // Returns the first storage error met so far (then the backup must stop).
  Status AddBlob(format::BlobType type, const BlobId& id, compress::Codec codec,
                 uint32_t raw_len, ByteView stored);

  // Saves the open pack, waits for all uploads, and saves one index object
  // for every pack saved since the last Flush. Returns the first error.
  Status Flush();

  uint64_t bytes_stored() const;  // pack bytes saved so far
  uint64_t packs_stored() const;

 private:
  void UploadLoop();
  void EnqueueLocked(std::unique_lock<std::mutex>& lock, std::unique_ptr<format::PackWriter>& open);
  Status SaveIndexLocked(std::unique_lock<std::mutex>& lock);

  Repository* repo_;
  const size_t target_size_;
  const size_t tree_target_size_;
  const size_t max_queued_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_set<BlobId, IdHash> reserved_;
  std::unique_ptr<format::PackWriter> open_data_;
  std::unique_ptr<format::PackWriter> open_tree_;
  std::deque<format::PackWriter::Finished> queue_;
  size_t uploading_ = 0;  // packs being saved now
  bool stopping_ = false;
  Status error_;
  std::vector<format::IndexedPack> unindexed_;
  uint64_t bytes_stored_ = 0;
  uint64_t packs_stored_ = 0;
  std::vector<std::thread> uploaders_;
};

}  // namespace coffre::repo
