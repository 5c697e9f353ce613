// IndexTable: the repository's index in memory: for each blob id, the pack
// that holds it and where. Built from every index object at open, extended as
// a backup stores new packs.
//
// Memory: one entry is a 32-byte id plus 20 bytes of location in a hash map
// (about 80 bytes with the map's overhead), and packs are kept once in a side
// table; 1 TiB of 1 MiB chunks needs about 80 MiB.
// Thread-safety: all methods may be called concurrently (shared mutex).
#pragma once

#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "core/format/index.h"

namespace coffre::repo {

struct BlobLocation {
  PackId pack;
  format::PackSalt salt;
  format::PackEntry entry;
  uint64_t pack_size = 0;  // as the index records it
  bool tree_pack = false;  // the pack holds trees only (PackRecord)
};

struct PackRecord {
  PackId id;
  format::PackSalt salt{};
  uint64_t size = 0;
  // Which blob types the pack holds, by the index: a tree pack has trees
  // only (repository version 2 never mixes them; version 1 may).
  bool has_trees = false;
  bool has_data = false;
  bool tree_pack() const { return has_trees && !has_data; }
};

class IndexTable {
 public:
  // Adds every blob of `pack`. A blob already present keeps its first
  // location (duplicates across packs happen after an interrupted run).
  void AddPack(const format::IndexedPack& pack);

  // Forgets everything (before a reload).
  void Clear();
  // Makes room for `blobs` entries in all.
  void Reserve(size_t blobs);

  bool HasBlob(const BlobId& id) const;
  // Whether every one of `ids` is indexed (one lock for all).
  bool HasAll(const std::vector<BlobId>& ids) const;
  std::optional<BlobLocation> Find(const BlobId& id) const;
  bool HasPack(const PackId& id) const;

  size_t blob_count() const;
  size_t pack_count() const;
  // A copy of the pack table (for check and prune).
  std::vector<PackRecord> Packs() const;
  // Every indexed blob grouped by pack (for check --read-data). O(blobs).
  std::unordered_map<PackId, std::vector<format::PackEntry>, IdHash> EntriesByPack() const;

 private:
  struct Slot {
    uint32_t pack = 0;
    uint32_t offset = 0;
    uint32_t stored_len = 0;
    uint32_t raw_len = 0;
    format::BlobType type = format::BlobType::kData;
    compress::Codec codec = compress::Codec::kNone;
  };

  mutable std::shared_mutex mu_;
  std::unordered_map<BlobId, Slot, IdHash> blobs_;
  std::unordered_map<PackId, uint32_t, IdHash> pack_numbers_;
  std::vector<PackRecord> packs_;
};

}  // namespace coffre::repo
