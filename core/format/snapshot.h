// Snapshot: one backup run's manifest: when, where from, which paths, the root
// tree, the parent used for the change cache, and what the run did. Stored as
// a sealed object, magic "CFSN", version 1 (docs/format/snapshot.md); its
// ObjectId is the SHA-256 of the stored bytes. Thread-safety: values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/id/id.h"

namespace coffre::format {

inline constexpr uint8_t kSnapshotVersion = 1;

struct SnapshotStats {
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t bytes = 0;      // file bytes seen
  uint64_t new_bytes = 0;  // bytes of new blobs stored (after compression)
  uint64_t duration_ms = 0;
  uint64_t errors = 0;     // entries that could not be read (partial backup)
  bool operator==(const SnapshotStats&) const = default;
};

struct Snapshot {
  int64_t time_ns = 0;  // start of the run, Unix time
  std::string host;
  std::string user;
  std::vector<std::string> paths;  // absolute, as given
  std::vector<std::string> tags;
  BlobId root;  // tree of "/" holding the paths
  std::optional<ObjectId> parent;
  SnapshotStats stats;
  std::string program_version;
  bool operator==(const Snapshot&) const = default;
};

Bytes EncodeSnapshot(const Snapshot& snapshot);
Result<Snapshot> DecodeSnapshot(ByteView data);

}  // namespace coffre::format
