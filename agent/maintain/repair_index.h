// RepairIndex (`coffre repair index`): rebuilds the index from the packs
// themselves, for an index whose objects are damaged, lost or wrong. Every
// stored pack's own header says which blobs it holds; a pack whose header
// cannot be read keeps what the readable index objects said of it. The new
// objects supersede every old one (docs/format/index.md), which are then
// deleted. It takes a prune lock: no prune runs meanwhile, while backups
// may (an index object saved after the listing is not touched).
// Thread-safety: one call at a time per repository.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "agent/repo/repository.h"

namespace coffre::maintain {

struct RepairIndexOptions {
  bool dry_run = false;  // read and count, write and delete nothing
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const std::string&)> warn;  // unreadable packs and objects
};

struct RepairIndexStats {
  uint64_t packs = 0;             // packs in the new index
  uint64_t blobs = 0;             // blobs in the new index
  uint64_t from_old_index = 0;    // packs whose header is damaged, kept from the old index
  uint64_t lost_packs = 0;        // packs neither their header nor any index describes
  uint64_t old_objects = 0;       // index objects replaced (deleted unless dry_run)
  uint64_t new_objects = 0;       // index objects written (0 in a dry run)
};

Result<RepairIndexStats> RepairIndex(repo::Repository& repo, const RepairIndexOptions& options);

}  // namespace coffre::maintain
