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
};

}  // namespace coffre::repo
