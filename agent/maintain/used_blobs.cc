#include "agent/maintain/used_blobs.h"

namespace coffre::maintain {

Status UsedBlobs::Add(const std::vector<repo::SnapshotListing>& snapshots) {
  for (const repo::SnapshotListing& listing : snapshots) {
    if (!snapshots_.insert(listing.id).second) continue;
    RETURN_IF_ERROR(AddTree(listing.snapshot.root, "snapshot " + listing.id.Short()));
  }
  return Status::Ok();
}

Status UsedBlobs::AddTree(const BlobId& root, const std::string& where) {
  // Iterative: a hostile or very deep tree must not exhaust the stack.
  std::vector<BlobId> pending{root};
  while (!pending.empty()) {
    BlobId id = pending.back();
    pending.pop_back();
    if (!blobs_.insert(id).second) continue;
    auto tree = repo_.LoadTree(id);
    if (!tree) {
      Status s = tree.error();
      if (s.code() == ErrorCode::kUnavailable) return s;
      return CorruptionError(where + ": tree " + id.Short() + ": " + s.message());
    }
    for (const format::Node& node : tree->nodes) {
      if (node.subtree) pending.push_back(*node.subtree);
      for (const BlobId& blob : node.content) {
        if (!blobs_.insert(blob).second) continue;
        if (!repo_.index().HasBlob(blob))
          return CorruptionError(where + ": file " + node.name + ": chunk " + blob.Short() +
                                 " is in no index");
      }
    }
  }
  return Status::Ok();
}

}  // namespace coffre::maintain
