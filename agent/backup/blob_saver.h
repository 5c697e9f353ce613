// BlobSaver: the CPU half of a backup. The walker thread hashes each chunk
// (cheap) and hands new ones here; worker threads compress them with zstd
// and pass them to the PackUploader, which seals and stores them.
//
// The queue between walker and workers is bounded, so at most
// `workers + queue_depth` chunks are in memory however fast the walk is.
// Thread-safety: Save may be called from any thread; Finish from one.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/repo/pack_uploader.h"

namespace coffre::backup {

class BlobSaver {
 public:
  BlobSaver(repo::PackUploader* uploader, int compression_level, size_t workers,
            size_t queue_depth);
  ~BlobSaver();

  // Stores `data` as blob `id` unless the repository or this run already has
  // it; returns true if it was new. Blocks while the queue is full. After a
  // storage error, returns false and error() tells why.
  bool Save(format::BlobType type, const BlobId& id, Bytes data);

  // Waits until every queued blob reached the uploader; returns the first
  // error of any worker.
  Status Finish();
  Status error() const;
  // Uncompressed bytes of the new blobs handed to Save.
  uint64_t new_raw_bytes() const;

 private:
  struct Job {
    format::BlobType type;
    BlobId id;
    Bytes data;
  };
  void Work(int compression_level);

  repo::PackUploader* uploader_;
  const size_t queue_depth_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  size_t busy_ = 0;
  bool stopping_ = false;
  Status error_;
  uint64_t new_raw_bytes_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace coffre::backup
