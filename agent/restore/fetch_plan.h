// FetchPlan: the blobs a batch of restored files needs, grouped into reads of
// adjacent stored bytes, so that a restore asks for each needed byte of a
// pack once, pack by pack and in order, in few large requests, whatever
// order the files name their chunks in and however often a chunk repeats.
//
// The plan knows nothing of files: a use is an opaque file number and an
// offset in that file's content, handed back with the blob when it is read.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "agent/repo/index_table.h"

namespace coffre::restore {

struct FetchLimits {
  uint64_t max_gap = 256 * 1024;          // unneeded bytes read to save a request
  uint64_t max_read = 4 * 1024 * 1024;    // longest read (a longer blob is read alone)
};

// One place a blob's plaintext goes: file `file` of the batch, at `offset`
// of its content (before sparse extents are applied).
struct ChunkUse {
  uint32_t file = 0;
  uint64_t offset = 0;
};

struct PlannedBlob {
  repo::BlobLocation loc;
  std::vector<ChunkUse> uses;
};

// Stored bytes [offset, offset + length) of `pack`, holding blobs
// [first, last) of FetchPlan::blobs() once Reads() has ordered them.
struct PackRead {
  PackId pack;
  uint64_t offset = 0;
  uint64_t length = 0;
  size_t first = 0;
  size_t last = 0;
};

class FetchPlan {
 public:
  // Records that the blob at `loc` goes to `use`; a blob added again only
  // gains a use.
  void Add(const repo::BlobLocation& loc, ChunkUse use);

  size_t uses() const { return uses_; }
  bool empty() const { return blobs_.empty(); }

  // Orders the blobs by pack and offset and cuts them into reads: blobs of
  // one pack share a read while the gap between them is at most max_gap
  // and the read stays within max_read.
  std::vector<PackRead> Reads(const FetchLimits& limits);
  const std::vector<PlannedBlob>& blobs() const { return blobs_; }

 private:
  std::vector<PlannedBlob> blobs_;
  std::unordered_map<BlobId, size_t, IdHash> by_id_;  // index into blobs_
  size_t uses_ = 0;
};

}  // namespace coffre::restore
