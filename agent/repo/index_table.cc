#include "agent/repo/index_table.h"

#include <algorithm>
#include <mutex>

namespace coffre::repo {

void IndexTable::AddPack(const format::IndexedPack& pack) {
  std::unique_lock lock(mu_);
  auto [it, inserted] = pack_numbers_.try_emplace(pack.id, static_cast<uint32_t>(packs_.size()));
  if (inserted) packs_.push_back(PackRecord{pack.id, pack.salt, pack.size});
  uint32_t number = it->second;
  PackRecord& record = packs_[number];
  // No reserve here: libstdc++'s reserve rehashes whenever the prime it
  // picks differs from the current bucket count, shrinking a table that
  // Reserve() sized for the whole index, so every pack rehashed it all.
  for (const format::PackEntry& e : pack.entries) {
    (e.type == format::BlobType::kTree ? record.has_trees : record.has_data) = true;
    Slot slot{number, static_cast<uint32_t>(e.offset), e.stored_len, e.raw_len, e.type, e.codec};
    blobs_.try_emplace(e.id, slot);
  }
}

void IndexTable::Clear() {
  std::unique_lock lock(mu_);
  blobs_.clear();
  pack_numbers_.clear();
  packs_.clear();
}

void IndexTable::Reserve(size_t blobs) {
  std::unique_lock lock(mu_);
  blobs_.reserve(blobs);
}

bool IndexTable::HasBlob(const BlobId& id) const {
  std::shared_lock lock(mu_);
  return blobs_.count(id) != 0;
}

bool IndexTable::HasAll(const std::vector<BlobId>& ids) const {
  std::shared_lock lock(mu_);
  return std::all_of(ids.begin(), ids.end(), [&](const BlobId& id) { return blobs_.count(id); });
}

std::optional<BlobLocation> IndexTable::Find(const BlobId& id) const {
  std::shared_lock lock(mu_);
  auto it = blobs_.find(id);
  if (it == blobs_.end()) return std::nullopt;
  const Slot& s = it->second;
  const PackRecord& p = packs_[s.pack];
  BlobLocation loc;
  loc.pack = p.id;
  loc.salt = p.salt;
  loc.pack_size = p.size;
  loc.tree_pack = p.tree_pack();
  loc.entry = format::PackEntry{id, s.type, s.codec, s.offset, s.stored_len, s.raw_len};
  return loc;
}

bool IndexTable::HasPack(const PackId& id) const {
  std::shared_lock lock(mu_);
  return pack_numbers_.count(id) != 0;
}

size_t IndexTable::blob_count() const {
  std::shared_lock lock(mu_);
  return blobs_.size();
}

size_t IndexTable::pack_count() const {
  std::shared_lock lock(mu_);
  return packs_.size();
}

std::vector<PackRecord> IndexTable::Packs() const {
  std::shared_lock lock(mu_);
  return packs_;
}

std::unordered_map<PackId, std::vector<format::PackEntry>, IdHash> IndexTable::EntriesByPack()
    const {
  std::shared_lock lock(mu_);
  std::unordered_map<PackId, std::vector<format::PackEntry>, IdHash> out;
  for (const auto& [id, s] : blobs_) {
    out[packs_[s.pack].id].push_back(
        format::PackEntry{id, s.type, s.codec, s.offset, s.stored_len, s.raw_len});
  }
  return out;
}

}  // namespace coffre::repo
