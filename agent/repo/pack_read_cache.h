// PackReadCache: stretches of packs read recently, so that on a backend
// where every read is a round trip (a vault) neighbouring blobs come from
// one ranged read. A restore asks for blobs roughly in the order a backup
// wrote them, so a stretch from the blob asked for to a few MiB past it
// holds the next ones. Bounded in bytes: the least recently used stretch
// goes first.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>

#include "core/base/bytes.h"
#include "core/id/id.h"

namespace coffre::repo {

class PackReadCache {
 public:
  explicit PackReadCache(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // Bytes [offset, offset + length) of `pack` if one cached stretch holds
  // them all.
  std::optional<Bytes> Find(const PackId& pack, uint64_t offset, uint64_t length);
  // Keeps `bytes`, read from `pack` at `offset` (a stretch larger than the
  // whole cache is not kept).
  void Insert(const PackId& pack, uint64_t offset, Bytes bytes);

  // Whether a read of `pack` at `offset` continues a recent one (starts at
  // most kSequentialGap past where it ended): read-ahead pays only then, as
  // the kernel's does. A lone read (one file of a large snapshot) fetches
  // just its blob.
  static constexpr uint64_t kSequentialGap = 256 * 1024;
  bool Continues(const PackId& pack, uint64_t offset);
  // Records that a read of `pack` ended at `end`.
  void NoteRead(const PackId& pack, uint64_t end);

 private:
  struct Stretch {
    PackId pack;
    uint64_t offset;
    std::shared_ptr<const Bytes> bytes;
  };
  const uint64_t max_bytes_;
  std::mutex mu_;
  std::list<Stretch> stretches_;  // most recently used first
  uint64_t bytes_ = 0;
  // Where the last reads ended, newest last (a few per worker thread).
  static constexpr size_t kRecentReads = 64;
  std::list<std::pair<PackId, uint64_t>> recent_ends_;
};

}  // namespace coffre::repo
