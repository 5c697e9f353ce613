// Index: which blobs live in which pack, at which offset. An index object
// covers one or more packs; the repository's index is the union of all index
// objects. Stored as a sealed object, magic "CFIX", version 1
// (docs/format/index.md). Thread-safety: values and free functions.
#pragma once

#include <vector>

#include "core/format/pack.h"

namespace coffre::format {

inline constexpr uint8_t kIndexVersion = 1;

struct IndexedPack {
  PackId id;
  PackSalt salt{};
  uint64_t size = 0;  // bytes of the stored pack
  std::vector<PackEntry> entries;
};

struct IndexFile {
  std::vector<IndexedPack> packs;
  // Index objects this one replaces (written by prune when it rewrites the
  // index): readers ignore those once this one exists.
  std::vector<ObjectId> supersedes;
};

// The plaintext encoding (SealObject wraps it).
Bytes EncodeIndex(const IndexFile& index);
Result<IndexFile> DecodeIndex(ByteView data);

}  // namespace coffre::format
