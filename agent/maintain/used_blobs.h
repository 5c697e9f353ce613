// UsedBlobs: every blob (tree or file chunk) that some snapshot reaches,
// collected by walking the snapshots' trees, each tree once. Prune keeps
// these and may delete the rest. It grows: a later call adds the snapshots
// saved since, walking only trees not seen yet.
// Thread-safety: one thread at a time.
#pragma once

#include <set>
#include <unordered_set>
#include <vector>

#include "agent/repo/repository.h"

namespace coffre::maintain {

class UsedBlobs {
 public:
  explicit UsedBlobs(repo::Repository& repo) : repo_(repo) {}

  // Adds what the snapshots not added before reach. A tree or chunk that
  // the repository's index does not know is kCorruption naming the
  // snapshot: prune must then delete nothing (run check).
  Status Add(const std::vector<repo::SnapshotListing>& snapshots);

  bool Contains(const BlobId& id) const { return blobs_.count(id) > 0; }
  const std::unordered_set<BlobId, IdHash>& blobs() const { return blobs_; }
  size_t snapshot_count() const { return snapshots_.size(); }

 private:
  Status AddTree(const BlobId& id, const std::string& where);

  repo::Repository& repo_;
  std::set<ObjectId> snapshots_;
  std::unordered_set<BlobId, IdHash> blobs_;
};

}  // namespace coffre::maintain
